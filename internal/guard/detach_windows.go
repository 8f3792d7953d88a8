package guard

import (
	"os/exec"
	"syscall"
)

// detach puts the guard in a process group of its own. It is not put into
// argo-cred's job, so it outlives argo-cred.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}
