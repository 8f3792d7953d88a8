package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/guard"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/redact"
	"github.com/argo-cred/argo-cred/internal/token"
)

// request turns the options into the credential pipeline's request.
func (a *app) request(o *Options) cred.Request {
	_, durationInEnv := os.LookupEnv("ARGO_CRED_DURATION")
	return cred.Request{
		SourceFlags: o.SourceFlags, KubeFlags: o.KubeFlags, ArgoFlags: o.ArgoFlags, CheckFlags: o.CheckFlags,
		DurationGiven: o.set["duration"] || durationInEnv, SecureGiven: o.set["secure"],
		Bind: o.Bind, QuietExpect: o.quietExpect, Fresh: o.managed != "", Managed: o.managed, Hooks: a.hooks(o), Relayed: o.relayed,
	}
}

// quietly is say without the notes of a --quiet run.
func quietly(o *Options, say func(string)) func(string) {
	return func(s string) {
		if !o.Quiet || !strings.HasPrefix(s, "note: ") {
			say(s)
		}
	}
}

// hooks connect the pipeline to this run: the environment, stderr, the
// redactor, the runner's masks, and the guard of a --bind Secret.
func (a *app) hooks(o *Options) cred.Hooks {
	h := cred.Hooks{
		Lookup: os.LookupEnv, Note: quietly(o, a.note), Log: a.log, UserAgent: userAgent(),
		Print:   quietly(o, func(s string) { fmt.Fprintln(a.streams.ErrOut, s) }),
		Secrets: a.hide,
		Token: func(t token.Token) error {
			a.hide(t.Bearer())
			// In a CI runner that masks (GitHub Actions), whatever the command
			// or format: the masks before any other line, so that the runner
			// hides the token from everything printed after (a later set -x or
			// echo included). On stderr, with every other line, so that the
			// order holds.
			return a.runtime().Mask(t.Bearer())
		},
		Bound: func(b *cred.Binding) {
			a.binding = b
			if o.guardBinding {
				// From now on, however argo-cred ends, the Secret goes.
				a.startGuard(o, "", true)
			}
		},
	}
	if isTerminal(a.streams.ErrOut) || o.Verbose {
		h.Progress = func(s string) { fmt.Fprintln(a.streams.ErrOut, s+" …") }
	}
	return h
}

// hide redacts values from every line printed from now on.
func (a *app) hide(values ...string) {
	a.secrets = append(a.secrets, values...)
	a.red = redact.New(a.secrets...)
}

// validate checks everything that needs no network.
func (a *app) validate(o *Options) (env.Settings, []probe.Expectation, error) {
	r := a.request(o)
	return cred.Validate(&r)
}

func (a *app) credential(ctx context.Context, o *Options) (*cred.Credential, error) {
	return cred.Get(ctx, a.request(o))
}

// kubeClient returns a Kubernetes client following client-go's loading rules.
func (a *app) kubeClient(o *Options) (*kube.Client, error) {
	return cred.Kube(o.Kubeconfig, o.Context, o.Timeout, a.hooks(o))
}

// userAgent is argo-cred's User-Agent in every request.
func userAgent() string { return "argo-cred/" + version() }

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
