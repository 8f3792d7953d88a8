package env

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

func ptr(b bool) *bool { return &b }

func TestParseServer(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    Server
		wantErr string
	}{
		"host port":     {in: "argo.example.com:2746", want: Server{HostPort: "argo.example.com:2746"}},
		"ipv4":          {in: "127.0.0.1:2746", want: Server{HostPort: "127.0.0.1:2746"}},
		"ipv6":          {in: "[::1]:2746", want: Server{HostPort: "[::1]:2746"}},
		"https":         {in: "https://argo.example.com:443", want: Server{HostPort: "argo.example.com:443", Secure: ptr(true), Note: "ARGO_SERVER given as a URL: using argo.example.com:443 with ARGO_SECURE=true"}},
		"http slash":    {in: "http://127.0.0.1:2746/", want: Server{HostPort: "127.0.0.1:2746", Secure: ptr(false), Note: "ARGO_SERVER given as a URL: using 127.0.0.1:2746 with ARGO_SECURE=false"}},
		"empty":         {in: "", wantErr: "no argo server given"},
		"no port":       {in: "argo.example.com", wantErr: `invalid argo server "argo.example.com": want host:port`},
		"https no port": {in: "https://argo.example.com", want: Server{HostPort: "argo.example.com:443", Secure: ptr(true), Note: "ARGO_SERVER given as a URL: using argo.example.com:443 with ARGO_SECURE=true"}},
		"http no port":  {in: "http://argo.example.com/", want: Server{HostPort: "argo.example.com:80", Secure: ptr(false), Note: "ARGO_SERVER given as a URL: using argo.example.com:80 with ARGO_SECURE=false"}},
		"v6 no port":    {in: "https://[::1]", want: Server{HostPort: "[::1]:443", Secure: ptr(true), Note: "ARGO_SERVER given as a URL: using [::1]:443 with ARGO_SECURE=true"}},
		"path":          {in: "https://argo.example.com:443/argo", wantErr: "a path is not allowed"},
		"bare path":     {in: "argo.example.com:443/argo", wantErr: "a path is not allowed"},
		"ftp":           {in: "ftp://argo:21", wantErr: "scheme must be http or https"},
		"port zero":     {in: "argo:0", wantErr: "port must be a number from 1 to 65535"},
		"port big":      {in: "argo:70000", wantErr: "port must be a number"},
		"newline":       {in: "argo:2746\nexport X=1", wantErr: "white space or control characters"},
		"user info":     {in: "https://u:p@argo:443", wantErr: "only scheme, host and port"},
		"garbage":       {in: "::::", wantErr: "want host:port"},
		"empty host":    {in: ":2746", wantErr: "bad host"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseServer(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v; want one containing %q", err, tc.wantErr)
				}
				if exitcode.Of(err) != exitcode.Usage {
					t.Errorf("got exit code %d; want %d", exitcode.Of(err), exitcode.Usage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// The argo CLI's own parsing: ARGO_HTTP1 and ARGO_INSECURE_SKIP_VERIFY are
// true only when exactly "true"; ARGO_SECURE is true unless exactly "false".
func TestArgoBooleans(t *testing.T) {
	for _, v := range []string{"true", "True", "TRUE", "1", "yes", "", "false"} {
		var et ExactTrue
		var nf NotFalse
		_ = et.Decode(v)
		_ = nf.Decode(v)
		if got, want := bool(et), v == "true"; got != want {
			t.Errorf("ExactTrue(%q) = %t; want %t", v, got, want)
		}
		if got, want := bool(nf), v != "false"; got != want {
			t.Errorf("NotFalse(%q) = %t; want %t", v, got, want)
		}
	}
}

func TestParseBaseHRef(t *testing.T) {
	for in, want := range map[string]string{"": "", "/argo": "/argo", "/argo/": "/argo"} {
		got, err := ParseBaseHRef(in)
		if err != nil || got != want {
			t.Errorf("ParseBaseHRef(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"argo", "/a b", "/a?x"} {
		if _, err := ParseBaseHRef(in); err == nil {
			t.Errorf("ParseBaseHRef(%q): want an error", in)
		}
	}
}
