package testenv

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Hostile servers misbehave on purpose, on 127.0.0.1, for as long as the
// test that started them (and never longer than hostileLifetime). Each
// records every request that reached it, so a test can assert on what a
// server the user never trusted received.
const hostileLifetime = 10 * time.Minute

// Seen is one request a hostile server received.
type Seen struct {
	Proto, Method, Path string
	Header              http.Header // for gRPC, the metadata
	TLS                 bool
}

// Recorder collects what arrived.
type Recorder struct {
	mu   sync.Mutex
	seen []Seen
}

func (r *Recorder) add(s Seen) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, s)
}

// Requests returns what arrived so far.
func (r *Recorder) Requests() []Seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// Leaks returns the requests that carried any form of any secret (as is,
// without "Bearer ", base64) in a header or the path.
func (r *Recorder) Leaks(secrets ...string) []Seen {
	var forms []string
	for _, s := range secrets {
		raw := strings.TrimPrefix(s, "Bearer ")
		forms = append(forms, raw, base64.StdEncoding.EncodeToString([]byte(raw)), base64.RawURLEncoding.EncodeToString([]byte(raw)))
	}
	var out []Seen
	for _, s := range r.Requests() {
		text := s.Path
		for k, vs := range s.Header {
			text += "\n" + k + ": " + strings.Join(vs, ",")
		}
		for _, f := range forms {
			if f != "" && strings.Contains(text, f) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

func (r *Recorder) record(req *http.Request) {
	r.add(Seen{Proto: req.Proto, Method: req.Method, Path: req.URL.RequestURI(), Header: req.Header.Clone(), TLS: req.TLS != nil})
}

// Hostile is a running hostile server.
type Hostile struct {
	Addr string // host:port
	URL  string // with scheme
	*Recorder
}

func bounded(t testing.TB, stop func()) {
	timer := time.AfterFunc(hostileLifetime, stop)
	t.Cleanup(func() { timer.Stop(); stop() })
}

// acceptEach hands every connection l accepts to handle, which returns
// the connections to hold open. stop closes l and them; it runs at the
// test's cleanup, or after hostileLifetime, at the latest.
func acceptEach(t testing.TB, l net.Listener, handle func(net.Conn) []net.Conn) (stop func()) {
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			keep := handle(c)
			mu.Lock()
			held = append(held, keep...)
			mu.Unlock()
		}
	}()
	stop = func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}
	bounded(t, stop)
	return stop
}

// HTTPServer serves h over plain HTTP/1 (TLS false) or TLS with a
// certificate of httptest's own throwaway CA (TLS true), recording every
// request first.
func HTTPServer(t testing.TB, useTLS bool, h http.HandlerFunc) *Hostile {
	t.Helper()
	rec := &Recorder{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.record(r)
		h(w, r)
	}))
	if useTLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	bounded(t, srv.Close)
	return &Hostile{Addr: srv.Listener.Addr().String(), URL: srv.URL, Recorder: rec}
}

// ArgoError answers like the Argo API's HTTP/1 errors do.
func ArgoError(w http.ResponseWriter, httpStatus int, code codes.Code, msg string) {
	w.Header().Set("Grpc-Metadata-Argo-Version", "v3.7.9")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	m, _ := json.Marshal(msg)
	fmt.Fprintf(w, `{"code":%d,"message":%s}`, code, m)
}

// PlainOnly drops every connection that opens with a TLS hello and serves
// plain HTTP/1 to the rest, answering 401: a server on the path that resets
// TLS in the hope that the client falls back to cleartext.
func PlainOnly(t testing.TB) *Hostile {
	t.Helper()
	rec := &Recorder{}
	l := loopback(t)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.record(r)
		ArgoError(w, 401, codes.Unauthenticated, "token not valid")
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(&dropTLS{Listener: l}) }()
	bounded(t, func() { _ = srv.Close() })
	return &Hostile{Addr: l.Addr().String(), URL: "http://" + l.Addr().String(), Recorder: rec}
}

// dropTLS accepts connections and resets those whose first byte starts a
// TLS record (0x16, handshake).
type dropTLS struct{ net.Listener }

func (d *dropTLS) Accept() (net.Conn, error) {
	for {
		c, err := d.Listener.Accept()
		if err != nil {
			return nil, err
		}
		br := bufio.NewReader(c)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		first, err := br.Peek(1)
		_ = c.SetReadDeadline(time.Time{})
		if err != nil || first[0] == 0x16 {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // a reset, not a clean close
			}
			c.Close()
			continue
		}
		return &peeked{Conn: c, r: br}, nil
	}
}

type peeked struct {
	net.Conn
	r *bufio.Reader
}

func (p *peeked) Read(b []byte) (int, error) { return p.r.Read(b) }

// NoH2 serves HTTP/1 over TLS with a certificate of its own throwaway CA and
// aborts every handshake that offers ALPN h2 (as gRPC's does), so a client
// that retries over HTTP/1, and does not check the certificate, gets an
// answer.
func NoH2(t testing.TB) *Hostile {
	t.Helper()
	rec := &Recorder{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.record(r)
		ArgoError(w, 401, codes.Unauthenticated, "token not valid")
	}))
	srv.TLS = &tls.Config{
		NextProtos: []string{"http/1.1"},
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			if slices.Contains(hello.SupportedProtos, "h2") {
				hello.Conn.Close() // dropped, no alert: the client sees only EOF
				return nil, fmt.Errorf("no h2 here")
			}
			return nil, nil
		},
	}
	srv.StartTLS()
	bounded(t, srv.Close)
	return &Hostile{Addr: srv.Listener.Addr().String(), URL: srv.URL, Recorder: rec}
}

// Redirect answers every request with a 307 to location plus the request's
// path, the way a login page or a moved server would.
func Redirect(t testing.TB, useTLS bool, location string) *Hostile {
	t.Helper()
	return HTTPServer(t, useTLS, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, location+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	})
}

// EndlessBody answers 200 with the Argo version header and a JSON body that
// never ends, as fast as the client reads it.
func EndlessBody(t testing.TB) *Hostile {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return HTTPServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Grpc-Metadata-Argo-Version", "v3.7.9")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, `{"subject":"`)
		chunk := []byte(strings.Repeat("a", 64<<10))
		for ctx.Err() == nil && r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
}

// FakeArgo answers like an Argo Server in client mode would, with
// server-supplied text chosen by the test: userinfo reports subject,
// listing workflows is allowed, and every other list is denied with
// message. The version header is version.
func FakeArgo(t testing.TB, subject, version, message string) *Hostile {
	t.Helper()
	return HTTPServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/v1/userinfo":
			w.Header().Set("Grpc-Metadata-Argo-Version", version)
			s, _ := json.Marshal(subject)
			fmt.Fprintf(w, `{"subject":%s}`, s)
		case strings.HasPrefix(r.URL.Path, "/api/v1/workflows/"):
			w.Header().Set("Grpc-Metadata-Argo-Version", version)
			fmt.Fprint(w, `{"metadata":{}}`)
		default:
			ArgoError(w, 403, codes.PermissionDenied, message)
		}
	})
}

// EchoAuth answers every HTTP/1 request with 401 and an error message that
// repeats the Authorization header and every other header, raw and in
// base64, with control characters and a workflow command: a server or
// proxy that puts the caller's credential into its error text.
func EchoAuth(t testing.TB) *Hostile {
	t.Helper()
	return HTTPServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		ArgoError(w, 401, codes.Unauthenticated, echo(r.Header.Get("Authorization"), r.Header))
	})
}

func echo(auth string, headers map[string][]string) string {
	var all []string
	for k, v := range headers {
		all = append(all, k+"="+strings.Join(v, ","))
	}
	raw := strings.TrimPrefix(auth, "Bearer ")
	return "rejected " + auth + "\n::error::raw=" + raw + " b64=" + base64.StdEncoding.EncodeToString([]byte(raw)) +
		"\x1b[31m headers " + strings.Join(all, ";")
}

// GRPCEcho is a gRPC server that answers every call with Unauthenticated and
// the echo of the caller's authorization metadata, and an argo-version
// header.
func GRPCEcho(t testing.TB) *Hostile {
	t.Helper()
	rec := &Recorder{}
	l := loopback(t)
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		md, _ := metadata.FromIncomingContext(stream.Context())
		method, _ := grpc.MethodFromServerStream(stream)
		rec.add(Seen{Proto: "grpc", Method: "POST", Path: method, Header: http.Header(md)})
		_ = stream.SetHeader(metadata.Pairs("argo-version", "v3.7.9"))
		auth := ""
		if a := md.Get("authorization"); len(a) > 0 {
			auth = a[0]
		}
		return status.Error(codes.Unauthenticated, echo(auth, md))
	}))
	go func() { _ = srv.Serve(l) }()
	bounded(t, srv.Stop)
	return &Hostile{Addr: l.Addr().String(), URL: "http://" + l.Addr().String(), Recorder: rec}
}

// loopback listens on a free port of 127.0.0.1.
func loopback(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Hang accepts connections and never answers.
func Hang(t testing.TB) *Hostile {
	t.Helper()
	l := loopback(t)
	rec := &Recorder{}
	acceptEach(t, l, func(c net.Conn) []net.Conn {
		rec.add(Seen{Proto: "tcp"}) // a connection held: what a test can wait for
		return []net.Conn{c}
	})
	return &Hostile{Addr: l.Addr().String(), URL: "http://" + l.Addr().String(), Recorder: rec}
}

// SSOGatekeeper is what an Argo Server's gatekeeper (argo-workflows v3.7.9
// server/auth/gatekeeper.go) answers a request whose Authorization none of
// its auth modes takes: in sso mode alone, every bearer token but its own
// login's.
const SSOGatekeeper = "token not valid. see https://argo-workflows.readthedocs.io/en/latest/faq/"

// FakeSSOOnly answers every call as an Argo Server in sso auth mode alone
// answers a bearer token: Unauthenticated with the gatekeeper's message,
// without the version header (set after the gatekeeper), over gRPC or, as
// its grpc-gateway does, over HTTP/1. TestIntegrationSSOOnly holds it to a
// real such server.
func FakeSSOOnly(t testing.TB, overGRPC bool) *Hostile {
	t.Helper()
	if !overGRPC {
		return HTTPServer(t, false, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Grpc-Metadata-Content-Type", "application/grpc")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			m, _ := json.Marshal(SSOGatekeeper)
			fmt.Fprintf(w, `{"code":%d,"message":%s}`, codes.Unauthenticated, m)
		})
	}
	rec := &Recorder{}
	l := loopback(t)
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		md, _ := metadata.FromIncomingContext(stream.Context())
		method, _ := grpc.MethodFromServerStream(stream)
		rec.add(Seen{Proto: "grpc", Method: "POST", Path: method, Header: http.Header(md)})
		return status.Error(codes.Unauthenticated, SSOGatekeeper)
	}))
	go func() { _ = srv.Serve(l) }()
	bounded(t, srv.Stop)
	return &Hostile{Addr: l.Addr().String(), URL: "http://" + l.Addr().String(), Recorder: rec}
}

// SSOOnly starts a real Argo Server in sso auth mode alone (--auth-mode
// sso), with its configuration in a namespace of its own: SSO against the
// stack's OIDC issuer, which it reads at start. No one logs in; what
// counts is how it answers a bearer token, which only client mode takes:
// 401 "token not valid", from the gatekeeper, before the version header.
func (s *Stack) SSOOnly(t testing.TB) *ArgoServer {
	t.Helper()
	ns := s.Namespace(t)
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sso-client"}, StringData: map[string]string{"id": "argo", "secret": "not-used"}}
	if _, err := s.Client.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sso := fmt.Sprintf("issuer: %s\nclientId: {name: sso-client, key: id}\nclientSecret: {name: sso-client, key: secret}\n"+
		"redirectUrl: http://127.0.0.1:1/oauth2/callback\ninsecureSkipVerify: true\n", s.OIDCIssuer)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "argo-sso-only"}, Data: map[string]string{"sso": sso}}
	if _, err := s.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return s.StartArgoServer(t, "--auth-mode", "sso", "--namespace", ns, "--configmap", "argo-sso-only")
}
