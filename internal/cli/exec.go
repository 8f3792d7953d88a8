package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/argo-cred/argo-cred/internal/child"
	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/relay"
)

// execve replaces the process with another program (syscall.Exec); tests
// of the command line in-process stand in for it.
var execve = syscall.Exec

// runExec gets and checks the credential as env does, then replaces argo-cred
// with COMMAND (default argo) in a curated environment: the caller's,
// without any ARGO_* or KUBECONFIG it had, plus the settings. Signals, TTY
// and exit code are then COMMAND's own.
func (a *app) runExec(ctx context.Context, o *Options, args []string) error {
	if len(args) == 0 {
		args = []string{"argo"}
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		return exitcode.New(exitcode.Usage, "install it, or give its path", "command %q not found in PATH", args[0])
	}
	// Any flag or variable that says a credential was intended, even
	// empty, means COMMAND runs only with a checked credential.
	if len(cred.Intended(func(f string) bool { return o.set[f] }, os.LookupEnv)) == 0 {
		// A drop-in for the argo CLI image: `docker run IMAGE version`.
		fmt.Fprintf(a.streams.ErrOut, "note: no token source (no --secret, --client, --service-account, --token-file, --oidc-env, --source or ARGO_TOKEN): running %s with the environment as it is\n", args[0])
		return a.replace(ctx, path, args, os.Environ())
	}
	o.guardBinding, o.relayed = true, o.Relay != relay.Never
	c, _, err := a.checked(ctx, o)
	if err != nil {
		return err
	}
	settings := c.Settings
	behind := relay.Wanted(o.Relay, c.Source().Renewable, args)
	if behind {
		var stop func()
		say := func(s string) { fmt.Fprintln(a.streams.ErrOut, s) }
		if settings, stop, err = c.Relay(ctx, "127.0.0.1:0", say); err != nil {
			return err
		}
		defer stop()
	}
	environ := env.Curated(os.Environ(), settings.Vars(), settings.Unset...)
	if a.binding != nil || behind {
		// argo-cred stays the parent: the relay serves COMMAND, or the
		// token dies with it (Run deletes the binding on every way out).
		cmd := exec.Command(path, args[1:]...)
		cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = environ, a.streams.In, a.streams.Out, a.streams.ErrOut
		code, err := child.Run(cmd)
		if err != nil {
			return exitcode.Wrap(exitcode.Usage, "check that it is an executable for this machine", err)
		}
		return exitcode.Child(code)
	}
	return a.replace(ctx, path, args, environ)
}

func (a *app) replace(ctx context.Context, path string, args, environ []string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	a.log.Debug("exec", "command", path, "args", len(args)-1)
	err := execve(path, args, environ)
	return exitcode.Wrap(exitcode.Usage, "check that it is an executable for this machine", fmt.Errorf("running %s: %w", path, err))
}
