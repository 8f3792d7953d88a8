package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// LatencyProxy is an HTTP/1 reverse proxy to target that holds every
// request for delay first.
func LatencyProxy(t testing.TB, target string, delay time.Duration) string {
	return proxy(t, target, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		select {
		case <-time.After(delay):
			next.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	})
}

// HoldProxy is an HTTP/1 reverse proxy to target that forwards every
// request except those hold picks: it keeps each of those unanswered until
// its client gives up (or the test ends). holding is closed when it first
// keeps one, so a test knows its client is waiting on the server.
func HoldProxy(t testing.TB, target string, hold func(*http.Request) bool) (addr string, holding <-chan struct{}) {
	t.Helper()
	first := make(chan struct{})
	var once sync.Once
	end := make(chan struct{})
	addr = proxy(t, target, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if !hold(r) {
			next.ServeHTTP(w, r)
			return
		}
		once.Do(func() { close(first) })
		select {
		case <-r.Context().Done():
		case <-end:
		}
	})
	// Registered after proxy's, so it runs first: the server's Close waits
	// for the requests held here.
	t.Cleanup(func() { close(end) })
	return addr, first
}

// KubeHoldProxy serves the stack's Kubernetes API on plain HTTP, with the
// stack's admin credentials, and returns a kubeconfig for it. It forwards
// every request; a request hold picks is forwarded and answered by the API
// server, but the answer is kept from the client until it gives up (or the
// test ends): a change is made that the client never hears of. holding is
// closed once the first such answer is in.
func (s *Stack) KubeHoldProxy(t testing.TB, hold func(*http.Request) bool) (kubeconfig string, holding <-chan struct{}) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	upstream, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	host, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(host) },
		Transport:     upstream,
		FlushInterval: -1, // watches stream
	}
	first := make(chan struct{})
	var once sync.Once
	end := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hold(r) {
			rp.ServeHTTP(w, r)
			return
		}
		// Forwarded whatever the client does meanwhile, so the change is
		// made for sure; then the answer is dropped.
		out := r.Clone(context.WithoutCancel(r.Context()))
		out.RequestURI = ""
		out.URL.Scheme, out.URL.Host, out.Host = host.Scheme, host.Host, host.Host
		if resp, err := upstream.RoundTrip(out); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		once.Do(func() { close(first) })
		select {
		case <-r.Context().Done():
		case <-end:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(end) }) // first: Close waits for held requests
	kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	body := fmt.Sprintf(`{"apiVersion":"v1","kind":"Config","clusters":[{"name":"proxy","cluster":{"server":%q}}],"users":[{"name":"proxy","user":{}}],"contexts":[{"name":"proxy","context":{"cluster":"proxy","user":"proxy"}}],"current-context":"proxy"}`, srv.URL)
	if err := os.WriteFile(kubeconfig, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return kubeconfig, first
}

// TruncatingProxy answers every request with the target's status and
// headers but only the first half of its body, then drops the connection.
func TruncatingProxy(t testing.TB, target string) string {
	return proxy(t, target, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := &bodyRecorder{header: http.Header{}}
		next.ServeHTTP(rec, r)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body[:len(rec.body)/2])
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
	})
}

type bodyRecorder struct {
	header http.Header
	status int
	body   []byte
}

func (b *bodyRecorder) Header() http.Header  { return b.header }
func (b *bodyRecorder) WriteHeader(code int) { b.status = code }
func (b *bodyRecorder) Write(p []byte) (int, error) {
	b.body = append(b.body, p...)
	return len(p), nil
}

// ResetProxy accepts TCP connections and resets each at once: a proxy or
// load balancer that drops its backends. It counts the connections.
func ResetProxy(t testing.TB) (addr string, conns func() int) {
	t.Helper()
	l := loopback(t)
	var n atomic.Int64
	acceptEach(t, l, func(c net.Conn) []net.Conn {
		n.Add(1)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		c.Close()
		return nil
	})
	return l.Addr().String(), func() int { return int(n.Load()) }
}

// ExpiredTLS serves the Argo API's answers from target over TLS with a
// certificate that expired yesterday, and returns its address and the CA
// file that signed it (so that only the expiry is wrong).
func ExpiredTLS(t testing.TB, target string) (addr, caFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fault test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(48 * time.Hour)}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, _ := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(strings.TrimSuffix(target, "/") + r.URL.RequestURI())
		if err != nil {
			w.WriteHeader(502)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})}
	go func() { _ = srv.Serve(l) }()
	bounded(t, func() { _ = srv.Close() })
	return l.Addr().String(), caFile
}

// SocketProxy forwards a unix socket to another (the Docker engine's) and
// returns its path and a function that cuts every connection, as if the
// engine had stopped.
func SocketProxy(t testing.TB, target string) (path string, cut func()) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	cut = acceptEach(t, l, func(c net.Conn) []net.Conn {
		up, err := net.Dial("unix", target)
		if err != nil {
			c.Close()
			return nil
		}
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
		return []net.Conn{c, up}
	})
	return path, cut
}
