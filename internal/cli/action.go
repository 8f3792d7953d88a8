package cli

import (
	"cmp"
	"context"
	"os"
	"time"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/github"
)

// action runs as the GitHub Action's main stage: the inputs become options,
// then env --format github runs, and the outputs are set. Any failure is
// one ::error annotation and argo-cred's exit code.
func (a *app) action(ctx context.Context, o *Options) (err error) {
	defer func() {
		if err != nil && a.runner().InActions() {
			a.runtime().Failure(nil, err, a.red)
		}
	}()
	if !a.runner().InStep() {
		return exitcode.New(exitcode.Usage, "use it as a step (uses: argo-cred/argo-cred@…); elsewhere use argo-cred env", "argo-cred action runs only as a GitHub Actions step")
	}
	in, err := a.runner().ReadInputs()
	if err != nil {
		return err
	}
	applyInputs(o, in)
	// A source that needs a kubeconfig, and none: say why before all else.
	if src, err := cred.Choose(&cred.Request{SourceFlags: o.SourceFlags, Hooks: cred.Hooks{Lookup: os.LookupEnv}}); err == nil && src.Kube {
		if err := a.runner().CheckKubeconfig(src.Flag, o.Kubeconfig, func() error { _, err := a.kubeClient(o); return err }); err != nil {
			return err
		}
	}
	if in.Token != "" { // the env source, as ARGO_TOKEN in this process only
		if err := os.Setenv("ARGO_TOKEN", in.Token); err != nil {
			return err
		}
	}
	o.noBundle = true
	c, rep, err := a.envWith(ctx, o, ExportOptions{Format: "github"})
	if c == nil {
		return err
	}
	if b := a.binding; err == nil && b != nil { // the token dies with the job: the post stage deletes its Secret
		if err = a.runner().SaveBinding(github.Binding{Namespace: b.Namespace, Name: b.Name, UID: b.UID}); err != nil {
			return err
		}
		a.binding = nil
	}
	if err == nil {
		a.runner().WarnExpiry(c.Token.Expiry, in.JobTimeout, time.Now())
	}
	werr := a.runner().SetOutputs(c.Settings.Server, c.Settings.Namespace, c.Token, rep, c.ClusterUser)
	return cmp.Or(err, werr) // the first error
}

// applyInputs sets the options the workflow gave as inputs.
func applyInputs(o *Options, in github.ActionInputs) {
	for p, v := range map[*string]string{&o.Server: in.Server, &o.Namespace: in.Namespace, &o.Source: in.Source, &o.Secret: in.Secret, &o.Client: in.Client, &o.SecretNS: in.SecretNamespace,
		&o.ServiceAccount: in.ServiceAccount, &o.BaseHRef: in.BaseHRef, &o.Kubeconfig: in.Kubeconfig, &o.CAFile: in.CA} {
		if v != "" {
			*p = v
		}
	}
	for p, v := range map[*bool]*bool{(*bool)(&o.HTTP1): in.HTTP1, (*bool)(&o.Secure): in.Secure, (*bool)(&o.InsecureSkipVerify): in.InsecureSkipVerify, &o.Probe: in.Probe, &o.Bind: in.Bind, &o.Strict: in.Strict} {
		if v != nil {
			*p = *v
		}
	}
	for name, d := range map[string]struct{ p, v *time.Duration }{"duration": {&o.Duration, in.Duration}, "wait": {&o.Wait, in.Wait}, "timeout": {&o.Timeout, in.Timeout}} {
		if d.v != nil {
			*d.p, o.set[name] = *d.v, true // o.set: the flags given, made before RunE
		}
	}
	for p, v := range map[*[]string][]string{&o.Expect: in.Expect, &o.Audiences: in.Audience, &o.For: in.For} {
		if v != nil {
			*p = v
		}
	}
}

// actionPost runs as the action's post stage (github.Post), which deletes
// a --bind token's Secret with a client of the kubeconfig it names.
func (a *app) actionPost(ctx context.Context, o *Options) error {
	return github.Post{Runtime: a.runner(), Red: a.red, Binding: func(kubeconfig string, b github.Binding) (func(context.Context) error, error) {
		o.Kubeconfig = kubeconfig
		kc, err := a.kubeClient(o) // on an error, Post drops nothing
		return cred.BindingOf(kc, b.Namespace, b.Name, b.UID).Drop, err
	}}.Do(ctx)
}
