// Package credential gets a token from one of its Sources, checks what can
// be checked without a network call, and verifies it against the Argo
// Server: the pipeline every command that uses a credential runs. It reads
// no process state itself: the environment, notes and progress go through
// the Request's hooks.
package credential

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	authv1 "k8s.io/api/authentication/v1"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/redact"
	"github.com/argo-cred/argo-cred/internal/token"
)

// Request is what Get needs: where the token comes from, the Argo Server
// settings, what to check, and the hooks to the process.
type Request struct {
	SourceFlags
	KubeFlags
	ArgoFlags
	CheckFlags
	// DurationGiven: --duration or ARGO_CRED_DURATION was given (else a
	// --bind token lives BindLifetime); SecureGiven: --secure was.
	DurationGiven, SecureGiven bool
	// Bind binds a TokenRequest token to a per-run Secret.
	Bind bool
	// QuietExpect: the expectations are argo-cred's own (a client's
	// grants), so replacing a default is no news.
	QuietExpect bool
	// Relayed: the command runs behind the relay, which renews a token
	// that can be renewed (exec, docker).
	Relayed bool
	// Fresh: the token was made just now (provision, rotate), so a 401
	// may be kube-apiserver's caches lagging.
	Fresh bool
	// Managed names the client argo-cred manages whose token this is
	// (provision, clients --check), for hints; --client is one too.
	Managed string

	Hooks
}

// Hooks connect the pipeline to the process that runs it.
type Hooks struct {
	// Lookup reads the environment (os.LookupEnv).
	Lookup func(string) (string, bool)
	// Note prints a note or warning once a run; Print prints a line.
	Note, Print func(string)
	// Progress reports a wait in progress; nil for none.
	Progress func(string)
	// Secrets is told every secret value as soon as it is known, before
	// any line that could hold it (redaction); Token is told the token
	// (redaction, the runner's masks) before any line is printed after it.
	Secrets func(values ...string)
	Token   func(token.Token) error
	// Bound is handed the per-run Secret of --bind once it exists: from
	// then on, deleting it is the caller's.
	Bound     func(*Binding)
	Log       *slog.Logger
	UserAgent string
}

func (r *Request) lookup(name string) (string, bool) {
	if r.Lookup == nil || name == "" {
		return "", false
	}
	return r.Lookup(name)
}

func (r *Request) getenv(name string) string { v, _ := r.lookup(name); return v }

func (r *Request) note(s string) {
	if r.Note != nil {
		r.Note(s)
	}
}

func (r *Request) print(s string) {
	if r.Print != nil {
		r.Print(s)
	}
}

func (r *Request) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// Credential is a token with the settings to use it and what to check.
type Credential struct {
	Token    token.Token
	Settings env.Settings
	Expect   []probe.Expectation
	// OIDC: a CI OIDC token, authenticated by the cluster's
	// AuthenticationConfiguration.
	OIDC bool
	// ClusterUser is who the cluster says an OIDC token is, if it said.
	ClusterUser string
	req         Request
	fresh       bool
	src         Source
	g           *getter
}

// getter is one Get: the request and what it has learnt so far.
type getter struct {
	req     *Request
	kc      *kube.Client
	ns      string // of the Secret or ServiceAccount
	nsFrom  string
	kubeNS  string
	red     *redact.Redactor
	secrets []string
	fresh   bool
	bound   *authv1.BoundObjectReference // a --bind token's Secret
}

// Get validates the request, gets a token from its source and decides the
// namespace. Nothing is sent to the Argo Server: that is Verify.
func Get(ctx context.Context, req Request) (*Credential, error) {
	settings, expect, err := Validate(&req)
	if err != nil {
		return nil, err
	}
	src, err := Choose(&req)
	if err != nil {
		return nil, err
	}
	if req.Bind && src.Name != "tokenrequest" {
		return nil, exitcode.New(exitcode.Usage, "use --bind with --service-account (--source tokenrequest)", "--bind binds a TokenRequest token; --source %s has none", src.Name)
	}
	if src.value != nil && src.value(&req) == "" {
		return nil, exitcode.New(exitcode.Usage, "", "--source %s needs --%s", src.Name, src.Flag)
	}
	req.log().Debug("token source", "source", src.Name)
	g := &getter{req: &req, red: redact.New(), fresh: req.Fresh}
	if src.Kube {
		if err := g.kube(); err != nil {
			return nil, err
		}
	}
	tok, err := src.get(g, ctx)
	if err != nil {
		return nil, err
	}
	c := &Credential{Token: tok, Expect: expect, req: req, src: src, g: g}
	g.hide(tok.Bearer())
	if req.Token != nil {
		if err := req.Token(tok); err != nil {
			return nil, err
		}
	}
	if src.Name == "github-oidc" || src.Name == "oidc-env" {
		if err := g.checkOIDC(ctx, src.Name, c); err != nil {
			return nil, err
		}
	}
	for _, w := range tok.Warnings {
		req.print(w)
	}
	claims, _ := tok.Claims()
	if !tok.Expiry.IsZero() {
		more := ""
		if !req.Relayed && src.Renewable {
			more = "; for a longer job, argo-cred exec renews it"
		}
		req.print(fmt.Sprintf("note: the token expires at %s (in %s)%s", tok.Expiry.Format(time.RFC3339), time.Until(tok.Expiry).Round(time.Second), more))
	}
	req.log().Debug("token obtained", "from", tok.From, "subject", claims.Subject)
	settings.Authorization = tok.Bearer()
	if settings.Namespace, err = namespace(req.Namespace, claims.Namespace, g.kubeNS); err != nil {
		return nil, err
	}
	c.Settings, c.fresh = settings, g.fresh
	return c, nil
}

// hide tells the caller secret values, and redacts them from then on.
func (g *getter) hide(values ...string) {
	g.secrets = append(g.secrets, values...)
	g.red = redact.New(g.secrets...)
	if g.req.Secrets != nil {
		g.req.Secrets(values...)
	}
}

// namespace is --namespace, else the token's, else the kubeconfig's.
func namespace(given, claimed, kubeNS string) (string, error) {
	ns := given
	if ns == "" {
		ns = claimed
	}
	if ns == "" {
		ns = kubeNS
	}
	if ns == "" {
		return "", exitcode.New(exitcode.Usage, "set --namespace or ARGO_NAMESPACE", "no namespace: the token names none")
	}
	if ns != given && !ValidNamespace(ns) {
		// From the token's unverified claims or the kubeconfig: it becomes a
		// path segment of every request and an exported value.
		return "", exitcode.New(exitcode.Usage, "set --namespace or ARGO_NAMESPACE",
			"the namespace %s from the token's claims or the kubeconfig is not a Kubernetes namespace", strconv.QuoteToASCII(ns))
	}
	return ns, nil
}
