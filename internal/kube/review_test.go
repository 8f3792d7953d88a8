package kube

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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
			fmt.Fprint(w, `{"status":{"allowed":true,"reason":"`+strings.Repeat("a", 2<<20)+`"}}`)
		case strings.Contains(string(body), `"resource":"pods","subresource":"log","verb":"get"`):
			fmt.Fprint(w, `{"status":{"allowed":true}}`)
		case strings.Contains(string(body), `"verb":"broken"`):
			fmt.Fprint(w, `{"status":{"allowed":false,"evaluationError":"webhook down"}}`)
		default:
			fmt.Fprint(w, `{"status":{"allowed":false}}`)
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
