//go:build unix && !linux

package child

import (
	"os"
	"os/exec"
)

// dieWithParent: macOS and the BSDs have no parent-death signal, so a
// program argo-cred waits for outlives a SIGKILL of argo-cred; the guard
// still revokes its token and removes its container.
func dieWithParent(*exec.Cmd) {}

// tie: nothing more to do here.
func tie(*os.Process) {}
