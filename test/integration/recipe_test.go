// Package integration proves the local stack with the seed's manual recipe,
// done with client-go and plain HTTP/gRPC calls (no argo-cred): the same
// 200/403/401 facts the product relies on.
package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	workflowpkg "github.com/argoproj/argo-workflows/v3/pkg/apiclient/workflow"
	wftpkg "github.com/argoproj/argo-workflows/v3/pkg/apiclient/workflowtemplate"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

func TestIntegrationSeedRecipe(t *testing.T) {
	s := testenv.Get(t)
	ns := s.Namespace(t)
	s.Identity(t, ns, "jenkins", testenv.WorkflowsListUpdate)
	start := time.Now()
	tok := s.WaitToken(t, ns, "jenkins")
	t.Logf("token controller filled the secret in %s", time.Since(start))

	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	tlsConf := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	plain := &http.Client{Timeout: 10 * time.Second}
	secure := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf}}

	get := func(c *http.Client, url, auth string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", auth)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	bearer := "Bearer " + tok
	for _, tc := range []struct {
		name   string
		client *http.Client
		base   string
	}{
		{"plain", plain, "http://" + s.ArgoServer},
		{"tls", secure, "https://" + s.ArgoServerTLS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := get(tc.client, tc.base+"/api/v1/workflows/"+ns, bearer); got != 200 {
				t.Errorf("list workflows: got HTTP %d; want 200", got)
			}
			if got := get(tc.client, tc.base+"/api/v1/workflow-templates/"+ns, bearer); got != 403 {
				t.Errorf("list workflow templates: got HTTP %d; want 403", got)
			}
		})
	}

	grpcCodes := func(target string, creds grpc.DialOption) (codes.Code, codes.Code) {
		t.Helper()
		conn, err := grpc.NewClient(target, creds)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", bearer)
		_, err1 := workflowpkg.NewWorkflowServiceClient(conn).ListWorkflows(ctx, &workflowpkg.WorkflowListRequest{Namespace: ns, ListOptions: &metav1.ListOptions{}})
		_, err2 := wftpkg.NewWorkflowTemplateServiceClient(conn).ListWorkflowTemplates(ctx, &wftpkg.WorkflowTemplateListRequest{Namespace: ns, ListOptions: &metav1.ListOptions{}})
		return status.Code(err1), status.Code(err2)
	}
	for _, tc := range []struct {
		name   string
		target string
		creds  grpc.DialOption
	}{
		{"grpc-plain", s.ArgoServer, grpc.WithTransportCredentials(insecure.NewCredentials())},
		{"grpc-tls", s.ArgoServerTLS, grpc.WithTransportCredentials(credentials.NewTLS(tlsConf))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wf, wft := grpcCodes(tc.target, tc.creds)
			if wf != codes.OK || wft != codes.PermissionDenied {
				t.Errorf("got %s, %s; want OK, PermissionDenied", wf, wft)
			}
		})
	}

	// Revocation: delete the Secret; the token is refused once the API
	// server's 10 s token cache has expired.
	if err := s.Client.CoreV1().Secrets(ns).Delete(context.Background(), "jenkins", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	testenv.Eventually(t, 15*time.Second, "401 after deleting the secret", func() bool {
		return get(plain, "http://"+s.ArgoServer+"/api/v1/workflows/"+ns, bearer) == 401
	})
	t.Logf("token refused %s after its secret was deleted", time.Since(deleted).Round(time.Millisecond))
}
