package probe

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

func TestParseExpectation(t *testing.T) {
	tests := map[string]struct {
		want    Expectation
		wantErr string
	}{
		"allow:workflows/list":           {want: Expectation{Allow: true, Resource: "workflows", Verb: "list"}},
		"deny:workflowtemplates/list":    {want: Expectation{Resource: "workflowtemplates", Verb: "list"}},
		"deny:clusterworkflowtemplates":  {want: Expectation{Resource: "clusterworkflowtemplates", Verb: "list"}},
		"allow:archived-workflows/list":  {want: Expectation{Allow: true, Resource: "archived-workflows", Verb: "list"}},
		"allow:workflows/create":         {want: Expectation{Allow: true, Resource: "workflows", Verb: "create"}},
		"deny:workflows/create":          {want: Expectation{Resource: "workflows", Verb: "create"}},
		"allow:workflows/get":            {want: Expectation{Allow: true, Resource: "workflows", Verb: "get"}},
		"deny:workflows/watch":           {want: Expectation{Resource: "workflows", Verb: "watch"}},
		"allow:cronworkflows/get":        {want: Expectation{Allow: true, Resource: "cronworkflows", Verb: "get"}},
		"allow:workflowtemplates/get":    {want: Expectation{Allow: true, Resource: "workflowtemplates", Verb: "get"}},
		"allow:cronworkflows/watch":      {want: Expectation{Allow: true, Resource: "cronworkflows", Verb: "watch"}},
		"allow:workflowtemplates/create": {want: Expectation{Allow: true, Resource: "workflowtemplates", Verb: "create"}},
		"deny:pods/delete":               {want: Expectation{Resource: "pods", Verb: "delete"}},
		"allow:pods/log/get":             {want: Expectation{Allow: true, Resource: "pods/log", Verb: "get"}},
		"allow:pods/log":                 {want: Expectation{Allow: true, Resource: "pods/log", Verb: "list"}},
		"allow:archived-workflows/get":   {wantErr: `verb "get" cannot be checked on archived-workflows; only list`},
		"allow:workflows/remove":         {wantErr: `unknown verb "remove"`},
		"allow:secrets/get":              {wantErr: `unknown resource "secrets"`},
		"workflows/list":                 {wantErr: "missing allow: or deny:"},
		"maybe:workflows":                {wantErr: "must start with allow: or deny:"},
		"allow:workflows/delete":         {want: Expectation{Allow: true, Resource: "workflows", Verb: "delete"}},
		"allow:pods/list":                {want: Expectation{Allow: true, Resource: "pods", Verb: "list"}},
	}
	for in, tc := range tests {
		t.Run(in, func(t *testing.T) {
			got, err := ParseExpectation(in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || exitcode.Of(err) != exitcode.Usage {
					t.Fatalf("got %v; want a usage error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if round, _ := ParseExpectation(got.String()); round != got {
				t.Errorf("String() %q does not parse back", got.String())
			}
		})
	}
}

// fakeArgo answers like the Argo Server's HTTP API; handler decides the
// workflow list's answer per call. Unit tests only: the real server is
// probed in the integration tests.
func fakeArgo(t *testing.T, workflows func(n int) (int, string)) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/version", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"version":"v3.7.9"}`) })
	mux.HandleFunc("/api/v1/userinfo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Grpc-Metadata-Argo-Version", "v3.7.9")
		fmt.Fprint(w, `{"subject":"system:serviceaccount:ci:ci"}`)
	})
	mux.HandleFunc("/api/v1/workflows/ci", func(w http.ResponseWriter, r *http.Request) {
		code, body := workflows(int(calls.Add(1)))
		w.WriteHeader(code)
		fmt.Fprint(w, body)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &calls
}

func cfgFor(srv *httptest.Server) Config {
	return Config{
		Server: strings.TrimPrefix(srv.URL, "http://"), HTTP1: true, Authorization: "Bearer x",
		Namespace: "ci", Subject: "system:serviceaccount:ci:ci",
		Expect: []Expectation{{Allow: true, Resource: "workflows", Verb: "list"}},
	}
}

func TestRetries(t *testing.T) {
	tests := map[string]struct {
		answers   []string // "code body" per call; the last repeats
		wantCode  exitcode.Code
		wantCalls int32
	}{
		"503 then ok":       {answers: []string{`503 {"code":14,"message":"unavailable"}`, `200 {}`}, wantCode: exitcode.OK, wantCalls: 2},
		"429 twice then ok": {answers: []string{`429 {"code":8,"message":"slow down"}`, `429 {"code":8,"message":"slow down"}`, `200 {}`}, wantCode: exitcode.OK, wantCalls: 3},
		"503 forever":       {answers: []string{`503 {"code":14,"message":"unavailable"}`}, wantCode: exitcode.Unreachable, wantCalls: 4},
		"401 never retried": {answers: []string{`401 {"code":16,"message":"token not valid"}`}, wantCode: exitcode.TokenRejected, wantCalls: 1},
		"403 never retried": {answers: []string{`403 {"code":7,"message":"forbidden"}`}, wantCode: exitcode.MissingAccess, wantCalls: 1},
		"500 html page":     {answers: []string{`502 <html>bad gateway</html>`}, wantCode: exitcode.Unreachable, wantCalls: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv, calls := fakeArgo(t, func(n int) (int, string) {
				a := tc.answers[min(n, len(tc.answers))-1]
				var code int
				fmt.Sscan(a, &code)
				return code, a[4:]
			})
			r, err := Run(context.Background(), cfgFor(srv))
			if got := exitcode.Of(err); got != tc.wantCode {
				t.Errorf("exit code %d (%v); want %d", got, err, tc.wantCode)
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("%d calls; want %d", got, tc.wantCalls)
			}
			if r.ExitCode != int(tc.wantCode) || r.OK != (tc.wantCode == 0) {
				t.Errorf("report exit %d ok %t", r.ExitCode, r.OK)
			}
		})
	}
}

func TestTimeoutBoundsRetries(t *testing.T) {
	srv, _ := fakeArgo(t, func(int) (int, string) { return 503, `{"code":14,"message":"unavailable"}` })
	cfg := cfgFor(srv)
	cfg.Attempts = 100
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Run(ctx, cfg)
	if exitcode.Of(err) != exitcode.Unreachable {
		t.Errorf("got %v; want unreachable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s; the context should bound the retries", d)
	}
}

func TestMerge(t *testing.T) {
	parse := func(ss ...string) []Expectation {
		var out []Expectation
		for _, s := range ss {
			e, err := ParseExpectation(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, e)
		}
		return out
	}
	tests := map[string]struct {
		user, want, replaced []string
	}{
		"none":               {want: []string{"allow:workflows/list", "deny:workflowtemplates/list"}},
		"one more":           {user: []string{"allow:workflows/create"}, want: []string{"allow:workflows/list", "deny:workflowtemplates/list", "allow:workflows/create"}},
		"default restated":   {user: []string{"allow:workflows"}, want: []string{"allow:workflows/list", "deny:workflowtemplates/list"}},
		"default overridden": {user: []string{"allow:workflowtemplates"}, want: []string{"allow:workflows/list", "allow:workflowtemplates/list"}, replaced: []string{"deny:workflowtemplates/list"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, replaced := Merge(DefaultExpectations, parse(tc.user...))
			str := func(es []Expectation) []string {
				var out []string
				for _, e := range es {
					out = append(out, e.String())
				}
				return out
			}
			if diff := cmp.Diff(tc.want, str(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.replaced, str(replaced)); diff != "" {
				t.Errorf("replaced (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseExpectation: an accepted expectation is one the probe can run (a
// known resource; list, or create on workflows), prints as the input with
// the verb list made explicit, and that string parses back to itself.
func FuzzParseExpectation(f *testing.F) {
	for _, s := range []string{"allow:workflows/list", "deny:workflowtemplates", "allow:workflows/create", "x:y/z", "allow:",
		"allow:workflows/delete", "allow:pods/log/get", "allow:pods/log", "deny:pods/", "allow://get", "allow:pods//get"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpectation(s)
		if err != nil {
			return
		}
		if !slices.Contains(known(), e.Resource) || !slices.Contains(rbacVerbs, e.Verb) || !Checkable(e.Resource, e.Verb) && !reviewable(e) {
			t.Fatalf("%q accepted as %+v", s, e)
		}
		// As written, or without the verb list (or only its name).
		in := strings.TrimSpace(s)
		if in != e.String() && (e.Verb != "list" || in != strings.TrimSuffix(e.String(), "/list") && in != strings.TrimSuffix(e.String(), "list")) {
			t.Fatalf("%q accepted as %q", s, e.String())
		}
		back, err := ParseExpectation(e.String())
		if err != nil || back != e {
			t.Fatalf("%q -> %v -> %q -> %v, %v", s, e, e.String(), back, err)
		}
	})
}

// A token the server decodes (client mode reports a JWT's subject without
// checking it) but the cluster rejects: the identity row is not ok, and it
// says why instead of repeating the expected subject.
func TestRejectedIdentityRow(t *testing.T) {
	srv, _ := fakeArgo(t, func(int) (int, string) { return 401, `{"code":16,"message":"Unauthorized"}` })
	r, err := Run(context.Background(), cfgFor(srv))
	if exitcode.Of(err) != exitcode.TokenRejected {
		t.Fatalf("got %v; want token rejected", err)
	}
	want := Check{Name: "identity", Expected: "system:serviceaccount:ci:ci", Actual: "rejected (401 on workflows/list)", Message: "Unauthorized"}
	got := *r.Identity()
	got.LatencyMS, got.Attempts, got.GRPCCode, got.HTTPStatus = 0, 0, "", 0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("identity row (-want +got):\n%s", diff)
	}
}

// The Argo Server's gatekeeper answers a bearer token that no auth mode
// takes (sso mode alone) with 401 "token not valid" and no version header:
// that is a rejected token and why, not "not an Argo Server".
func TestSSOOnlyAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Grpc-Metadata-Content-Type", "application/grpc")
		w.WriteHeader(401)
		fmt.Fprint(w, `{"code":16,"message":"token not valid. see https://argo-workflows.readthedocs.io/en/latest/faq/"}`)
	}))
	t.Cleanup(srv.Close)
	r, err := Run(context.Background(), cfgFor(srv))
	if exitcode.Of(err) != exitcode.TokenRejected || !strings.Contains(err.Error(), "whose --auth-mode is sso alone") || !strings.Contains(exitcode.Hint(err), "--auth-mode client") {
		t.Fatalf("got %v (hint %q); want token rejected, naming sso mode and client mode", err, exitcode.Hint(err))
	}
	if len(r.Checks) != 2 || r.Identity().OK || !strings.HasPrefix(r.Identity().Actual, "rejected (401)") {
		t.Errorf("checks %+v", r.Checks)
	}
}
