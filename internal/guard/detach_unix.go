//go:build unix

package guard

import (
	"os/exec"
	"syscall"
)

// detach puts the guard in a session of its own.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }
