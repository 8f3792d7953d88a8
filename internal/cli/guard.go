package cli

import (
	"fmt"

	guardproc "github.com/argo-cred/argo-cred/internal/guard"
)

// startGuard starts a guard for what this run set up and must undo: the
// per-run Secret of --bind (withBinding), or a container of docker. If
// argo-cred is killed outright, the guard does it.
func (a *app) startGuard(o *Options, container string, withBinding bool) {
	t := guardproc.Target{Kubeconfig: o.Kubeconfig, Context: o.Context, Container: container}
	if b := a.binding; withBinding && b != nil {
		t.Namespace, t.Secret, t.UID = b.Namespace, b.Name, b.UID
	}
	g, err := guardproc.Start(t)
	if err != nil {
		fmt.Fprintf(a.streams.ErrOut, "warning: no guard (%v): if argo-cred is killed outright, clean up with argo-cred revoke --stale-bindings\n", err)
		return
	}
	a.guards = append(a.guards, guard{g: g, binding: withBinding})
}

// guard is a started guard, and whether it guards the per-run Secret.
type guard struct {
	g       *guardproc.Guard
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
