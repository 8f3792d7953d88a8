package child

import (
	"os"
	"os/signal"
	"syscall"
)

// asInit is, when argo-cred is PID 1 (the entrypoint of its image, which
// stays the parent of argo to serve the relay), a channel of SIGCHLD: as
// init of the container it must reap every process the kernel hands it,
// the program's orphans too, or their zombies pile up. nil otherwise.
func asInit() chan os.Signal {
	if os.Getpid() != 1 {
		return nil
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGCHLD)
	return c
}

// reap collects every child that has exited; when one of them is pid, it
// returns pid's exit code (128+signal when a signal killed it).
func reap(pid int) (int, bool) {
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil || got <= 0:
			return 0, false
		case got != pid:
			continue // an orphan, reaped
		case ws.Signaled():
			return 128 + int(ws.Signal()), true
		}
		return ws.ExitStatus(), true
	}
}
