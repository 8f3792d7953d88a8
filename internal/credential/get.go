package credential

import (
	"context"
	"fmt"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/token"
)

// kube loads the kubeconfig's client and decides the namespace of the
// Secret or ServiceAccount, and where it came from, for hints.
func (g *getter) kube() error {
	r := g.req
	kc, err := Kube(r.Kubeconfig, r.Context, r.Timeout, r.Hooks)
	if err != nil {
		return err
	}
	ns := kc.Namespace
	if ns != "" && !ValidNamespace(ns) {
		return exitcode.New(exitcode.Usage, "fix the context's namespace, or set --namespace",
			"the kubeconfig's namespace %s is not a Kubernetes namespace", strconv.QuoteToASCII(ns))
	}
	g.kc, g.kubeNS, g.ns, g.nsFrom = kc, ns, ns, "the kubeconfig's context"
	if r.SecretNS != "" {
		g.ns, g.nsFrom = r.SecretNS, "--secret-namespace, ARGO_CRED_SECRET_NAMESPACE or the action's secret-namespace input"
	} else if r.Namespace != "" {
		g.ns, g.nsFrom = r.Namespace, "--namespace, ARGO_NAMESPACE or the action's namespace input"
	}
	return nil
}

func (g *getter) secret(ctx context.Context) (token.Token, error) {
	tok, err := token.FromSecret(ctx, g.kc.Secrets(g.ns), g.ns, g.req.Secret, g.req.Wait, g.req.Progress)
	return tok, g.sourceHint(err, "secret")
}

// client reads the current token of a client argo-cred provisioned, from
// the one Secret of a name known in advance that holds it, by get only.
func (g *getter) client(ctx context.Context) (token.Token, error) {
	tok, err := identity.CurrentToken(ctx, g.kc.Secrets(g.ns), g.ns, g.req.Client)
	return tok, g.sourceHint(err, "client")
}

func (g *getter) tokenRequest(ctx context.Context) (token.Token, error) {
	r := g.req
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	bound := g.bound
	if r.Bind && bound == nil {
		if !r.DurationGiven {
			r.Duration = BindLifetime
		}
		b, err := newBinding(ctx, g.kc, g.ns, r.ServiceAccount, r.Duration)
		if err != nil {
			return token.Token{}, err
		}
		r.log().Debug("bound the token", "secret", b.Namespace+"/"+b.Name)
		g.fresh = true
		if r.Bound != nil {
			r.Bound(b)
		}
		bound = b.ref()
		g.bound = bound // a renewal binds its token to the same Secret
	}
	tok, err := token.FromTokenRequest(ctx, g.kc.ServiceAccounts(g.ns), g.ns, r.ServiceAccount, r.Duration, r.Audiences, bound)
	return tok, g.sourceHint(err, "tokenrequest")
}

func (g *getter) file(ctx context.Context) (token.Token, error) {
	return token.FromFileWithin(ctx, g.req.TokenFile, g.req.Timeout)
}

func (g *getter) env(context.Context) (token.Token, error) {
	return token.FromEnv(g.req.lookup)
}

func (g *getter) githubOIDC(ctx context.Context) (token.Token, error) {
	req, _ := token.GitHubRequestFrom(g.req.lookup)
	g.hide(req.Token) // the request token is a secret too
	ctx, cancel := context.WithTimeout(ctx, g.req.Timeout)
	defer cancel()
	return token.FromGitHubOIDC(ctx, req, oidcAudience(g.req, "github-oidc"))
}

func (g *getter) oidcEnv(context.Context) (token.Token, error) {
	return token.FromOIDCEnv(g.req.lookup, g.req.OIDCEnv)
}

// sourceHint gives a Kubernetes API refusal the hint of the source in use:
// what the kubeconfig's identity needs for it, and where the namespace
// came from, the usual cause when the identity has it elsewhere.
func (g *getter) sourceHint(err error, src string) error {
	if err == nil {
		return nil
	}
	where := fmt.Sprintf("namespace %s (from %s)", g.ns, g.nsFrom)
	hint := ""
	switch {
	case apierrors.IsForbidden(err) && src == "tokenrequest":
		hint = "the Kubernetes identity in use needs create on serviceaccounts/token in " + where + ": check the namespace, or grant it"
	case apierrors.IsForbidden(err) && src == "client":
		hint = fmt.Sprintf("the Kubernetes identity in use needs get on secret %s in %s: check the namespace, or grant it (resourceNames)", identity.CurrentName(g.req.Client), where)
	case apierrors.IsForbidden(err):
		hint = "the Kubernetes identity in use needs get and watch on secrets in " + where + ": check the namespace, or grant it"
	case apierrors.IsNotFound(err) && src == "tokenrequest":
		hint = "no such ServiceAccount in " + where + ": check --service-account and the namespace, or create it"
	}
	if hint == "" || exitcode.Of(err) != exitcode.TokenUnavailable {
		return err
	}
	return &exitcode.Error{Code: exitcode.TokenUnavailable, Err: err, Hint: hint}
}

// oidcAudience is the audience an OIDC token must be for: the first
// --audience, for github-oidc argo-cred's default.
func oidcAudience(r *Request, src string) string {
	if len(r.Audiences) > 0 {
		return r.Audiences[0]
	}
	if src == "github-oidc" {
		return token.DefaultAudience
	}
	return ""
}
