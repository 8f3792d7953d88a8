package github

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/report"
	"github.com/argo-cred/argo-cred/internal/token"
)

// ActionInputs are the action's inputs (Inputs), read and typed: "" or nil
// where the workflow gave none. The runner passes an input whose
// expression is empty, such as a secret that is not set, as "" exactly
// like an input not given.
type ActionInputs struct {
	Server, Namespace, Source, Secret, Client, SecretNamespace, ServiceAccount, BaseHRef string

	HTTP1, Secure, InsecureSkipVerify, Probe, Bind, Strict *bool
	Duration, Wait, Timeout                                *time.Duration
	// JobTimeout is the job's timeout-minutes as job-timeout gives it
	// (DefaultJobTimeout when not given).
	JobTimeout time.Duration
	// Expect and Audience are split at commas and line breaks, as --expect
	// and --audience read a comma-separated flag: items trimmed, empty ones
	// dropped. Given, they are not nil, though maybe empty.
	Expect, Audience, For []string

	// Token is the token input, for the env source.
	Token string
	// Kubeconfig is the path of a private file (TempFile) holding the
	// kubeconfig input; CA is one holding a PEM ca input, or the ca input
	// itself when it is not PEM (a path in the workspace).
	Kubeconfig, CA string
}

// ReadInputs reads the action's inputs; a boolean or a duration that does
// not parse is a usage error naming its input. Then, with every input
// well-formed, it writes the kubeconfig and a PEM ca to their files.
func (r *Runtime) ReadInputs() (ActionInputs, error) {
	var err error
	boolean := func(name string) *bool {
		return parseInput(r, &err, name, strconv.ParseBool, "write true or false", "is not a boolean")
	}
	duration := func(name string) *time.Duration {
		return parseInput(r, &err, name, time.ParseDuration, "write a duration with a unit, e.g. 30s or 10m", "is not a duration")
	}
	// Evaluated left to right: the first malformed input is the error.
	in := ActionInputs{
		Server: r.Input("server"), Namespace: r.Input("namespace"), Source: r.Input("source"), Secret: r.Input("secret"), Client: r.Input("client"),
		SecretNamespace: r.Input("secret-namespace"), ServiceAccount: r.Input("service-account"), BaseHRef: r.Input("base-href"),
		HTTP1: boolean("http1"), Secure: boolean("secure"), InsecureSkipVerify: boolean("insecure-skip-verify"), Probe: boolean("probe"), Bind: boolean("bind"), Strict: boolean("strict"),
		Duration: duration("duration"), Wait: duration("wait"), Timeout: duration("timeout"),
		Expect: r.listInput("expect"), Audience: r.listInput("audience"), For: r.listInput("for"),
		Token: r.Input("token"),
	}
	in.JobTimeout = DefaultJobTimeout
	if t := parseInput(r, &err, "job-timeout", parseMinutes, "write minutes, as timeout-minutes has them (e.g. 360), or a duration (e.g. 6h)", "is not a number of minutes or a duration"); t != nil {
		in.JobTimeout = *t
	}
	if err != nil {
		return ActionInputs{}, err
	}
	if v := r.Input("kubeconfig"); v != "" {
		if in.Kubeconfig, err = r.TempFile("kubeconfig", v); err != nil {
			return ActionInputs{}, err
		}
	}
	if in.CA = r.Input("ca"); strings.HasPrefix(in.CA, "-----BEGIN") {
		if in.CA, err = r.TempFile("ca", in.CA); err != nil {
			return ActionInputs{}, err
		}
	}
	return in, nil
}

// parseInput returns input name parsed, nil if it is not given or *err is
// already set; a value parse refuses sets *err: `input NAME: "VALUE" what`.
func parseInput[T any](r *Runtime, err *error, name string, parse func(string) (T, error), hint, what string) *T {
	v := r.Input(name)
	if v == "" || *err != nil {
		return nil
	}
	t, perr := parse(v)
	if perr != nil {
		*err = exitcode.New(exitcode.Usage, hint, "input %s: %q %s", name, v, what)
		return nil
	}
	return &t
}

// listInput returns input name split at commas and line breaks, items
// trimmed and empty ones dropped; nil if it is not given.
func (r *Runtime) listInput(name string) []string {
	v := r.Input(name)
	if v == "" {
		return nil
	}
	items := []string{}
	for _, item := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// CheckKubeconfig fails when the source the input by chose needs a
// kubeconfig (by is "": it needs none) and none is at hand: the kubeconfig
// input is empty (kubeconfig is ""), no KUBECONFIG is set and load, which
// tries client-go's default (such as a ~/.kube/config an earlier container
// step wrote), fails.
func (r *Runtime) CheckKubeconfig(by, kubeconfig string, load func() error) error {
	if by == "" || kubeconfig != "" || r.get("KUBECONFIG") != "" || load() == nil {
		return nil
	}
	return exitcode.New(exitcode.Usage,
		"check the name in kubeconfig: ${{ secrets.NAME }} against the repository's (or organization's, or the job environment's) Actions secrets; "+
			"a pull request from a fork gets no secrets: skip the step there, or use source: github-oidc, which needs none",
		"the kubeconfig input is empty: a secret that is not set (a misspelt name, or a fork's pull request, which gets no secrets) gives an empty value, and the %s input needs a kubeconfig", by)
}

// SetOutputs sets the action's outputs (Outputs): server, namespace,
// token-expires-at (RFC 3339; empty for a token that does not expire)
// and, if the probe ran (rep is not nil), probe-result, the report as
// JSON (report.JSON, with clusterUser).
func (r *Runtime) SetOutputs(server, namespace string, tok token.Token, rep *probe.Report, clusterUser string) error {
	outputs := []env.Var{{Name: "server", Value: server}, {Name: "namespace", Value: namespace}, {Name: "token-expires-at"}}
	if !tok.Expiry.IsZero() {
		outputs[2].Value = tok.Expiry.Format(time.RFC3339)
	}
	if rep != nil {
		b, err := files.Render(func(w io.Writer) error { return report.JSON(w, *rep, tok, clusterUser) })
		if err != nil {
			return err
		}
		outputs = append(outputs, env.Var{Name: "probe-result", Value: strings.TrimSpace(string(b))})
	}
	return r.AppendOutput(outputs)
}

// DefaultJobTimeout is GitHub's default timeout-minutes of a job.
const DefaultJobTimeout = 360 * time.Minute

// parseMinutes reads a number of minutes, as timeout-minutes has it, or a
// duration; either must be positive.
func parseMinutes(s string) (time.Duration, error) {
	var d time.Duration
	n, err := strconv.ParseFloat(s, 64)
	if err == nil {
		d = time.Duration(n * float64(time.Minute))
	} else {
		d, err = time.ParseDuration(s)
	}
	if err == nil && d <= 0 {
		err = errors.New("not positive")
	}
	return d, err
}

// WarnExpiry prints a ::warning when the token expires before the job may
// end (now plus jobTimeout): a later step that uses it gets 401. A long
// wait belongs behind argo-cred exec, which renews the token.
func (r *Runtime) WarnExpiry(expiry time.Time, jobTimeout time.Duration, now time.Time) {
	if expiry.IsZero() || !expiry.Before(now.Add(jobTimeout)) {
		return
	}
	msg := fmt.Sprintf("the token expires at %s (in %s), before the job's timeout of %s: a later step that uses it gets 401 (Unauthenticated); give a longer duration; for a long wait, run argo behind argo-cred exec, which renews the token (the argo-cred image as a docker:// step does); or set job-timeout to the job's timeout-minutes",
		expiry.UTC().Format(time.RFC3339), expiry.Sub(now).Round(time.Second), jobTimeout)
	fmt.Fprintf(r.stderr, "::warning title=argo-cred: the token expires before the job's timeout::%s\n", commandEscape(msg, false))
}
