package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

// testCA writes a self-signed CA certificate (PEM) to a file and returns
// its path and content.
func testCA(t *testing.T) (string, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, data
}

// --fetcher-server and --fetcher-ca: an https URL and a PEM file of
// certificates override what the kubeconfig names; anything else is a
// usage error (exit 2) with one line saying what is wrong, and nothing is
// overridden. Without --kubeconfig-out, each fetcher flag is refused.
func TestFetcherFlagsCheck(t *testing.T) {
	caPath, caPEM := testCA(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "fetcher.kubeconfig")
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notPEM := write("not.pem", "not a certificate\n")
	keyOnly := write("key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
	big := write("big.pem", strings.Repeat("#", maxCA+1))
	type want struct {
		Server string
		CA     bool
		Code   exitcode.Code
		Err    string
	}
	for name, tc := range map[string]struct {
		flags FetcherFlags
		want  want
	}{
		"none":                {FetcherFlags{}, want{}},
		"the provisioner's":   {FetcherFlags{Out: out, Model: FetchSecret}, want{}},
		"server":              {FetcherFlags{Out: out, Model: FetchSecret, Server: "https://k8s.example.com:6443"}, want{Server: "https://k8s.example.com:6443"}},
		"server with a path":  {FetcherFlags{Out: out, Model: FetchTokenRequest, Server: "https://rancher.example.com/k8s/clusters/c-1"}, want{Server: "https://rancher.example.com/k8s/clusters/c-1"}},
		"server, IP and CA":   {FetcherFlags{Out: out, Model: FetchSecret, Server: "https://127.0.0.1:26443", CA: caPath}, want{Server: "https://127.0.0.1:26443", CA: true}},
		"CA alone":            {FetcherFlags{Out: out, Model: FetchSecret, CA: caPath}, want{CA: true}},
		"http":                {FetcherFlags{Out: out, Model: FetchSecret, Server: "http://k8s.example.com"}, want{Code: exitcode.Usage, Err: `--fetcher-server "http://k8s.example.com" is plain http`}},
		"no scheme":           {FetcherFlags{Out: out, Model: FetchSecret, Server: "k8s.example.com:6443"}, want{Code: exitcode.Usage, Err: `--fetcher-server "k8s.example.com:6443" is not an https://HOST[:PORT][/PATH] URL`}},
		"another scheme":      {FetcherFlags{Out: out, Model: FetchSecret, Server: "ftp://k8s.example.com"}, want{Code: exitcode.Usage, Err: `--fetcher-server "ftp://k8s.example.com" is not an https://HOST[:PORT][/PATH] URL`}},
		"no host":             {FetcherFlags{Out: out, Model: FetchSecret, Server: "https://"}, want{Code: exitcode.Usage, Err: `--fetcher-server "https://" is not an https://HOST[:PORT][/PATH] URL`}},
		"a port alone":        {FetcherFlags{Out: out, Model: FetchSecret, Server: "https://:6443"}, want{Code: exitcode.Usage, Err: `--fetcher-server "https://:6443" is not an https://HOST[:PORT][/PATH] URL`}},
		"a user":              {FetcherFlags{Out: out, Model: FetchSecret, Server: "https://me:pw@k8s.example.com"}, want{Code: exitcode.Usage, Err: "--fetcher-server holds a user or password (USER@HOST): the kubeconfig's token is its credential"}},
		"a query":             {FetcherFlags{Out: out, Model: FetchSecret, Server: "https://k8s.example.com?x=1"}, want{Code: exitcode.Usage, Err: `--fetcher-server "https://k8s.example.com?x=1" is not an https://HOST[:PORT][/PATH] URL`}},
		"port out of range":   {FetcherFlags{Out: out, Model: FetchSecret, Server: "https://k8s.example.com:70000"}, want{Code: exitcode.Usage, Err: `--fetcher-server "https://k8s.example.com:70000" has an invalid port`}},
		"garbage":             {FetcherFlags{Out: out, Model: FetchSecret, Server: "::garbage"}, want{Code: exitcode.Usage, Err: `--fetcher-server "::garbage" is not an https://HOST[:PORT][/PATH] URL`}},
		"a space":             {FetcherFlags{Out: out, Model: FetchSecret, Server: "https://k8s example.com"}, want{Code: exitcode.Usage, Err: `--fetcher-server "https://k8s example.com" is not an https://HOST[:PORT][/PATH] URL`}},
		"CA not PEM":          {FetcherFlags{Out: out, Model: FetchSecret, CA: notPEM}, want{Code: exitcode.Usage, Err: "no certificates in --fetcher-ca file " + notPEM}},
		"CA a key, no cert":   {FetcherFlags{Out: out, Model: FetchSecret, CA: keyOnly}, want{Code: exitcode.Usage, Err: "no certificates in --fetcher-ca file " + keyOnly}},
		"CA missing":          {FetcherFlags{Out: out, Model: FetchSecret, CA: filepath.Join(dir, "nope.pem")}, want{Code: exitcode.Usage, Err: "reading --fetcher-ca: "}},
		"CA too big":          {FetcherFlags{Out: out, Model: FetchSecret, CA: big}, want{Code: exitcode.Usage, Err: "reading --fetcher-ca: "}},
		"server without out":  {FetcherFlags{Server: "https://k8s.example.com"}, want{Code: exitcode.Usage, Err: "--fetcher-server goes with --kubeconfig-out"}},
		"CA without out":      {FetcherFlags{CA: caPath}, want{Code: exitcode.Usage, Err: "--fetcher-ca goes with --kubeconfig-out"}},
		"model without out":   {FetcherFlags{Model: FetchTokenRequest}, want{Code: exitcode.Usage, Err: "--fetcher goes with --kubeconfig-out"}},
		"unknown model":       {FetcherFlags{Out: out, Model: "oidc"}, want{Code: exitcode.Usage, Err: `unknown --fetcher "oidc"`}},
		"server checked last": {FetcherFlags{Out: out, Model: "oidc", Server: "http://x"}, want{Code: exitcode.Usage, Err: `unknown --fetcher "oidc"`}},
	} {
		t.Run(name, func(t *testing.T) {
			target, err := tc.flags.check()
			got := want{Server: target.server, CA: target.ca != nil}
			if err != nil {
				got.Code, got.Err = exitcode.Of(err), err.Error()
				if strings.Contains(got.Err, "\n") || exitcode.Hint(err) == "" {
					t.Errorf("want one line and a hint: %q (hint %q)", got.Err, exitcode.Hint(err))
				}
				if strings.HasPrefix(got.Err, tc.want.Err) && tc.want.Err != "" {
					got.Err = tc.want.Err // a prefix is enough: the rest is the OS's
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got.CA && string(target.ca) != string(caPEM) {
				t.Errorf("the CA read is not the file's content")
			}
		})
	}
}

// What provision says to hand to the team, per model, in a few lines on
// stderr: the Argo token itself, the fetcher's kubeconfig (rotation without
// touching CI; short-lived tokens with tokenrequest), or nothing (keyless).
// No token is in it: it is made before any token is known.
func TestHandoff(t *testing.T) {
	c := Client{Name: "ci", Namespace: "argo"}
	keyless := "  or store nothing (keyless OIDC, GitHub Actions): argo-cred oidc-config --apply, see docs/identities.md"
	for name, tc := range map[string]struct {
		fetcher FetcherFlags
		want    []string
		for_    []string
	}{
		"no fetcher": {FetcherFlags{}, []string{
			"hand to the team, one of:",
			"  store the Argo token itself (simplest; rotation means updating CI): argo-cred env --client ci --namespace argo prints it",
			"  or store a fetcher's kubeconfig (rotation without touching CI; short-lived tokens with --fetcher tokenrequest): provision again with --kubeconfig-out FILE",
			keyless,
		}, nil},
		"secret": {FetcherFlags{Out: "/tmp/f.kubeconfig", Model: FetchSecret}, []string{
			"hand to the team, one of:",
			"  store the fetcher's kubeconfig /tmp/f.kubeconfig (rotation without touching CI): the job runs argo-cred exec --kubeconfig FILE --client ci --namespace argo -- argo …",
			keyless,
		}, nil},
		"tokenrequest": {FetcherFlags{Out: "/tmp/f.kubeconfig", Model: FetchTokenRequest, Server: "https://k8s.example.com"}, []string{
			"hand to the team, one of:",
			"  store the fetcher's kubeconfig /tmp/f.kubeconfig (short-lived tokens): the job runs argo-cred exec --kubeconfig FILE --source tokenrequest --service-account ci --namespace argo -- argo …",
			keyless,
		}, nil},
		// The job checks what the client was provisioned for: without the
		// same --for, the default checks (list workflows) would fail.
		"for": {FetcherFlags{Out: "/tmp/f.kubeconfig", Model: FetchSecret}, []string{
			"hand to the team, one of:",
			"  store the fetcher's kubeconfig /tmp/f.kubeconfig (rotation without touching CI): the job runs argo-cred exec --kubeconfig FILE --client ci --namespace argo --for submit,wait -- argo …",
			keyless,
		}, []string{"submit,wait"}},
		"for, no fetcher": {FetcherFlags{}, []string{
			"hand to the team, one of:",
			"  store the Argo token itself (simplest; rotation means updating CI): argo-cred env --client ci --namespace argo --for submit prints it",
			"  or store a fetcher's kubeconfig (rotation without touching CI; short-lived tokens with --fetcher tokenrequest): provision again with --kubeconfig-out FILE",
			keyless,
		}, []string{"submit"}},
	} {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, handoff(c, ProvisionInput{Client: c, Fetcher: tc.fetcher, For: tc.for_})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
