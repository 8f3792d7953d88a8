package child

import (
	"os"
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the program when argo-cred dies, even
// by SIGKILL (the parent-death signal).
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

// tie: the parent-death signal already ties the program to argo-cred.
func tie(*os.Process) {}
