package credential

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/testenv"
	"github.com/argo-cred/argo-cred/internal/token"
)

// An Argo Server that accepts each token for its first accepted requests,
// then rejects it with 401, as one does while kube-apiserver's cache of a
// deleted token's check lags.
func lagging(t *testing.T, accepted int) *testenv.Hostile {
	var mu sync.Mutex
	seen := map[string]int{}
	return testenv.HTTPServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("Authorization")]++
		n := seen[r.Header.Get("Authorization")]
		mu.Unlock()
		if accepted >= 0 && n > accepted {
			testenv.ArgoError(w, 401, codes.Unauthenticated, "token not valid")
			return
		}
		w.Header().Set("Grpc-Metadata-Argo-Version", "v3.7.9")
		if strings.HasPrefix(r.URL.Path, "/api/v1/workflows/") {
			fmt.Fprint(w, `{"metadata":{}}`)
			return
		}
		testenv.ArgoError(w, 403, codes.PermissionDenied, "no")
	})
}

func TestProveRejected(t *testing.T) {
	defer func(d time.Duration) { rejectWithin = d }(rejectWithin)
	rejectWithin = 2 * time.Second
	tokens := func(n int) []token.Token {
		var out []token.Token
		for i := range n {
			tok, err := token.New(fmt.Sprintf("revoked-%d", i), "secret", fmt.Sprintf("secret ci/t-%d", i))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, tok)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		accepted int // requests each token is accepted for; -1: always
		tokens   int
		want     exitcode.Code
		wantText string
	}{
		{"no token", 0, 0, exitcode.OK, ""},
		{"rejected at once", 0, 2, exitcode.OK, ""},
		{"rejected after a lag", 2, 1, exitcode.OK, ""},
		{"still accepted", -1, 1, exitcode.ExcessAccess, "a revoked token (secret ci/t-0) is still accepted after 2s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := lagging(t, tc.accepted)
			cfg := ProbeConfig(env.Settings{Server: srv.Addr, HTTP1: true}, nil, "argo-cred/test")
			_, err := ProveRejected(context.Background(), cfg, "ci", 5*time.Second, tokens(tc.tokens))
			if got := exitcode.Of(err); got != tc.want || (tc.wantText != "" && (err == nil || err.Error() != tc.wantText)) {
				t.Errorf("got %v (exit code %d); want exit code %d %q", err, got, tc.want, tc.wantText)
			}
		})
	}
}
