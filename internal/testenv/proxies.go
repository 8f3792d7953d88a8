package testenv

// Proxies between a client and the stack, each for one kind of test.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// HTTP1Proxy starts an HTTP/1-only reverse proxy to target on 127.0.0.1, as
// an ingress that cannot carry gRPC would be, and returns its host:port.
func HTTP1Proxy(t testing.TB, target string) string {
	return proxy(t, target, func(w http.ResponseWriter, r *http.Request, next http.Handler) { next.ServeHTTP(w, r) })
}

// FaultProxy is HTTP1Proxy that answers request n (from 1) itself with the
// status fault(n) returns, in the Argo API's error form, instead of passing
// it on; 0 passes it on.
func FaultProxy(t testing.TB, target string, fault func(n int) int) string {
	var mu sync.Mutex
	n := 0
	return proxy(t, target, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		mu.Lock()
		n++
		code := fault(n)
		mu.Unlock()
		if code == 0 {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		grpcCode := map[int]int{429: 8, 503: 14}[code]
		fmt.Fprintf(w, `{"code":%d,"message":"injected by the test proxy"}`, grpcCode)
	})
}

// StripBearerProxy is an HTTP/1 reverse proxy to target that removes the
// "Bearer " prefix from the Authorization header, as a misconfigured ingress
// might: in front of a hybrid-mode Argo Server, requests then run as the
// server's own service account.
func StripBearerProxy(t testing.TB, target string) string {
	return proxy(t, target, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		r.Header.Set("Authorization", strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		next.ServeHTTP(w, r)
	})
}

// proxy starts an HTTP/1 server on 127.0.0.1 whose handle sees each request
// before (or instead of) a reverse proxy to target, and returns its host:port.
func proxy(t testing.TB, target string, handle func(w http.ResponseWriter, r *http.Request, next http.Handler)) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	next := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handle(w, r, next) }))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}
