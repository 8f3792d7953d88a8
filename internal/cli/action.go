package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
	"github.com/argo-cred/argo-cred/internal/github"
	"github.com/argo-cred/argo-cred/internal/report"
)

// action runs as the GitHub Action's main stage: the inputs become options,
// then env --format github runs, and the outputs are set. Any failure is
// one ::error annotation and argo-cred's exit code.
func (a *app) action(ctx context.Context, o *Options) error {
	err := a.actionMain(ctx, o)
	if err != nil && a.runner().InActions() {
		a.runtime().Failure(nil, err, a.red)
	}
	return err
}

func (a *app) actionMain(ctx context.Context, o *Options) error {
	if !a.runner().InStep() {
		return exitcode.New(exitcode.Usage, "use it as a step (uses: argo-cred/argo-cred@…); elsewhere use argo-cred env", "argo-cred action runs only as a GitHub Actions step")
	}
	if err := applyInputs(o, a.runner().Input); err != nil {
		return err
	}
	for name, set := range map[string]*string{"kubeconfig": &o.Kubeconfig, "ca": &o.CAFile} {
		v := a.runner().Input(name)
		if v == "" || (name == "ca" && !strings.HasPrefix(v, "-----BEGIN")) {
			if name == "ca" && v != "" {
				*set = v // a path in the workspace
			}
			continue
		}
		path, err := a.runner().TempFile(name, v)
		if err != nil {
			return err
		}
		*set = path
	}
	if err := a.kubeconfigGiven(o); err != nil {
		return err
	}
	if tok := a.runner().Input("token"); tok != "" {
		// The env source, as ARGO_TOKEN in this process only.
		if err := os.Setenv("ARGO_TOKEN", tok); err != nil {
			return err
		}
	}
	a.noBundle = true
	c, rep, err := a.envWith(ctx, o, ExportOptions{Format: "github"})
	if c == nil {
		return err
	}
	if err == nil && a.binding != nil {
		// The token dies with the job: the post stage deletes its Secret.
		b := a.binding
		if err = a.runner().SaveBinding(github.Binding{Namespace: b.Namespace, Name: b.Name, UID: b.UID}); err != nil {
			return err
		}
		a.binding = nil
	}
	outputs := []env.Var{{Name: "server", Value: c.settings.Server}, {Name: "namespace", Value: c.settings.Namespace}, {Name: "token-expires-at"}}
	if !c.token.Expiry.IsZero() {
		outputs[2].Value = c.token.Expiry.Format(time.RFC3339)
	}
	if rep != nil {
		b, jerr := files.Render(func(w io.Writer) error { return report.JSON(w, *rep, c.token, a.clusterUser) })
		if jerr != nil {
			return jerr
		}
		outputs = append(outputs, env.Var{Name: "probe-result", Value: strings.TrimSpace(string(b))})
	}
	if werr := a.runner().AppendOutput(outputs); werr != nil && err == nil {
		err = werr
	}
	return err
}

// kubeconfigGiven fails when the inputs need a kubeconfig (secret or
// service-account) and none is at hand: the kubeconfig input is empty, no
// KUBECONFIG is set and client-go finds no other. The runner passes an
// input whose expression is empty, such as a secret that is not set, as ""
// exactly like an input not given.
func (a *app) kubeconfigGiven(o *Options) error {
	src, err := cred.Choose(&cred.Request{SourceFlags: o.SourceFlags, Hooks: cred.Hooks{Lookup: os.LookupEnv}})
	if err != nil || !src.Kube || o.Kubeconfig != "" || os.Getenv("KUBECONFIG") != "" {
		return nil // the source's own errors come later, in order
	}
	if _, err := a.kube(o); err == nil {
		return nil // e.g. a ~/.kube/config an earlier container step wrote
	}
	by := src.Flag
	return exitcode.New(exitcode.Usage,
		"check the name in kubeconfig: ${{ secrets.NAME }} against the repository's (or organization's, or the job environment's) Actions secrets; "+
			"a pull request from a fork gets no secrets: skip the step there, or use source: github-oidc, which needs none",
		"the kubeconfig input is empty: a secret that is not set (a misspelt name, or a fork's pull request, which gets no secrets) gives an empty value, and the %s input needs a kubeconfig", by)
}

// applyInputs sets the options the workflow gave as inputs, read with
// input (empty: not given).
func applyInputs(o *Options, input func(name string) string) error {
	strs := map[string]*string{"server": &o.Server, "namespace": &o.Namespace, "source": &o.Source, "secret": &o.Secret,
		"secret-namespace": &o.SecretNS, "service-account": &o.ServiceAccount, "base-href": &o.BaseHRef}
	for name, p := range strs {
		if v := input(name); v != "" {
			*p = v
		}
	}
	bools := map[string]*bool{"http1": (*bool)(&o.HTTP1), "secure": (*bool)(&o.Secure), "insecure-skip-verify": (*bool)(&o.InsecureSkipVerify), "probe": &o.Probe, "bind": &o.Bind}
	for name, p := range bools {
		if v := input(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return exitcode.New(exitcode.Usage, "write true or false", "input %s: %q is not a boolean", name, v)
			}
			*p = b
		}
	}
	durs := map[string]*time.Duration{"duration": &o.Duration, "wait": &o.Wait, "timeout": &o.Timeout}
	for name, p := range durs {
		if v := input(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return exitcode.New(exitcode.Usage, "write a duration with a unit, e.g. 30s or 10m", "input %s: %q is not a duration", name, v)
			}
			*p = d
			if o.set != nil {
				o.set[name] = true
			}
		}
	}
	lists := map[string]*[]string{"expect": &o.Expect, "audience": &o.Audiences}
	for name, p := range lists {
		if v := input(name); v != "" {
			// As the flags read them: items trimmed, empty ones dropped.
			*p = nil
			for _, item := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
				if item = strings.TrimSpace(item); item != "" {
					*p = append(*p, item)
				}
			}
		}
	}
	return nil
}

// actionPost runs as the action's post stage: it revokes a --bind token
// and removes the files the main stage wrote (the runtime checks each
// value the main stage saved before it is used).
func (a *app) actionPost(o *Options) error {
	var errs []error
	if b, ok, err := a.runner().SavedBinding(); ok {
		errs = append(errs, a.postRevoke(o, b, err))
	}
	for _, name := range []string{"kubeconfig", "ca"} {
		path, err := a.runner().StateFile(name)
		if path == "" {
			errs = append(errs, err)
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(a.streams.ErrOut, "post: removed the %s file\n", name)
	}
	return errors.Join(errs...)
}

// postRevoke deletes the per-run Secret of the job's --bind token, with the
// kubeconfig the main stage wrote (still there): only a Secret that carries
// argo-cred's binding labels and the UID the main stage recorded. saved is
// SavedBinding's error: a binding that is not what the main stage saves.
func (a *app) postRevoke(o *Options, b github.Binding, saved error) error {
	fail := func(err error) error {
		return fmt.Errorf("could not revoke the job's token (secret %s/%s): %w", strconv.QuoteToASCII(b.Namespace), strconv.QuoteToASCII(b.Name), err)
	}
	if saved != nil {
		return fail(saved)
	}
	kubeconfig, err := a.runner().StateFile("kubeconfig")
	if err != nil {
		return fail(err)
	}
	o.Kubeconfig = kubeconfig
	kc, err := a.kube(o)
	if err != nil {
		return fail(err)
	}
	a.binding = cred.BindingOf(kc, b.Namespace, b.Name, b.UID)
	if a.dropBinding(); a.binding != nil {
		a.binding = nil
		return fail(errors.New("see the warning above"))
	}
	return nil
}
