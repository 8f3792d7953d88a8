package token

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

func jwtWith(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(b) + ".c2ln"
}

// The runner's ID-token endpoint, hostile or flaky: the request token goes
// nowhere else (no redirect is followed), answers are bounded, 5xx is
// retried and 4xx is not.
func TestFromGitHubOIDC(t *testing.T) {
	good := jwtWith(map[string]any{"aud": "argo-cred", "exp": time.Now().Add(5 * time.Minute).Unix(), "sub": "repo:o/r:ref:refs/heads/main"})
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	tests := map[string]struct {
		handler   func(n int32, w http.ResponseWriter, r *http.Request)
		wantCalls int32
		wantErr   string
	}{
		"ok": {handler: func(_ int32, w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "bearer rq-secret-0xDEADBEEF" || r.URL.Query().Get("audience") != "argo-cred" || r.URL.Query().Get("api-version") != "2.0" {
				http.Error(w, "bad", 400)
				return
			}
			fmt.Fprintf(w, `{"value":%q}`, good)
		}, wantCalls: 1},
		"503 then ok": {handler: func(n int32, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				w.WriteHeader(503)
				return
			}
			fmt.Fprintf(w, `{"value":%q}`, good)
		}, wantCalls: 2},
		"401 not retried": {handler: func(_ int32, w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) }, wantCalls: 1, wantErr: "HTTP 401"},
		"redirect not followed": {handler: func(_ int32, w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL, http.StatusFound)
		}, wantCalls: 1, wantErr: "HTTP 302"},
		"huge answer": {handler: func(_ int32, w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"value":"%s"}`, strings.Repeat("a", 1<<20))
		}, wantCalls: 1, wantErr: "larger than"},
		"no value": {handler: func(_ int32, w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{}`) }, wantCalls: 1, wantErr: "no token"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tc.handler(calls.Add(1), w, r) }))
			defer srv.Close()
			tok, err := FromGitHubOIDC(context.Background(), GitHubRequest{URL: srv.URL + "/idtoken?api-version=2.0", Token: "rq-secret-0xDEADBEEF"}, "argo-cred")
			if tc.wantErr == "" && (err != nil || tok.Raw() != good) {
				t.Fatalf("got %v; want the token", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || exitcode.Of(err) != exitcode.TokenUnavailable) {
				t.Fatalf("got %v; want exit 3 with %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "rq-secret") {
				t.Errorf("the request token is in the error: %v", err)
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("%d calls; want %d", got, tc.wantCalls)
			}
		})
	}
	if elsewhere.Load() != 0 {
		t.Error("a redirect was followed")
	}
	if _, err := FromGitHubOIDC(context.Background(), GitHubRequest{}, "a"); err == nil || !strings.Contains(err.Error(), "may not request an OIDC token") {
		t.Errorf("no request variables: %v", err)
	}
}

func TestCheckOIDC(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tok := func(claims map[string]any) Token {
		t, _ := New(jwtWith(claims), "github-oidc", "the job's token")
		return t
	}
	tests := map[string]struct {
		claims  map[string]any
		wantErr string
	}{
		"ok":             {claims: map[string]any{"aud": "a", "exp": now.Unix() + 300}},
		"aud list":       {claims: map[string]any{"aud": []string{"x", "a"}, "exp": now.Unix() + 300}},
		"wrong audience": {claims: map[string]any{"aud": "b", "exp": now.Unix() + 300}, wantErr: "is for audience b, not a"},
		"no exp":         {claims: map[string]any{"aud": "a"}, wantErr: "no exp claim"},
		"too short":      {claims: map[string]any{"aud": "a", "exp": now.Unix() + 30}, wantErr: "expires in 30s, less than --min-lifetime 1m0s"},
		"expired":        {claims: map[string]any{"aud": "a", "exp": now.Unix() - 30}, wantErr: "expires in 0s"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := CheckOIDC(tok(tc.claims), "a", time.Minute, now)
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("got %v; want %q", err, tc.wantErr)
			}
		})
	}
}
