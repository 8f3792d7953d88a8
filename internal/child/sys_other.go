//go:build !unix

package child

import (
	"os/exec"
	"syscall"
)

// dieWithParent: on Windows a program argo-cred waits for outlives a
// killed argo-cred (a Job Object would tie them; not done yet); the guard
// still revokes its token and removes its container.
func dieWithParent(*exec.Cmd) {}

// detach puts the guard in a process group of its own.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}
