//go:build unix && !linux

package child

import (
	"os"
	"os/exec"
	"syscall"
)

// dieWithParent: macOS and the BSDs have no parent-death signal, so a
// program argo-cred waits for outlives a SIGKILL of argo-cred; the guard
// still revokes its token and removes its container.
func dieWithParent(*exec.Cmd) {}

// detach puts the guard in a session of its own.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }

// tie: nothing more to do here.
func tie(*os.Process) {}
