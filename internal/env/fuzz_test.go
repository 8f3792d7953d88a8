package env

import (
	"net"
	"strings"
	"testing"
)

// FuzzParseServer: an accepted server is a clean host:port that argo's gRPC
// dialer and a URL can both take.
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
		if _, _, err := net.SplitHostPort(srv.HostPort); err != nil {
			t.Fatalf("accepted %q: %v", s, err)
		}
	})
}
