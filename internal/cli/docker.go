package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/docker"
	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/redact"
)

// docker gets and checks the credential on the host, then runs the argo
// CLI image with ARGS, every setting passed by name only; the container's
// exit code is the process's.
func (a *app) docker(ctx context.Context, o *dockerOptions, args []string) error {
	if err := docker.CheckImage(o.Image); err != nil {
		return err
	}
	mounts, err := docker.CheckMounts(o.DockerMounts)
	if err != nil {
		return err
	}
	engine, err := docker.Check(ctx)
	if err != nil {
		return err
	}
	a.guardBinding = true
	c, _, err := a.checked(ctx, &o.Options)
	if err != nil {
		return err
	}
	wd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("finding the working directory: %w", err)
	}
	// As the caller's uid:gid, with a HOME that uid may write to: the
	// container reads the working directory's files as the caller does
	// (the image's own uid could not read a 0600 file).
	r := docker.Run{
		Image: o.Image, Args: args, Workdir: wd, Mounts: mounts, Network: o.Network, Extra: o.DockerArgs,
		User: docker.User(engine.Rootless), Home: docker.ContainerHome,
		Vars:  append(c.Settings.Vars(), env.Var{Name: "KUBECONFIG", Value: "/dev/null"}),
		Stdin: attached(os.Stdin), TTY: isTerminal(os.Stdin) && isTerminal(os.Stdout),
	}
	for _, p := range docker.Unseen(args, wd, mounts) {
		// The names are printed as one clean line.
		fmt.Fprintf(a.streams.ErrOut, "note: %s is outside the working directory %s: the container does not see it; mount its directory read-only with --mount %s\n",
			redact.Clean(p), redact.Clean(wd), redact.Clean(docker.MountDir(p)))
	}
	if c.Settings.CABundle != "" {
		r.Files = []string{c.Settings.CABundle}
	}
	if r.Network != "host" && cred.IsLoopback(c.Settings.Server) {
		fmt.Fprintf(a.streams.ErrOut, "note: ARGO_SERVER %s is a loopback address, which a container reaches only with --network host\n", c.Settings.Server)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	r.Name = "argo-cred-" + hex.EncodeToString(b)
	// If argo-cred is killed outright, the docker CLI dies with it (Linux)
	// but the container would not: the guard removes it.
	a.startGuard(&o.Options, r.Name, false)
	if o.Verbose {
		cmdline, _ := r.Command()
		fmt.Fprintln(a.streams.ErrOut, "docker "+strings.Join(cmdline, " "))
	}
	code, err := docker.Exec(os.Environ(), r, a.streams.In, a.streams.Out, a.streams.ErrOut)
	if err != nil {
		return err
	}
	return exitcode.Child(code)
}

// attached tells whether f is a terminal or a pipe, worth passing to the
// container as its stdin.
func attached(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&(os.ModeCharDevice|os.ModeNamedPipe) != 0 && !isDevNull(st)
}

func isDevNull(st os.FileInfo) bool {
	null, err := os.Stat(os.DevNull)
	return err == nil && os.SameFile(st, null)
}
