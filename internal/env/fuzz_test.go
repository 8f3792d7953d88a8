package env

import (
	"net"
	"net/url"
	"strings"
	"testing"
)

// FuzzParseServer: an accepted server is a clean host:port that argo's gRPC
// dialer and a URL can both take; it is what was given (host:port as is; a
// URL's host with its port, or the scheme's), and parsing it again gives
// it back unchanged.
func FuzzParseServer(f *testing.F) {
	for _, s := range []string{"a:1", "https://a:443", "http://[::1]:80/", "a:1\nb", "a:1/x", "::::", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		srv, err := ParseServer(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(srv.HostPort, " \t\r\n\x00/?#@") || strings.Contains(srv.HostPort, "://") {
			t.Fatalf("accepted %q as %q", s, srv.HostPort)
		}
		host, port, err := net.SplitHostPort(srv.HostPort)
		if err != nil {
			t.Fatalf("accepted %q: %v", s, err)
		}
		again, err := ParseServer(srv.HostPort)
		if err != nil || again.HostPort != srv.HostPort || again.Secure != nil || again.Note != "" {
			t.Fatalf("%q accepted as %q, which parses as %+v, %v", s, srv.HostPort, again, err)
		}
		if !strings.Contains(s, "://") {
			if srv.HostPort != s || srv.Secure != nil {
				t.Fatalf("host:port %q accepted as %+v", s, srv)
			}
			return
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("URL %q accepted, but url.Parse: %v", s, err)
		}
		wantPort := u.Port()
		if wantPort == "" {
			wantPort = map[string]string{"https": "443", "http": "80"}[u.Scheme]
		}
		if srv.Secure == nil || *srv.Secure != (u.Scheme == "https") || host != u.Hostname() || port != wantPort || srv.Note == "" {
			t.Fatalf("URL %q accepted as %+v (secure %v)", s, srv, srv.Secure != nil && *srv.Secure)
		}
	})
}
