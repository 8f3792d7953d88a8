package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// Second review, finding 7: in GitHub Actions the masks come first on
// stderr whatever the command and format, so a later `set -x` or echo of
// the token is masked by the runner.
func TestHostileMasksInEveryFormat(t *testing.T) {
	t.Parallel()
	base := []string{"ARGO_SERVER=127.0.0.1:1", "ARGO_SECURE=false", "GITHUB_ACTIONS=true"}
	for _, args := range [][]string{
		{"env", "--probe=false"}, {"env", "--probe=false", "--format", "dotenv"}, {"env", "--probe=false", "--format", "json"},
		{"exec", "--probe=false", "--", "true"},
	} {
		r := hostileRun(t, base, args...)
		if r.code != 0 || !strings.HasPrefix(r.stderr, "::add-mask::") || !strings.Contains(r.stderr, "::add-mask::"+hostileToken+"\n") {
			t.Errorf("%v in Actions: exit %d, stderr %q; want the masks first", args, r.code, r.stderr)
		}
	}
	// Outside Actions nothing would mask them: none.
	if r := hostileRun(t, base[:2], "env", "--probe=false"); strings.Contains(r.stderr, "::add-mask::") {
		t.Errorf("masks outside Actions:\n%s", r.stderr)
	}
}

// Finding 12: plain HTTP to a host that is not this machine's loopback
// says that the token goes in clear text; to loopback it says nothing.
func TestHostilePlainHTTPWarning(t *testing.T) {
	t.Parallel()
	for server, warn := range map[string]bool{
		"http://argo.example.com:2746": true, "192.0.2.1:2746": true, "127.0.0.1:2746": false, "localhost:2746": false, "[::1]:2746": false,
		"https://argo.example.com:443": false,
	} {
		r := hostileRun(t, []string{"ARGO_SERVER=" + server, "ARGO_SECURE=false"}, "env", "--probe=false")
		if strings.HasPrefix(server, "https://") {
			r = hostileRun(t, []string{"ARGO_SERVER=" + server}, "env", "--probe=false")
		}
		if r.code != 0 || strings.Contains(r.stderr, "in clear text") != warn {
			t.Errorf("%s: exit %d, want warning %t:\n%s", server, r.code, warn, r.stderr)
		}
	}
}

// Finding 10: without HOME the CA bundle goes to a directory of the user's
// own under the temporary directory, created 0700; one that others may
// write to, or a symlink planted there, is refused.
func TestHostileBundleDirectory(t *testing.T) {
	t.Parallel()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	must(t, os.WriteFile(ca, selfSignedPEM(t), 0o644))
	mine := fmt.Sprintf("argo-cred-%d", os.Getuid())
	tests := map[string]struct {
		prepare func(tmp string)
		code    int
		want    string
	}{
		"made private": {prepare: func(string) {}, code: 0},
		"others may write": {prepare: func(tmp string) {
			must(t, os.Mkdir(filepath.Join(tmp, mine), 0o777))
			must(t, os.Chmod(filepath.Join(tmp, mine), 0o777))
		}, code: 2, want: "may be written by others"},
		"a symlink planted": {prepare: func(tmp string) { must(t, os.Symlink(t.TempDir(), filepath.Join(tmp, mine))) }, code: 2, want: "is not a directory"},
	}
	// A cache directory others may write to (a HOME shared in an image):
	// argo-cred's directory there could be swapped, so the bundle goes to
	// the private directory under TMPDIR instead.
	tests["a shared cache directory"] = struct {
		prepare func(tmp string)
		code    int
		want    string
	}{prepare: func(tmp string) {
		must(t, os.Mkdir(filepath.Join(tmp, "shared-cache"), 0o777))
		must(t, os.Chmod(filepath.Join(tmp, "shared-cache"), 0o777))
	}, code: 0}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			tc.prepare(tmp)
			cache := ""
			if name == "a shared cache directory" {
				cache = filepath.Join(tmp, "shared-cache")
			}
			r := hostileRun(t, []string{"HOME=", "XDG_CACHE_HOME=" + cache, "TMPDIR=" + tmp, "ARGO_SERVER=127.0.0.1:1"}, "env", "--probe=false", "--ca-file", ca)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, want %d and %q:\n%s", r.code, tc.code, tc.want, r.stderr)
			}
			if tc.code == 0 {
				st, err := os.Lstat(filepath.Join(tmp, mine))
				if err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 || !strings.Contains(r.stdout, filepath.Join(tmp, mine)) {
					t.Errorf("bundle directory: %v %v; stdout %s", st.Mode(), err, r.stdout)
				}
			}
		})
	}
}

// Finding 8: the OIDC token goes to a Kubernetes API server (for a
// SelfSubjectReview) only with a kubeconfig named for the run, and only
// over verified TLS: never to an ambient KUBECONFIG's, never over plain
// HTTP or with verification off.
func TestHostileSelfSubjectReview(t *testing.T) {
	t.Parallel()
	oidc := jwt(map[string]any{"iss": "https://token.actions.githubusercontent.com", "aud": "argo-cred", "sub": "repo:o/r:ref:refs/heads/main",
		"exp": time.Now().Add(10 * time.Minute).Unix(), "iat": time.Now().Unix()})
	api := testenv.HTTPServer(t, false, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
	apiTLS := testenv.HTTPServer(t, true, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
	kubeconfig := func(server string, insecure bool) string {
		p := filepath.Join(t.TempDir(), "kubeconfig")
		must(t, os.WriteFile(p, []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"Config","clusters":[{"name":"c","cluster":{"server":%q,"insecure-skip-tls-verify":%t}}],"users":[{"name":"u","user":{"token":"kubeconfig-own"}}],"contexts":[{"name":"c","context":{"cluster":"c","user":"u"}}],"current-context":"c"}`, server, insecure)), 0o600))
		return p
	}
	// An empty kubeconfig in a pod: client-go's default loading would fall
	// back to the pod's cluster (here the hostile TLS server).
	emptyKubeconfig := filepath.Join(t.TempDir(), "empty")
	must(t, os.WriteFile(emptyKubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600))
	host, port, _ := strings.Cut(apiTLS.Addr, ":")
	argo := testenv.FakeArgo(t, "repo:o/r:ref:refs/heads/main", "v3.7.9", "denied")
	base := []string{"ARGO_SERVER=" + argo.Addr, "ARGO_SECURE=false", "ARGO_HTTP1=true", "ARGO_NAMESPACE=ci", "CI_ID_TOKEN=" + oidc,
		"KUBERNETES_SERVICE_HOST=" + host, "KUBERNETES_SERVICE_PORT=" + port}
	for name, extra := range map[string][]string{
		"ambient KUBECONFIG":                       {"KUBECONFIG=" + kubeconfig(api.URL, false)},
		"--kubeconfig over plain HTTP":             {"--kubeconfig", kubeconfig(api.URL, false)},
		"--kubeconfig, verification off":           {"--kubeconfig", kubeconfig(apiTLS.URL, true)},
		"--kubeconfig naming no cluster, in a pod": {"--kubeconfig", emptyKubeconfig},
	} {
		var env, args []string
		if strings.HasPrefix(extra[0], "KUBECONFIG=") {
			env, args = extra, nil
		} else {
			args = extra
		}
		r := run(t, append(base, env...), append([]string{"probe", "--oidc-env", "CI_ID_TOKEN", "--audience", "argo-cred"}, args...)...)
		if strings.Contains(r.stderr, "the cluster maps the token") {
			t.Errorf("%s: a SelfSubjectReview was answered:\n%s", name, r.stderr)
		}
		if args != nil && !strings.Contains(r.stderr, "not sending the token: ") {
			t.Errorf("%s: stderr does not say why no SelfSubjectReview was sent:\n%s", name, r.stderr)
		}
	}
	for _, srv := range []*testenv.Hostile{api, apiTLS} {
		if n := len(srv.Requests()); n != 0 {
			t.Errorf("the API server at %s got %d requests; want none", srv.URL, n)
		}
	}
}

// selfSignedPEM is a throwaway CA certificate.
func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
