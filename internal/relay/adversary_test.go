package relay

// Adversarial tests of the relay: hostile Argo Servers, other local
// processes, and the real argo CLI behind the relay.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/argo-cred/argo-cred/internal/testenv"
	"github.com/argo-cred/argo-cred/internal/token"
)

type tokenT = token.Token

// mustToken is an unsigned JWT of claims.
func mustToken(t testing.TB, claims []byte) token.Token {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	tok, err := token.New(enc([]byte(`{"alg":"RS256"}`))+"."+enc(claims)+".c2ln", "tokenrequest", "test")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// percentAll percent-encodes every byte of s, as a gRPC server may: grpc-go
// decodes any %XX in grpc-message (decodeGrpcMessage).
func percentAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// statusProto is a google.rpc.Status{code, message}, protobuf-encoded by
// hand, as a server puts it in grpc-status-details-bin.
func statusProto(code int, message string) []byte {
	b := []byte{0x08, byte(code), 0x12}
	n := len(message)
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	b = append(b, byte(n))
	return append(b, message...)
}

// argoBehind runs the real argo CLI (the stack's) against the relay r,
// with the per-run value, as exec gives it; its combined output.
func argoBehind(t *testing.T, r *Relay, extraEnv []string, args ...string) string {
	t.Helper()
	s := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.ArgoBin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "KUBECONFIG=/dev/null",
		"ARGO_SERVER=" + r.Server(), "ARGO_TOKEN=" + r.Authorization(), "ARGO_SECURE=false", "ARGO_NAMESPACE=argo"}, extraEnv...)
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// TestAdversaryArgoPrintsTokenFromGrpcError: a hostile Argo Server answers
// every gRPC call with an error whose text is the token it was sent, in
// the forms grpc-go (and so argo) decodes: grpc-message percent-encoded
// byte by byte, and grpc-status-details-bin (a google.rpc.Status whose
// message grpc-go prints instead of grpc-message), in a trailers-only
// answer and in trailers. The relay's header redaction looks only for the
// token's literal forms, so argo prints the real token, which the relay
// exists to keep from it.
func TestAdversaryArgoPrintsTokenFromGrpcError(t *testing.T) {
	real := jwt(t, "system:serviceaccount:argo:ci", 0, time.Hour)
	for name, h := range map[string]func(w http.ResponseWriter, r *http.Request){
		"grpc-message percent-encoded, trailers-only": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Grpc-Status", "7")
			w.Header().Set("Grpc-Message", percentAll("denied: "+r.Header.Get("Authorization")))
			w.WriteHeader(http.StatusOK)
		},
		"grpc-message percent-encoded, trailers": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			w.Header().Set("Grpc-Status", "7")
			w.Header().Set("Grpc-Message", percentAll("denied: "+r.Header.Get("Authorization")))
		},
		"grpc-status-details-bin": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Grpc-Status", "7")
			w.Header().Set("Grpc-Message", "denied")
			// 5 bytes of protobuf and "denied: " put the token off
			// base64's 3-byte grid, so none of its base64 forms is a
			// substring of the header.
			raw := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			w.Header().Set("Grpc-Status-Details-Bin", base64.RawStdEncoding.EncodeToString(statusProto(7, "denied: "+raw+" .")))
			w.WriteHeader(http.StatusOK)
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv, _ := upstream(t, h)
			var notes []string
			r := start(t, srv, NewKeeper(real, false, nil, nil), &notes)
			out := argoBehind(t, r, nil, "list")
			if strings.Contains(out, real.Raw()) {
				t.Errorf("argo printed the real token the hostile server sent back:\n%s", out)
			}
		})
	}
}

// TestAdversaryArgoHTTP1PrintsTokenFromErrorBody: over HTTP/1 (ARGO_HTTP1)
// argo prints the message of an error's JSON body; the relay passes bodies
// untouched, so a server that echoes the token there (plainly, or with
// JSON's \u escapes, which a byte-level redaction would miss) gets it
// printed.
func TestAdversaryArgoHTTP1PrintsTokenFromErrorBody(t *testing.T) {
	real := jwt(t, "system:serviceaccount:argo:ci", 0, time.Hour)
	for name, escape := range map[string]bool{"plain": false, `\u-escaped`: true} {
		t.Run(name, func(t *testing.T) {
			srv, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
				msg := "denied: " + r.Header.Get("Authorization")
				body, _ := json.Marshal(map[string]any{"code": 7, "message": msg})
				if escape {
					var b strings.Builder
					for _, c := range msg {
						fmt.Fprintf(&b, `\u%04x`, c)
					}
					body = []byte(`{"code":7,"message":"` + b.String() + `"}`)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write(body)
			})
			var notes []string
			r := start(t, srv, NewKeeper(real, false, nil, nil), &notes)
			out := argoBehind(t, r, []string{"ARGO_HTTP1=true"}, "list")
			if strings.Contains(out, real.Raw()) {
				t.Errorf("argo printed the real token the hostile server sent back:\n%s", out)
			}
		})
	}
}

// TestAdversaryLogNoteCarriesServerText: the note the relay prints on
// argo-cred's stderr when a log stream ends with an error holds the
// grpc-status trailer as the server sent it: a GitHub runner command in the
// legacy form (found anywhere in a line) and bidi overrides come through.
func TestAdversaryLogNoteCarriesServerText(t *testing.T) {
	srv, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte{0, 0, 0, 0, 0})
		w.Header().Set("Grpc-Status", "13 ##[set-output name=deploy;]true \u202e")
	})
	var notes []string
	r := start(t, srv, NewKeeper(jwt(t, "s", 0, time.Hour), false, nil, nil), &notes)
	do(t, r, true, "/workflow.WorkflowService/WorkflowLogs", r.Authorization())
	for _, n := range notes {
		if cmds := testenv.RunnerCommands(n); len(cmds) > 0 || strings.ContainsRune(n, '\u202e') {
			t.Errorf("the relay printed server text on stderr: %q (runner commands %v)", n, cmds)
		}
	}
}

// TestAdversaryInformationalHeadersNotRedacted: the relay forwards a 1xx
// answer's headers (httputil.ReverseProxy does) without the redaction its
// final headers and trailers get.
func TestAdversaryInformationalHeadersNotRedacted(t *testing.T) {
	real := jwt(t, "s", 0, time.Hour)
	srv, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo", r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("X-Echo")
		_, _ = io.WriteString(w, "ok")
	})
	var notes []string
	r := start(t, srv, NewKeeper(real, false, nil, nil), &notes)
	for _, h2 := range []bool{false, true} {
		var got []string
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			got = append(got, h.Get("X-Echo"))
			return nil
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, "http://"+r.Server()+"/api/v1/info", nil)
		req.Header.Set("Authorization", r.Authorization())
		res, err := client(h2).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		for _, v := range got {
			if strings.Contains(v, real.Raw()) {
				t.Errorf("h2 %v: a 1xx header carried the real token to the client: %q", h2, v)
			}
		}
	}
}

// alive tells whether the relay still holds c open: a read that times out
// (rather than EOF or a reset) means it does.
func alive(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestAdversaryUnauthenticatedConnectionsHeldOpen: another local process,
// without the per-run value, can hold relay connections open for as long
// as it likes (the relay has no idle timeout and keeps a connection open
// after refusing it), so a few thousand of them exhaust the relay's file
// descriptors and its command's argo can no longer connect. An HTTP/1
// connection refused with 401, and an h2c connection that never sends a
// request, are both still open 15 s later (beyond ReadHeaderTimeout).
func TestAdversaryUnauthenticatedConnectionsHeldOpen(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 15 s")
	}
	srv, got := upstream(t, func(w http.ResponseWriter, r *http.Request) {})
	var notes []string
	r := start(t, srv, NewKeeper(jwt(t, "s", 0, time.Hour), false, nil, nil), &notes)

	h1, err := net.Dial("tcp", r.Server())
	if err != nil {
		t.Fatal(err)
	}
	defer h1.Close()
	_, _ = io.WriteString(h1, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(h1), nil)
	if err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("%v %v", res, err)
	}
	_, _ = io.Copy(io.Discard, res.Body)

	h2, err := net.Dial("tcp", r.Server())
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	// The client preface and an empty SETTINGS frame, then nothing.
	_, _ = io.WriteString(h2, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	_, _ = h2.Write([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0})

	time.Sleep(15 * time.Second)
	if alive(h1) {
		t.Error("an HTTP/1 connection the relay refused (401) is still open 15 s later")
	}
	if alive(h2) {
		t.Error("an h2c connection that sent no request is still open 15 s later")
	}
	if len(*got) != 0 {
		t.Errorf("the server got %d requests", len(*got))
	}
}

// TestAdversaryKeeperRenewsWithoutPause: when the source's clock is behind
// this machine's (by more than two thirds of a token's lifetime: here a
// 10-minute TokenRequest token and an API server 1 h behind), every token
// it gives is already due when it arrives, and the Keeper renews again at
// once, without backoff: a busy loop of TokenRequests (or ID-token
// requests) for as long as the job runs.
func TestAdversaryKeeperRenewsWithoutPause(t *testing.T) {
	skew := -time.Hour
	var calls int
	mint := func(n int) tokenT {
		now := time.Now().Add(skew)
		claims, _ := json.Marshal(map[string]any{"sub": "sa", "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "n": n})
		return mustToken(t, claims)
	}
	k := NewKeeper(mint(0), true, func(context.Context) (tokenT, error) { calls++; return mint(calls), nil }, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	k.Run(ctx)
	if calls > 3 {
		t.Errorf("%d renewals in one second", calls)
	}
}

// TestAdversaryKeeperIdentityIsSubjectOnly: a renewed token of another
// issuer and audience, with the same subject, is taken and sent; so is any
// opaque token after an opaque one (no subject to compare).
func TestAdversaryKeeperIdentityIsSubjectOnly(t *testing.T) {
	mk := func(iss, aud string) tokenT {
		now := time.Now()
		claims, _ := json.Marshal(map[string]any{"iss": iss, "aud": aud, "sub": "repo:org/app:ref:refs/heads/main", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
		return mustToken(t, claims)
	}
	first := mk("https://token.actions.githubusercontent.com", "argo")
	other := mk("https://evil.example", "vault")
	k := NewKeeper(first, true, func(context.Context) (tokenT, error) { return other, nil }, nil)
	if next, ok := k.Rejected(context.Background(), first.Bearer()); ok && next == other.Bearer() {
		t.Error("a renewed token of another issuer and audience (the same sub) is used")
	}
}

// A server that keeps a response's headers or trailers coming: HTTP/1
// chunked trailers and HTTP/2 trailers beyond 64 KiB are refused (held).
func TestAdversaryEndlessTrailersBounded(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		srv, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Big")
			_, _ = io.WriteString(w, "ok")
			w.(http.Flusher).Flush()
			w.Header().Set("X-Big", strings.Repeat("a", 8<<20))
		})
		var notes []string
		r := start(t, srv, NewKeeper(jwt(t, "s", 0, time.Hour), false, nil, nil), &notes)
		req, _ := http.NewRequest(http.MethodPost, "http://"+r.Server()+"/x", strings.NewReader("b"))
		req.Header.Set("Authorization", r.Authorization())
		if h2 {
			req.Header.Set("Content-Type", "application/grpc")
		}
		res, err := client(h2).Do(req)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if len(res.Trailer.Get("X-Big")) > maxHeader {
			t.Errorf("h2 %v: an 8 MiB trailer passed the relay", h2)
		}
	}
}

// Smuggling: an HTTP/1 request that carries a second one in its body, or
// with both Content-Length and Transfer-Encoding, reaches nothing without
// the per-run value (held).
func TestAdversarySmugglingRefused(t *testing.T) {
	srv, got := upstream(t, func(w http.ResponseWriter, r *http.Request) {})
	var notes []string
	r := start(t, srv, NewKeeper(jwt(t, "s", 0, time.Hour), false, nil, nil), &notes)
	for _, raw := range []string{
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
	} {
		c, err := net.Dial("tcp", r.Server())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, raw)
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		b, _ := io.ReadAll(c)
		c.Close()
		if bytes.Contains(b, []byte("101 Switching")) {
			t.Errorf("%q: switched protocols without the per-run value", raw)
		}
	}
	if len(*got) != 0 {
		t.Errorf("the server got %d requests", len(*got))
	}
}

// h2cPing is an HTTP/2 PING frame.
var h2cPing = []byte{0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}

// keepPinging writes a PING every second until c fails; it reports when.
func keepPinging(c net.Conn) <-chan time.Time {
	done := make(chan time.Time, 1)
	go func() {
		for {
			if _, err := c.Write(h2cPing); err != nil {
				done <- time.Now()
				return
			}
			time.Sleep(time.Second)
		}
	}()
	return done
}

// TestAdversaryRefusedH2cConnectionHeldOpen: an h2c connection whose
// request the relay refused (401) stays open as long as its client sends
// PINGs.
func TestAdversaryRefusedH2cConnectionHeldOpen(t *testing.T) {
	srv, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {})
	var notes []string
	r := start(t, srv, NewKeeper(jwt(t, "s", 0, time.Hour), false, nil, nil), &notes)
	c, err := net.Dial("tcp", r.Server())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	_, _ = c.Write([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0})
	// HEADERS, stream 1, END_STREAM|END_HEADERS: :method GET, :scheme
	// http, :path /, :authority x (HPACK: indexed 2, 6, 4; literal 1).
	block := []byte{0x82, 0x86, 0x84, 0x41, 0x01, 'x'}
	_, _ = c.Write(append([]byte{0, 0, byte(len(block)), 1, 5, 0, 0, 0, 1}, block...))
	go func() { _, _ = io.Copy(io.Discard, c) }()
	select {
	case <-keepPinging(c):
	case <-time.After(5 * time.Second):
		t.Error("an h2c connection the relay refused (401) is still open 5 s later, kept by PINGs")
	}
}

// TestLongAdversaryH2cConnectionWithoutRequest: an h2c connection that
// sends no request but PINGs stays open for good (the relay has no idle
// timeout). In make test-long: it waits for 2.5 minutes.
func TestLongAdversaryH2cConnectionWithoutRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 2.5 minutes")
	}
	srv, _ := upstream(t, func(w http.ResponseWriter, r *http.Request) {})
	var notes []string
	r := start(t, srv, NewKeeper(jwt(t, "s", 0, time.Hour), false, nil, nil), &notes)
	c, err := net.Dial("tcp", r.Server())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	_, _ = c.Write([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0})
	go func() { _, _ = io.Copy(io.Discard, c) }()
	select {
	case <-keepPinging(c):
	case <-time.After(150 * time.Second):
		t.Error("an h2c connection without a request is still open 2.5 minutes later, kept by PINGs")
	}
}
