package credential

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/probe"
)

// freshTokenGrace bounds how long a just-made token may be refused.
const freshTokenGrace = 5 * time.Second

// ProbeConfig is how to reach the Argo Server: the transport the settings
// give, without a token or expectations.
func ProbeConfig(s env.Settings, headers []string, userAgent string) probe.Config {
	return probe.Config{
		Server: s.Server, Secure: s.Secure, InsecureSkipVerify: s.InsecureSkipVerify, CAFile: s.CAFile,
		HTTP1: s.HTTP1, BaseHRef: s.BaseHRef, Headers: headers, UserAgent: userAgent,
	}
}

// Verify probes the Argo Server with the credential and expect (nil: the
// request's): the report, also when the probe failed, and an error with
// the hint that fits the failure.
func Verify(ctx context.Context, c *Credential, expect []probe.Expectation) (probe.Report, error) {
	if expect == nil {
		expect = c.Expect
	}
	r := &c.req
	claims, _ := c.Token.Claims()
	s := c.Settings
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	r.log().Debug("probing", "server", s.Server, "http1", s.HTTP1, "secure", s.Secure, "namespace", s.Namespace)
	defer r.log().Debug("probed")
	cfg := ProbeConfig(s, r.Headers, r.UserAgent)
	cfg.Authorization, cfg.Namespace, cfg.Subject = s.Authorization, s.Namespace, claims.Subject
	cfg.SkipIdentityCheck, cfg.Expect, cfg.Strict, cfg.Review = r.SkipIdentityCheck, expect, r.Strict, c.reviewer()
	rep, err := probe.Run(ctx, cfg)
	if more := forVersion(r, rep, expect); more != nil {
		expect, cfg.Expect = more, more
		rep, err = probe.Run(ctx, cfg)
	}
	// A token argo-cred just had made can be refused for a moment:
	// kube-apiserver authenticates it against its informer caches, which
	// may not hold the new Secret (or ServiceAccount) yet. Bounded.
	for deadline := time.Now().Add(freshTokenGrace); c.fresh && exitcode.Of(err) == exitcode.TokenRejected && time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(200 * time.Millisecond)
		rep, err = probe.Run(ctx, cfg)
	}
	// The identity row says why a rejected token failed, where that is known.
	why := ""
	if exitcode.Of(err) == exitcode.TokenRejected && len(r.Audiences) > 0 && c.Token.Source == "tokenrequest" {
		aud := strings.Join(r.Audiences, ",")
		err = &exitcode.Error{Code: exitcode.TokenRejected, Err: err,
			Hint: fmt.Sprintf("the token was requested for audience %s, which the API server behind the Argo Server does not accept: drop --audience (ARGO_CRED_AUDIENCE)", aud)}
		why = "rejected (401): audience " + aud + " not accepted by the cluster"
	}
	if c.OIDC {
		err = oidcHint(err, rep, claims, s)
		if exitcode.Of(err) == exitcode.TokenRejected {
			why = "rejected (401): the cluster does not trust the OIDC token"
		}
	}
	if id := rep.Identity(); why != "" && id != nil && id.Name == "identity" && strings.HasPrefix(id.Actual, "rejected (401 on ") {
		id.Actual = why
	}
	ns := r.Namespace
	if c.g != nil && c.g.ns != "" {
		ns = c.g.ns
	}
	if err = clientHint(r, cmp.Or(r.Client, r.Managed), cmp.Or(ns, s.Namespace), expect, err); err != nil {
		rep.Hint = exitcode.Hint(err)
	}
	if w := notCheckedWarning(rep); w != "" && !r.Strict {
		r.print(w)
	}
	if id := rep.Identity(); id != nil && id.Actual == probe.NotChecked {
		r.print("note: identity not checked (--skip-identity-check): the token has no subject and the server reported none")
	}
	return rep, err
}
