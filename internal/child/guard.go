package child

import (
	"io"
	"os"
	"os/exec"
)

// Guard is a second process that undoes what a run set up (a per-run
// Secret, a container) when argo-cred dies without undoing it itself: a
// SIGKILL, a crash, an OOM kill. It holds the read end of a pipe from
// argo-cred; argo-cred writes "done" when it has cleaned up itself. The
// pipe ending without "done" means argo-cred is gone: the guard acts. It
// runs in its own session, so a terminal's signals do not reach it.
type Guard struct {
	w   *os.File
	cmd *exec.Cmd
}

// StartGuard starts the guard: argo-cred with args (which must name no
// secret: they are in the process table).
func StartGuard(args []string) (*Guard, error) {
	self, err := os.Executable() // argo-cred itself
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(self, args...)
	cmd.Stdin, cmd.Stderr = r, os.Stderr
	detach(cmd)
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, err
	}
	return &Guard{w: w, cmd: cmd}, nil
}

// Release tells the guard that argo-cred cleaned up itself, and waits for
// it to exit.
func (g *Guard) Release() {
	if g == nil {
		return
	}
	_, _ = g.w.WriteString("done")
	_ = g.w.Close()
	_ = g.cmd.Wait()
}

// Orphaned blocks, in the guard, until argo-cred releases it (false) or
// is gone (true).
func Orphaned(r io.Reader) bool {
	b, _ := io.ReadAll(io.LimitReader(r, 16))
	return string(b) != "done"
}
