// Package child runs a program that argo-cred waits for (instead of
// replacing itself with it): SIGINT, SIGTERM, SIGHUP and SIGQUIT that reach
// argo-cred go on to the program, the program dies with argo-cred where the
// system allows it (Linux: the parent-death signal; Windows: a Job Object
// that kills it when argo-cred's process ends), and its exit code
// comes back, 128+signal when a signal killed it, as a shell reports it.
package child

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// Forwarded are the signals that argo-cred passes on to the program.
var Forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// Run starts cmd, forwards signals to it until it exits, and returns its
// exit code.
func Run(cmd *exec.Cmd) (int, error) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, Forwarded...)
	defer signal.Stop(sigs)
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("running %s: %w", cmd.Path, err)
	}
	tie(cmd.Process)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			_ = cmd.Process.Signal(s)
		case err := <-done:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					return 128 + int(ws.Signal()), nil
				}
				return ee.ExitCode(), nil
			}
			if err != nil {
				return 0, fmt.Errorf("running %s: %w", cmd.Path, err)
			}
			return 0, nil
		}
	}
}
