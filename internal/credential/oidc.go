package credential

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/token"
)

// checkOIDC checks a CI OIDC token before any network call and says what
// it is: the claims are unverified, so they are for display and these
// checks only; the probe's list calls, which kube-apiserver authenticates,
// are the proof.
func (g *getter) checkOIDC(ctx context.Context, src string, c *Credential) error {
	r, tok := g.req, c.Token
	if err := token.CheckOIDC(tok, oidcAudience(r, src), r.MinLifetime, time.Now()); err != nil {
		return err
	}
	claims, _ := tok.Claims()
	r.print(fmt.Sprintf("note: OIDC token: %s", g.red.Text(token.Describe(claims))))
	// Behind the relay a renewable token lives as long as the command.
	if s, _ := Lookup(src); (!r.Relayed || !s.Renewable) && time.Until(claims.Expiry) < 15*time.Minute {
		left := time.Until(claims.Expiry)
		r.print(fmt.Sprintf("warning: the token expires in %s: an argo command that runs longer (submit --wait, logs -f) fails after that", left.Round(time.Second)))
	}
	c.OIDC = true
	c.ClusterUser = g.reviewSelf(ctx, tok)
	return nil
}

// reviewSelf says which user the cluster maps an OIDC token to, when the
// user named a kubeconfig for this run (--kubeconfig, or the action's
// kubeconfig input): the token is sent to its API server alone, without
// the kubeconfig's credentials, and only over verified TLS. An ambient
// KUBECONFIG or the pod's cluster gets no CI token. Nothing fails here:
// the probe is the check.
func (g *getter) reviewSelf(ctx context.Context, tok token.Token) string {
	r := g.req
	if r.Kubeconfig == "" || KubeconfigProblem(r.Kubeconfig, r.Lookup) != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	user, groups, err := kube.ReviewSelf(ctx, r.Kubeconfig, r.Context, tok.Raw(), r.UserAgent, 5*time.Second)
	if err != nil {
		r.print(fmt.Sprintf("note: the cluster's API server did not say who the token is: %s", g.red.Text(err.Error())))
		return ""
	}
	r.print(fmt.Sprintf("note: the cluster maps the token to user %q (groups %s)", g.red.Text(user), g.red.Text(strings.Join(groups, ","))))
	return user
}

var deniedUser = regexp.MustCompile(`User "([^"]+)" cannot`)

// oidcHint says what a refused OIDC token needs: a 401 is the cluster's
// AuthenticationConfiguration, a 403 a RoleBinding for the user the
// cluster mapped the token to (Kubernetes names it).
func oidcHint(err error, r probe.Report, claims token.Claims, s env.Settings) error {
	hint := ""
	switch exitcode.Of(err) {
	case exitcode.TokenRejected:
		hint = fmt.Sprintf("the cluster did not accept the OIDC token: its AuthenticationConfiguration must trust issuer %s for audience %s, the token must pass its claim rules (GitHub: the owner's id; GitLab: the project's and namespace's ids), and kube-apiserver must have read the issuer's discovery document (it retries every 10 s); argo-cred oidc-config prints what the cluster needs",
			claims.Issuer, strings.Join(claims.Audience, ","))
	case exitcode.MissingAccess:
		for _, c := range r.Checks {
			if m := deniedUser.FindStringSubmatch(c.Message); m != nil {
				hint = fmt.Sprintf("the cluster maps the token to user %q, which no RoleBinding in namespace %s grants this: bind it (argo-cred oidc-config … --apply)", m[1], s.Namespace)
				break
			}
		}
	}
	if hint == "" {
		return err
	}
	return &exitcode.Error{Code: exitcode.Of(err), Err: err, Hint: hint}
}
