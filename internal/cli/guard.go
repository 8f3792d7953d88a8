package cli

import (
	"context"
	"fmt"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/argo-cred/argo-cred/internal/child"
	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/kube"
)

// guardCommand is the hidden first argument that makes argo-cred a guard.
const guardCommand = "__guard"

// startGuard starts a guard for what this run set up and must undo: the
// per-run Secret of --bind (withBinding), or a container of docker. If
// argo-cred is killed outright, the guard does it. Only names go into its
// arguments.
func (a *app) startGuard(o *Options, container string, withBinding bool) {
	args := []string{guardCommand, "--kubeconfig", o.Kubeconfig, "--context", o.Context, "--container", container}
	if b := a.binding; withBinding && b != nil {
		args = append(args, "--binding", b.Namespace+"/"+b.Name+"/"+b.UID)
	}
	g, err := child.StartGuard(args)
	if err != nil {
		fmt.Fprintf(a.streams.ErrOut, "warning: no guard (%v): if argo-cred is killed outright, clean up with argo-cred revoke --stale-bindings\n", err)
		return
	}
	a.guards = append(a.guards, guard{g: g, binding: withBinding})
}

// guard is a started guard, and whether it guards the per-run Secret.
type guard struct {
	g       *child.Guard
	binding bool
}

// releaseGuards tells each guard there is nothing left to do, but for a
// per-run Secret that is still there: its guard tries once more.
func (a *app) releaseGuards() {
	for _, g := range a.guards {
		if !g.binding || a.binding == nil {
			g.g.Release()
		}
	}
	a.guards = nil
}

// runGuard is the guard process: it waits until argo-cred releases it or
// dies, and in the second case removes the container and deletes the
// per-run Secret (only one carrying argo-cred's binding labels and the
// recorded UID). Its exit code tells whether it had to act and succeeded.
func (a *app) runGuard(args []string) int {
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)
	fs := pflag.NewFlagSet(guardCommand, pflag.ContinueOnError)
	kubeconfig, kctx := fs.String("kubeconfig", "", ""), fs.String("context", "", "")
	container, ref := fs.String("container", "", ""), fs.String("binding", "", "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !child.Orphaned(a.streams.In) {
		return 0
	}
	code := 0
	if *container != "" {
		if out, err := exec.Command("docker", "rm", "-f", *container).CombinedOutput(); err != nil {
			fmt.Fprintf(a.streams.ErrOut, "argo-cred guard: could not remove container %s: %s\n", *container, a.red.Text(string(out)))
			code = 1
		} else {
			fmt.Fprintf(a.streams.ErrOut, "argo-cred guard: argo-cred ended without cleaning up: removed container %s\n", *container)
		}
	}
	if parts := strings.Split(*ref, "/"); len(parts) == 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		kc, err := kube.Load(*kubeconfig, *kctx, "argo-cred/"+version(), 10*time.Second)
		if err == nil {
			err = identity.DeleteBinding(ctx, kc, parts[0], parts[1], parts[2])
		}
		if err != nil {
			fmt.Fprintf(a.streams.ErrOut, "argo-cred guard: could not delete secret %s/%s, so its token stays valid until it expires: %s\n", parts[0], parts[1], a.red.Text(err.Error()))
			return 1
		}
		fmt.Fprintf(a.streams.ErrOut, "argo-cred guard: argo-cred ended without cleaning up: revoked: deleted secret %s/%s, the token bound to it\n", parts[0], parts[1])
	}
	return code
}
