package cli

import (
	"fmt"

	"github.com/argo-cred/argo-cred/internal/guard"
)

// startGuard starts a guard for what this run set up and must undo: the
// per-run Secret of --bind (withBinding), or a container of docker. If
// argo-cred is killed outright, the guard does it.
func (a *app) startGuard(o *Options, container string, withBinding bool) {
	t := guard.Target{Kubeconfig: o.Kubeconfig, Context: o.Context, Container: container}
	if b := a.binding; withBinding && b != nil {
		t.Namespace, t.Secret, t.UID = b.Namespace, b.Name, b.UID
	}
	if err := a.guards.Start(t); err != nil {
		fmt.Fprintf(a.streams.ErrOut, "warning: no guard (%v): if argo-cred is killed outright, clean up with argo-cred revoke --stale-bindings\n", err)
	}
}
