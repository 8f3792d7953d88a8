package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/export"
	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/kube"
)

// lifecycle is what provision, rotate, revoke and clients share: the
// kubeconfig's client and the namespace.
func (a *app) lifecycle(o *LifecycleOptions, needClient bool) (*kube.Client, identity.Client, error) {
	if err := identity.Target(o.Client, o.Namespace, needClient); err != nil {
		return nil, identity.Client{}, err
	}
	kc, err := a.kubeClient(&o.Options)
	if err != nil {
		return nil, identity.Client{}, err
	}
	c, err := identity.In(o.Client, o.Namespace, kc.Namespace)
	return kc, c, err
}

// stderr prints a progress line of a use case.
func (a *app) stderr(line string) { fmt.Fprintln(a.streams.ErrOut, line) }

// warn prints a warning of a use case, without the token.
func (a *app) warn(line string) { fmt.Fprintln(a.streams.ErrOut, a.red.Text(line)) }

func (a *app) provision(ctx context.Context, o *provisionOptions) error {
	if o.PrintRBAC {
		_, err := io.WriteString(a.streams.Out, identity.ProvisionerRBAC(identity.OrPlaceholder(o.Namespace)))
		return err
	}
	grants, err := identity.GrantsFor(o.Allow, o.For, "workflows:list,update")
	if err != nil {
		return err
	}
	if o.DryRun {
		m, err := identity.DryRun(o.Client, o.Namespace, grants)
		if err == nil {
			_, err = io.WriteString(a.streams.Out, m)
		}
		return err
	}
	if f := o.Format; f != "" && !slices.Contains(export.Names(), f) {
		return exitcode.New(exitcode.Usage, "use "+export.Alternatives(), "unknown --format %q", f)
	}
	if err := a.settingsOnly(&o.Options); err != nil {
		return err
	}
	kc, c, err := a.lifecycle(&o.LifecycleOptions, true)
	if err != nil {
		return err
	}
	c.Grants = grants
	p := &clientProber{a: a, o: &o.Options, export: ExportOptions{Format: o.Format, OutputFile: o.OutputFile}, profiles: o.For}
	_, err = identity.Provision{Kube: kc, Prober: p}.Do(ctx, identity.ProvisionInput{Client: c, Adopt: o.Adopt, Progress: a.stderr, Warn: a.warn, Fetcher: o.Fetcher, For: o.For})
	return err
}

// settingsOnly checks the Argo Server settings before anything changes
// (not the token source: --client names the client).
func (a *app) settingsOnly(o *Options) error {
	_, _, err := a.validate(&Options{KubeFlags: o.KubeFlags, ArgoFlags: o.ArgoFlags, CheckFlags: o.CheckFlags, set: o.set})
	return err
}

func (a *app) rotate(ctx context.Context, o *rotateOptions) error {
	if err := a.settingsOnly(&o.Options); err != nil {
		return err
	}
	kc, c, err := a.lifecycle(&o.LifecycleOptions, true)
	if err != nil {
		return err
	}
	_, err = identity.Rotate{Kube: kc, Prober: &clientProber{a: a, o: &o.Options}}.Do(ctx, identity.RotateInput{Client: c, Grace: o.Grace, Finish: o.Finish, Progress: a.stderr, Warn: a.warn})
	return err
}

func (a *app) revoke(ctx context.Context, o *revokeOptions) error {
	if err := a.settingsOnly(&o.Options); err != nil {
		return err
	}
	switch {
	case o.StaleBindings > 0:
		return a.revokeStale(ctx, o)
	case o.Binding != "":
		return a.revokeBinding(ctx, o)
	}
	// revoke names a client that exists, which may be oidc-config's (a
	// longer name than provision gives).
	if o.Client == "" {
		return exitcode.New(exitcode.Usage, "give --client NAME", "no client given")
	}
	if err := identity.ValidExisting(o.Client); err != nil {
		return err
	}
	kc, c, err := a.lifecycle(&o.LifecycleOptions, false)
	if err != nil {
		return err
	}
	in := identity.RevokeInput{Client: c, Purge: o.Purge, Progress: a.stderr, Note: a.note}
	_, err = identity.Revoke{Kube: kc, Prober: &clientProber{a: a, o: &o.Options}}.Do(ctx, in)
	return err
}

// revokeBinding revokes one bound token by deleting its per-run Secret,
// and proves it with the token in ARGO_TOKEN, if given.
func (a *app) revokeBinding(ctx context.Context, o *revokeOptions) error {
	kc, c, err := a.lifecycle(&o.LifecycleOptions, false)
	if err != nil {
		return err
	}
	raw, ok := os.LookupEnv("ARGO_TOKEN")
	in := identity.RevokeBindingInput{Namespace: c.Namespace, Name: o.Binding, Token: raw, HasToken: ok, Hide: func(s string) { a.hide(s) }, Progress: a.stderr}
	return identity.RevokeBinding{Kube: kc, Prober: &clientProber{a: a, o: &o.Options}}.Do(ctx, in)
}

// revokeStale deletes the per-run Secrets of --bind tokens older than
// --stale-bindings.
func (a *app) revokeStale(ctx context.Context, o *revokeOptions) error {
	if o.Client != "" || o.Binding != "" || o.Purge {
		return exitcode.New(exitcode.Usage, "run it on its own", "--stale-bindings goes with neither --client, --binding nor --purge")
	}
	kc, c, err := a.lifecycle(&o.LifecycleOptions, false)
	if err != nil {
		return err
	}
	in := identity.RevokeStaleInput{Namespace: c.Namespace, Age: o.StaleBindings, Progress: a.stderr}
	_, err = identity.RevokeStale{Kube: kc}.Do(ctx, in)
	return err
}

func (a *app) clients(ctx context.Context, o *clientsOptions) error {
	if o.Output != "table" && o.Output != "json" {
		return exitcode.New(exitcode.Usage, "use table or json", "unknown --output %q", o.Output)
	}
	if o.Check || o.Server != "" {
		if err := a.settingsOnly(&o.Options); err != nil {
			return err
		}
	}
	kc, c, err := a.lifecycle(&o.LifecycleOptions, false)
	if err != nil {
		return err
	}
	u := identity.Clients{Kube: kc}
	if o.Check {
		u.Prober = &clientProber{a: a, o: &o.Options, quiet: true}
	}
	if o.Server != "" { // what is overdue is finished, proven rejected
		u.Finish = &clientProber{a: a, o: &o.Options}
	}
	rows, err := u.Do(ctx, identity.ClientsInput{Namespace: c.Namespace, Client: o.Client, Note: a.note})
	if err != nil {
		return err
	}
	if o.Output == "json" {
		return identity.WriteClientsJSON(a.streams.Out, rows)
	}
	return identity.WriteClientsTable(a.streams.Out, rows, o.Check)
}
