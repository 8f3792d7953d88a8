package probe_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/testenv"
)

// The hybrid-mode trap: an Argo Server with --auth-mode client
// --auth-mode server runs a request whose Authorization lacks "Bearer " (or
// is missing) as its own service account. Listing templates then succeeds,
// and the identity check must catch it.
func TestIntegrationHybridFallback(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns, tok := s.SeedIdentity(t)
	subject := "system:serviceaccount:" + ns + ":ci"

	tests := map[string]struct {
		auth       string
		http1      bool
		wantCode   exitcode.Code
		wantActual string
	}{
		"bearer grpc":            {auth: "Bearer " + tok, wantCode: exitcode.OK, wantActual: subject},
		"bearer http1":           {auth: "Bearer " + tok, http1: true, wantCode: exitcode.OK, wantActual: subject},
		"prefix-less grpc":       {auth: tok, wantCode: exitcode.ExcessAccess, wantActual: "the server's own service account"},
		"prefix-less http1":      {auth: tok, http1: true, wantCode: exitcode.ExcessAccess, wantActual: "the server's own service account"},
		"no authorization http1": {auth: "", http1: true, wantCode: exitcode.ExcessAccess, wantActual: "the server's own service account"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			r, err := probe.Run(ctx, probe.Config{
				Server: s.ArgoServerHybrid, HTTP1: tc.http1, Authorization: tc.auth, Namespace: ns, Subject: subject,
				Expect: probe.DefaultExpectations,
			})
			if got := exitcode.Of(err); got != tc.wantCode {
				t.Fatalf("exit code %d (%v); want %d", got, err, tc.wantCode)
			}
			if got := r.Identity(); got == nil || got.Name != "identity" || got.Actual != tc.wantActual {
				t.Errorf("identity check %+v; want actual %q", got, tc.wantActual)
			}
			if tc.wantCode == exitcode.ExcessAccess {
				if !strings.Contains(exitcode.Hint(err), "hybrid auth mode") {
					t.Errorf("hint %q; want it to name hybrid auth mode", exitcode.Hint(err))
				}
				// The fallback identity really is over-privileged.
				if last := r.Checks[len(r.Checks)-1]; last.Actual != "allowed" {
					t.Errorf("templates check %+v; want allowed under the server's identity", last)
				}
			}
			if strings.Contains(err2s(err), tok) {
				t.Error("the error contains the token")
			}
		})
	}
}

func err2s(err error) string {
	if err == nil {
		return ""
	}
	return err.Error() + exitcode.Hint(err)
}

// A gRPC client behind an HTTP/1-only hop fails with Unavailable; the probe
// tells the user to set ARGO_HTTP1. The hop here is a plain HTTP/1 reverse
// proxy in front of the real server.
func TestIntegrationHTTP1OnlyProxyHint(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns, tok := s.SeedIdentity(t)
	proxy := testenv.HTTP1Proxy(t, "http://"+s.ArgoServer)
	cfg := probe.Config{Server: proxy, Authorization: "Bearer " + tok, Namespace: ns, Subject: "system:serviceaccount:" + ns + ":ci", Expect: probe.DefaultExpectations, Attempts: 2}
	_, err := probe.Run(context.Background(), cfg)
	if exitcode.Of(err) != exitcode.Unreachable || !strings.Contains(exitcode.Hint(err), "ARGO_HTTP1=true") {
		t.Fatalf("got %v (hint %q); want unreachable with a hint to set ARGO_HTTP1=true", err, exitcode.Hint(err))
	}
	cfg.HTTP1 = true
	if _, err := probe.Run(context.Background(), cfg); err != nil {
		t.Fatalf("over HTTP/1 through the proxy: %v", err)
	}
}

// 503 and 429 from a proxy in front of the real server are retried with
// backoff; when they do not stop, the server counts as unreachable (exit 4).
func TestIntegrationRetriesThroughFaultyProxy(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns, tok := s.SeedIdentity(t)
	tests := map[string]struct {
		fault    func(n int) int
		wantCode exitcode.Code
	}{
		"two 503 then through": {fault: func(n int) int { return map[bool]int{true: 503}[n <= 2] }, wantCode: exitcode.OK},
		"429 then through":     {fault: func(n int) int { return map[bool]int{true: 429}[n <= 1] }, wantCode: exitcode.OK},
		"503 for ever":         {fault: func(int) int { return 503 }, wantCode: exitcode.Unreachable},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			proxy := testenv.FaultProxy(t, "http://"+s.ArgoServer, tc.fault)
			r, err := probe.Run(context.Background(), probe.Config{
				Server: proxy, HTTP1: true, Authorization: "Bearer " + tok, Namespace: ns,
				Subject: "system:serviceaccount:" + ns + ":ci", Expect: probe.DefaultExpectations,
			})
			if got := exitcode.Of(err); got != tc.wantCode {
				t.Fatalf("exit code %d (%v); want %d", got, err, tc.wantCode)
			}
			retried := 0
			for _, c := range r.Checks {
				retried += c.Attempts - 1
			}
			if retried == 0 {
				t.Errorf("no check was retried: %+v", r.Checks)
			}
		})
	}
}

// An Argo Server in sso auth mode alone (real, started for the test) takes
// no bearer token: its gatekeeper answers 401 "token not valid" before the
// version header is set. The probe says so (exit 5, not "not an Argo
// Server"), shows what the server answered, and names client mode.
func TestIntegrationSSOOnly(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns, tok := s.SeedIdentity(t)
	srv := s.SSOOnly(t)
	for _, http1 := range []bool{false, true} {
		t.Run(map[bool]string{false: "grpc", true: "http1"}[http1], func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cfg := probe.Config{Server: srv.Addr, HTTP1: http1, Authorization: "Bearer " + tok, Namespace: ns,
				Subject: "system:serviceaccount:" + ns + ":ci", Expect: probe.DefaultExpectations}
			r, err := probe.Run(ctx, cfg)
			// The hostile tests' fake answers the same.
			cfg.Server = testenv.FakeSSOOnly(t, !http1).Addr
			fr, ferr := probe.Run(ctx, cfg)
			if fake, real := err2s(ferr), strings.ReplaceAll(err2s(err), srv.Addr, cfg.Server); fake != real {
				t.Errorf("the fake says %q; the real server %q", fake, real)
			}
			if len(fr.Checks) != len(r.Checks) {
				t.Errorf("the fake's checks %+v; the real server's %+v", fr.Checks, r.Checks)
			}
			for i := range fr.Checks {
				if i < len(r.Checks) && (fr.Checks[i].Actual != r.Checks[i].Actual || fr.Checks[i].Message != r.Checks[i].Message || fr.Checks[i].HTTPStatus != r.Checks[i].HTTPStatus) {
					t.Errorf("the fake's check %+v; the real server's %+v", fr.Checks[i], r.Checks[i])
				}
			}
			if exitcode.Of(err) != exitcode.TokenRejected {
				t.Fatalf("exit code %d (%v); want %d", exitcode.Of(err), err, exitcode.TokenRejected)
			}
			answered := "gRPC Unauthenticated (token not valid. see https://argo-workflows.readthedocs.io/en/latest/faq/)"
			if http1 {
				answered = "HTTP 401 (token not valid. see https://argo-workflows.readthedocs.io/en/latest/faq/)"
			}
			if !strings.Contains(err.Error(), "answered "+answered+" to the bearer token") || !strings.Contains(err.Error(), "whose --auth-mode is sso alone") {
				t.Errorf("error %q; want what the server answered and sso auth mode", err)
			}
			if !strings.Contains(exitcode.Hint(err), "CI tokens need client in the Argo Server's --auth-mode") {
				t.Errorf("hint %q; want it to name client auth mode", exitcode.Hint(err))
			}
			if len(r.Checks) != 2 || !r.Reach().OK || r.Identity().OK || r.Identity().Actual != "rejected (401): the server takes no bearer token (sso auth mode only)" {
				t.Errorf("checks %+v; want reachable, then identity rejected for sso mode", r.Checks)
			}
			if strings.Contains(err2s(err), tok) || r.ExitCode != 5 || r.Hint != exitcode.Hint(err) {
				t.Errorf("report %+v", r)
			}
		})
	}
}

// get and watch are checked through the Argo API without side effects:
// get of a name that cannot exist is 404 when allowed and 403 when not;
// a watch that matches nothing opens (allowed) or is refused (403), over
// gRPC and HTTP/1, and answers at once.
func TestIntegrationGetWatch(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	rule := func(res string, verbs ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{"argoproj.io"}, Resources: []string{res}, Verbs: verbs}
	}
	s.Identity(t, ns, "all", []rbacv1.PolicyRule{rule("workflows", "list", "get", "watch"), rule("cronworkflows", "get")})
	s.Identity(t, ns, "none", []rbacv1.PolicyRule{rule("workflows", "list")})
	toks := map[string]string{"all": s.WaitToken(t, ns, "all"), "none": s.WaitToken(t, ns, "none")}
	expect := []probe.Expectation{
		{Allow: true, Resource: "workflows", Verb: "get"},
		{Allow: true, Resource: "workflows", Verb: "watch"},
		{Allow: true, Resource: "cronworkflows", Verb: "get"},
	}
	for _, who := range []string{"all", "none"} {
		for _, http1 := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s http1=%v", who, http1), func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				start := time.Now()
				r, err := probe.Run(ctx, probe.Config{Server: s.ArgoServer, HTTP1: http1, Authorization: "Bearer " + toks[who],
					Namespace: ns, Subject: "system:serviceaccount:" + ns + ":" + who, Expect: expect})
				want, wantCode := "allowed", exitcode.OK
				if who == "none" {
					want, wantCode = "denied", exitcode.MissingAccess
				}
				if got := exitcode.Of(err); got != wantCode {
					t.Fatalf("exit code %d (%v); want %d", got, err, wantCode)
				}
				var got []string
				for _, c := range r.Expectations() {
					got = append(got, c.Name+" "+c.Actual)
				}
				wantRows := []string{"workflows/get " + want, "workflows/watch " + want, "cronworkflows/get " + want}
				if diff := cmp.Diff(wantRows, got); diff != "" {
					t.Errorf("checks (-want +got):\n%s", diff)
				}
				if d := time.Since(start); d > 4*time.Second {
					t.Errorf("the probe took %s; want the watch closed at its first answer", d)
				}
			})
		}
	}
}
