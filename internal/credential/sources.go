package credential

import (
	"context"
	"strings"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/token"
)

// A Source is one way to get a token. Sources is the one list of them:
// flag checks, the choice when no --source is given, the "no token source"
// hint, the intent flags of exec and the help text all come from it.
type Source struct {
	Name string
	// About says what it reads, for help and completion.
	About string
	// Flag is the flag naming what the source reads (--secret NAME); given,
	// it selects the source, in the order of Sources. Empty: none.
	Flag string
	// Var is an environment variable whose presence selects the source
	// when no flag does.
	Var string
	// Give is how the "no token source" hint offers it; empty: not offered.
	Give string
	// Input is the GitHub Action's input that selects it, if any.
	Input string
	// Kube: it reads through the kubeconfig's cluster.
	Kube bool
	// Expires: its tokens expire; Renew says how a fresh one is got, and
	// Renewable that it can give another token than the first (a rotation
	// included).
	Expires   bool
	Renew     string
	Renewable bool
	value     func(*Request) string
	get       func(*getter, context.Context) (token.Token, error)
}

// Sources are the token sources, in the order a flag selects them.
var Sources = []Source{
	{Name: "secret", About: "a service-account-token Secret (--secret)", Flag: "secret", Give: "--secret NAME (a token Secret)", Input: "secret", Kube: true,
		Renewable: true, Renew: "read the Secret again: rotation replaces its token",
		value: func(r *Request) string { return r.Secret }, get: (*getter).secret},
	{Name: "client", About: "the current token of a client argo-cred provisioned (--client)", Flag: "client", Give: "--client NAME (a provisioned client)", Input: "client", Kube: true,
		Renewable: true, Renew: "read NAME-token-current again: rotate puts the new token there",
		value: func(r *Request) string { return r.Client }, get: (*getter).client},
	{Name: "tokenrequest", About: "a new token of a ServiceAccount (--service-account)", Flag: "service-account", Give: "--service-account NAME (TokenRequest)", Input: "service-account", Kube: true,
		Expires: true, Renewable: true, Renew: "request another token for the same ServiceAccount, audiences, duration and binding",
		value: func(r *Request) string { return r.ServiceAccount }, get: (*getter).tokenRequest},
	{Name: "file", About: "a file (--token-file)", Flag: "token-file", Give: "--token-file PATH", Expires: true, Renewable: true,
		Renew: "read the file again: kubelet rotates projected tokens",
		value: func(r *Request) string { return r.TokenFile }, get: (*getter).file},
	{Name: "env", About: "ARGO_TOKEN", Var: "ARGO_TOKEN", Give: "set ARGO_TOKEN", Input: "token",
		Renew: "none: the variable is set once",
		get:   (*getter).env},
	{Name: "github-oidc", About: "the GitHub Actions job's own OIDC token", Input: "source", Expires: true, Renewable: true,
		Renew: "request another ID token from the runner (its request token lasts the whole job)",
		get:   (*getter).githubOIDC},
	{Name: "oidc-env", About: "a CI OIDC token in a variable (--oidc-env)", Flag: "oidc-env", Expires: true,
		Renew: "none: the CI system sets the variable once per job",
		value: func(r *Request) string { return r.OIDCEnv }, get: (*getter).oidcEnv},
}

// Lookup returns the source of that name.
func Lookup(name string) (Source, bool) {
	for _, s := range Sources {
		if s.Name == name {
			return s, true
		}
	}
	return Source{}, false
}

// Names are the sources' names, as prose: "a, b or c".
func Names() string {
	var names []string
	for _, s := range Sources {
		names = append(names, s.Name)
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// IntentFlags and IntentVars say a credential was intended: a token
// source, or how to get or check one. Any of them given, by flag or
// environment, even empty, means exec runs its command only with a
// checked credential.
func IntentFlags() []string {
	out := []string{"source"}
	for _, s := range Sources {
		if s.Flag != "" {
			out = append(out, s.Flag)
		}
	}
	return append(out, "bind", "secret-namespace", "audience", "duration", "min-lifetime", "expect", "skip-identity-check")
}

// IntentVars: see IntentFlags.
func IntentVars() []string {
	out := []string{"ARGO_TOKEN", "ARGO_CRED_SOURCE"}
	for _, s := range Sources {
		if s.Flag != "" {
			out = append(out, "ARGO_CRED_"+strings.ToUpper(strings.ReplaceAll(s.Flag, "-", "_")))
		}
	}
	return append(out, "ARGO_CRED_BIND", "ARGO_CRED_SECRET_NAMESPACE", "ARGO_CRED_AUDIENCE", "ARGO_CRED_DURATION",
		"ARGO_CRED_MIN_LIFETIME", "ARGO_CRED_EXPECT", "ARGO_CRED_SKIP_IDENTITY_CHECK")
}

// Intended returns the IntentFlags given (given reports a flag given) and
// the IntentVars set, even empty.
func Intended(given func(flag string) bool, lookup func(string) (string, bool)) []string {
	var out []string
	for _, f := range IntentFlags() {
		if given(f) {
			out = append(out, "--"+f)
		}
	}
	for _, v := range IntentVars() {
		if _, ok := lookup(v); ok {
			out = append(out, v)
		}
	}
	return out
}

// Choose decides where the token comes from: --source, else the first
// source whose flag has a value, else one whose variable is set.
func Choose(r *Request) (Source, error) {
	if r.Source != "" {
		if s, ok := Lookup(r.Source); ok {
			return s, nil
		}
		return Source{}, exitcode.New(exitcode.Usage, "use "+Names(), "unknown --source %q", r.Source)
	}
	for _, s := range Sources {
		if s.value != nil && s.value(r) != "" {
			return s, nil
		}
	}
	var gives []string
	for _, s := range Sources {
		if _, ok := r.lookup(s.Var); ok && s.Var != "" {
			return s, nil
		}
		if s.Give != "" {
			gives = append(gives, s.Give)
		}
	}
	hint := "give " + strings.Join(gives[:len(gives)-1], ", ") + ", or " + gives[len(gives)-1]
	if _, ok := token.GitHubRequestFrom(r.lookup); ok {
		// Never switched to silently: the cluster must trust GitHub's tokens.
		hint += "; this GitHub job may request an OIDC token: --source github-oidc uses it, where the cluster trusts GitHub (argo-cred oidc-config)"
	}
	return Source{}, exitcode.New(exitcode.Usage, hint, "no token source")
}
