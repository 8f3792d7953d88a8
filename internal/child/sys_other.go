//go:build !unix && !windows

package child

import (
	"os"
	"os/exec"
)

// dieWithParent: no way to tie the program to argo-cred here; the guard
// still revokes its token and removes its container.
func dieWithParent(*exec.Cmd) {}

// tie: nothing to do here.
func tie(*os.Process) {}
