package cli

import (
	"context"
	"fmt"
	"os"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/docker"
	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/relay"
)

// runDocker gets and checks the credential on the host, then runs the argo
// CLI image with ARGS, every setting passed by name only, behind the relay
// (stopped on every way out) when relay.Wanted says so; the container's
// exit code is the process's.
func (a *app) runDocker(ctx context.Context, o *dockerOptions, args []string) error {
	w := &docker.Wrapper{Image: o.Image, Network: o.Network, Args: args, Extra: o.DockerArgs}
	if err := w.Check(ctx, o.DockerMounts); err != nil {
		return err
	}
	o.guardBinding, o.relayed = true, o.Relay != relay.Never
	c, _, err := a.checked(ctx, &o.Options)
	if err != nil {
		return err
	}
	w.Settings = c.Settings
	if relay.Wanted(o.Relay, c.Source().Renewable, args) {
		say := func(s string) { fmt.Fprintln(a.streams.ErrOut, s) }
		stop, err := w.Front(ctx, o.Relay != relay.Always, say, func(listen string) (env.Settings, func(), error) { return c.Relay(ctx, listen, say) })
		if err != nil {
			return err
		}
		defer stop()
	}
	r, notes := w.Plan(os.Stdin, isTerminal(os.Stdin) && isTerminal(os.Stdout), cred.IsLoopback(w.Settings.Server))
	for _, n := range notes {
		fmt.Fprintln(a.streams.ErrOut, n)
	}
	// If argo-cred is killed outright, the docker CLI dies with it (Linux)
	// but the container would not: the guard removes it.
	a.startGuard(&o.Options, r.Name, false)
	r.Verbose = o.Verbose
	code, err := docker.Exec(os.Environ(), r, a.streams.In, a.streams.Out, a.streams.ErrOut)
	if err != nil {
		return err
	}
	return exitcode.Child(code)
}
