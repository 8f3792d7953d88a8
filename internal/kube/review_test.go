package kube

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gocmp "github.com/google/go-cmp/cmp"
)

// kubeconfigFor writes a kubeconfig naming srv (its CA when TLS, or
// insecure) with credentials of its own, which a review must never send.
func kubeconfigFor(t *testing.T, srv *httptest.Server, insecure bool) string {
	t.Helper()
	cluster := fmt.Sprintf("server: %s", srv.URL)
	switch {
	case insecure:
		cluster += "\n    insecure-skip-tls-verify: true"
	case srv.TLS != nil:
		ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		f := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(f, ca, 0o600); err != nil {
			t.Fatal(err)
		}
		cluster += "\n    certificate-authority: " + f
	}
	kc := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    %s\nusers:\n- name: u\n  user:\n    token: the-admins-own\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n", cluster)
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A review goes with the job's token alone, over verified TLS only,
// follows no redirect, and reads a bounded answer. Unit test of hostile
// answers; the stack's kube-apiserver answers the real ones
// (TestIntegrationProvisionFor).
func TestCanIHostile(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	handler := func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer job-token" {
			t.Errorf("Authorization %q; want the job's token only", got)
		}
		body, _ := io.ReadAll(r.Body)
		switch {
		case strings.Contains(string(body), `"verb":"redirect"`):
			http.Redirect(w, r, other.URL+"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", http.StatusTemporaryRedirect)
		case strings.Contains(string(body), `"verb":"huge"`):
			fmt.Fprint(w, `{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","status":{"allowed":true,"reason":"`+strings.Repeat("a", 2<<20)+`"}}`)
		case strings.Contains(string(body), `"resource":"pods","subresource":"log","verb":"get"`):
			fmt.Fprint(w, `{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","status":{"allowed":true}}`)
		case strings.Contains(string(body), `"verb":"broken"`):
			fmt.Fprint(w, `{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","status":{"allowed":false,"evaluationError":"webhook down"}}`)
		case strings.Contains(string(body), `"verb":"anything"`):
			// Not a kube-apiserver: any JSON object, 200.
			fmt.Fprint(w, `{"status":{}}`)
		case strings.Contains(string(body), `"verb":"empty"`):
			fmt.Fprint(w, `{}`)
		default:
			fmt.Fprint(w, `{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","status":{"allowed":false}}`)
		}
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(handler))
	defer srv.Close()
	plain := httptest.NewServer(http.HandlerFunc(handler))
	defer plain.Close()

	ctx := context.Background()
	client := func(path string) (*Client, error) {
		k, err := KubeconfigCluster(path, "", "test", 5*time.Second)
		if err != nil {
			return nil, err
		}
		return k.TokenOnly("job-token")
	}
	c, err := client(kubeconfigFor(t, srv, false))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		resource, verb string
		want           bool
		wantErr        string
	}{
		"allowed":   {resource: "pods/log", verb: "get", want: true},
		"denied":    {resource: "workflows", verb: "delete"},
		"redirect":  {resource: "workflows", verb: "redirect", wantErr: "not following a redirect"},
		"huge":      {resource: "workflows", verb: "huge", wantErr: "the answer is over 1048576 bytes"},
		"evaluator": {resource: "workflows", verb: "broken", wantErr: "webhook down"},
		// Not "denied": a deny expectation would pass on any server.
		"not a review": {resource: "workflows", verb: "anything", wantErr: "not a SelfSubjectAccessReview"},
		"empty":        {resource: "workflows", verb: "empty", wantErr: "not a SelfSubjectAccessReview"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := c.CanI(ctx, "ci", "", tc.resource, tc.verb)
			if (err != nil) != (tc.wantErr != "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) || got != tc.want {
				t.Errorf("CanI: %v, %v; want %v, error %q", got, err, tc.want, tc.wantErr)
			}
		})
	}
	if elsewhere.Load() != 0 {
		t.Errorf("the redirect was followed: %d requests elsewhere", elsewhere.Load())
	}
	for name, path := range map[string]string{"plain HTTP": kubeconfigFor(t, plain, false), "insecure-skip-tls-verify": kubeconfigFor(t, srv, true)} {
		if _, err := client(path); err == nil || !strings.Contains(err.Error(), "not sending the token") {
			t.Errorf("%s: %v; want the token refused", name, err)
		}
	}
}

// clientCert is a throwaway client certificate and key (PEM).
func clientCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "the-admin"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

// connectProxy is an HTTP CONNECT proxy that records every byte it
// relays.
func connectProxy(t *testing.T) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	var mu sync.Mutex
	seen := &bytes.Buffer{}
	record := func(b []byte) { mu.Lock(); seen.Write(b); mu.Unlock() }
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record([]byte(fmt.Sprint(r.Method, " ", r.Host, " ", r.Header)))
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		// Hijacked first, then answered on the connection itself: a
		// WriteHeader before Hijack may never be sent.
		down, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_, err = io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n")
		}
		if err != nil {
			up.Close()
			return
		}
		relay := func(dst, src net.Conn) {
			defer dst.Close()
			buf := make([]byte, 32<<10)
			for {
				n, err := src.Read(buf)
				record(buf[:n])
				if _, werr := dst.Write(buf[:n]); err != nil || werr != nil {
					return
				}
			}
		}
		go relay(up, down)
		go relay(down, up)
	}))
	t.Cleanup(proxy.Close)
	return proxy, seen
}

// The kubeconfig named for the run gives its cluster, never its user: the
// review goes with the job's token alone whatever the user entry holds
// (no client certificate, no password in the server's URL), its exec
// plugin never runs, and an auth provider argo-cred does not have or a
// token file that is gone does not stop it. Through the cluster's proxy
// it goes inside TLS.
func TestKubeconfigClusterSendsTheTokenAlone(t *testing.T) {
	var got []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		if len(r.TLS.PeerCertificates) > 0 {
			got = append(got, "client certificate "+r.TLS.PeerCertificates[0].Subject.CommonName)
		}
		fmt.Fprint(w, `{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","status":{"allowed":true}}`)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	defer srv.Close()
	proxy, relayed := connectProxy(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, key := clientCert(t)
	ran := filepath.Join(dir, "the-plugin-ran")
	tests := map[string]struct{ server, cluster, user string }{
		"token":              {user: "token: the-admins-own"},
		"token file gone":    {user: "tokenFile: " + filepath.Join(dir, "gone")},
		"password":           {user: "{username: admin, password: secret}"},
		"password in URL":    {server: strings.Replace(srv.URL, "https://", "https://admin:secret@", 1), user: "{}"},
		"client cert":        {user: fmt.Sprintf("{client-certificate-data: %s, client-key-data: %s}", base64.StdEncoding.EncodeToString(cert), base64.StdEncoding.EncodeToString(key))},
		"exec plugin":        {user: fmt.Sprintf("exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: [-c, 'touch %s; echo {}'], interactiveMode: Never}", ran)},
		"auth provider":      {user: "auth-provider: {name: oidc, config: {idp-issuer-url: 'https://issuer.example', client-id: x, id-token: the-admins-own}}"},
		"proxy":              {cluster: "proxy-url: " + proxy.URL, user: "token: the-admins-own"},
		"impersonate (as)":   {user: "{token: the-admins-own, as: system:admin, as-groups: [system:masters]}"},
		"path in server URL": {server: srv.URL + "/prefix", user: "{}"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got = nil
			kc := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: %s\n    certificate-authority: %s\n    %s\nusers:\n- name: u\n  user:\n    %s\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n",
				cmp.Or(tc.server, srv.URL), ca, tc.cluster, tc.user)
			p := filepath.Join(t.TempDir(), "kubeconfig")
			if err := os.WriteFile(p, []byte(kc), 0o600); err != nil {
				t.Fatal(err)
			}
			k, err := KubeconfigCluster(p, "", "test", 5*time.Second)
			if err != nil {
				t.Fatalf("KubeconfigCluster: %v", err)
			}
			c, err := k.TokenOnly("job-token")
			if err != nil {
				t.Fatalf("TokenOnly: %v", err)
			}
			if ok, err := c.CanI(context.Background(), "ci", "", "pods", "get"); !ok || err != nil {
				t.Errorf("CanI: %v, %v; want allowed", ok, err)
			}
			if diff := gocmp.Diff([]string{"Bearer job-token"}, got); diff != "" {
				t.Errorf("what the server received (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("the kubeconfig's exec plugin ran")
	}
	if !strings.Contains(relayed.String(), "CONNECT ") {
		t.Error("the cluster's proxy-url was not used")
	}
	if strings.Contains(relayed.String(), "job-token") || strings.Contains(relayed.String(), "the-admins-own") {
		t.Errorf("the proxy saw a token in clear:\n%q", relayed.String())
	}
}

// The cluster's Warning headers are not written to stderr by client-go's
// log, where nothing redacts or cleans them: one echoing the token with a
// runner command.
func TestCanIWarningsNotLogged(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Warning", `299 - "##[set-output name=x;]`+r.Header.Get("Authorization")+`"`)
		fmt.Fprint(w, `{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","status":{"allowed":true}}`)
	}))
	defer srv.Close()
	k, err := KubeconfigCluster(kubeconfigFor(t, srv, false), "", "test", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c, err := k.TokenOnly("job-token")
	if err != nil {
		t.Fatal(err)
	}
	if out := stderrOf(t, func() {
		if _, err := c.CanI(context.Background(), "ci", "", "pods", "get"); err != nil {
			t.Error(err)
		}
	}); len(out) > 0 {
		t.Errorf("stderr: %q; want nothing", out)
	}
}

// stderrOf is what f wrote to os.Stderr, where client-go's log (klog)
// writes.
func stderrOf(t *testing.T, f func()) []byte {
	t.Helper()
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	orig := os.Stderr
	os.Stderr = stderr
	f()
	os.Stderr = orig
	out, _ := os.ReadFile(stderr.Name())
	return out
}

// A cluster that never answers, or answers a byte at a time, holds a
// review no longer than its context (the probe's --timeout).
func TestCanIBounded(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // then the server sees the client go
		if r.UserAgent() == "drip" {
			fmt.Fprint(w, `{"kind":"SelfSubjectAccessReview",`)
			for r.Context().Err() == nil {
				w.Write([]byte(" "))
				w.(http.Flusher).Flush()
				time.Sleep(10 * time.Millisecond)
			}
		}
		<-r.Context().Done()
	}))
	defer srv.Close()
	for _, ua := range []string{"silent", "drip"} {
		t.Run(ua, func(t *testing.T) {
			k, err := KubeconfigCluster(kubeconfigFor(t, srv, false), "", ua, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			c, err := k.TokenOnly("job-token")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			if _, err := c.CanI(ctx, "ci", "", "pods", "get"); err == nil || time.Since(start) > 5*time.Second {
				t.Errorf("CanI: %v after %s; want an error within the context's 300ms", err, time.Since(start))
			}
		})
	}
}

// Nothing of client-go's own log reaches stderr from the provisioner's
// client either: the API server's Warning headers (which may echo what
// was sent, or carry a runner command) and the errors of reading an
// answer are argo-cred's to say, cleaned (klog is discarded in init).
func TestClientLogsNothing(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Warning", `299 - "::set-output name=x::`+r.Header.Get("Authorization")+`"`)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"kind":"Secret","apiVersion":"v1","metadata":{"name":"ci"},"data":{"token":`) // cut short
	}))
	defer srv.Close()
	k, err := Load(kubeconfigFor(t, srv, false), "", "test", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if out := stderrOf(t, func() {
		if _, err := k.Secrets("ci").Get(context.Background(), "ci", metav1.GetOptions{}); err == nil {
			t.Error("a Secret cut short was read")
		}
	}); len(out) > 0 {
		t.Errorf("stderr: %q; want nothing", out)
	}
}
