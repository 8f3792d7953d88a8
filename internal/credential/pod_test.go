package credential

import (
	"context"
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/argo-cred/argo-cred/internal/testenv"
	"github.com/argo-cred/argo-cred/internal/token"
)

// In a pod (KUBERNETES_SERVICE_HOST/_PORT and the service account
// directory), with no kubeconfig named, a token that pod's cluster issued
// (same issuer as the pod's own) is reviewed there: the cluster's answers
// for the verbs the Argo API cannot probe. A token of another issuer, or
// not a JWT, never goes there; a kubeconfig named wins.
func TestIntegrationPodReviewer(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	job := s.ServiceAccount(t, ns, "job", rbacv1.PolicyRule{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"delete"}})
	pod := s.ServiceAccount(t, ns, "pod")
	dir := t.TempDir()
	ca, err := os.ReadFile(s.CAFile)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "ca.crt"), ca, 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "token"), []byte(pod), 0o600))
	u, err := url.Parse(s.KubeAPI())
	must(t, err)
	inPod := map[string]string{"KUBERNETES_SERVICE_HOST": u.Hostname(), "KUBERNETES_SERVICE_PORT": u.Port()}
	reviewer := func(raw string, env map[string]string, kubeconfig string) func(verb string) (bool, error) {
		tok, err := token.New(raw, "file", "test")
		must(t, err)
		c := &Credential{Token: tok, req: Request{KubeFlags: KubeFlags{Kubeconfig: kubeconfig},
			Hooks: Hooks{Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}}}
		rv := c.reviewerIn(dir)
		if rv == nil {
			return nil
		}
		return func(verb string) (bool, error) { return rv(context.Background(), ns, "argoproj.io", "workflows", verb) }
	}
	ask := reviewer(job, inPod, "")
	if ask == nil {
		t.Fatal("in a pod of the token's cluster: no reviewer")
	}
	for verb, want := range map[string]bool{"delete": true, "patch": false} {
		got, err := ask(verb)
		if err != nil || got != want {
			t.Errorf("review of workflows %s in the pod's cluster: %v, %v; want %v", verb, got, err, want)
		}
	}
	// A CA file without a certificate: no request at all (client-go would
	// verify with the system's roots instead).
	must(t, os.WriteFile(filepath.Join(dir, "ca.crt"), nil, 0o600))
	if _, err := reviewer(job, inPod, "")("delete"); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("review with an empty ca.crt: %v; want refused", err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "ca.crt"), ca, 0o600))
	if reviewer(job, nil, "") != nil {
		t.Error("not in a pod: a reviewer")
	}
	other := s.GitLabIDToken(t, "argo-cred", nil) // a JWT of another issuer
	if reviewer(other, inPod, "") != nil {
		t.Error("a token of another issuer would be sent to the pod's API server")
	}
	// Another cluster with the same issuer URL (kubeadm's default) signs
	// with another key.
	jt, err := token.New(job, "file", "test")
	must(t, err)
	claims, _ := jt.Claims()
	seg := func(v string) string { return base64.RawURLEncoding.EncodeToString([]byte(v)) }
	sameIss := seg(`{"alg":"RS256","kid":"another-cluster"}`) + "." + seg(`{"iss":"`+claims.Issuer+`","sub":"system:serviceaccount:ci:job"}`) + "." + seg("sig")
	if reviewer(sameIss, inPod, "") != nil {
		t.Error("a token of the same issuer but another signing key would be sent to the pod's API server")
	}
	if reviewer("not-a-jwt", inPod, "") != nil {
		t.Error("a token that is not a JWT would be sent to the pod's API server")
	}
	if reviewer(job, inPod, filepath.Join(dir, "missing")) != nil {
		t.Error("with --kubeconfig named (unusable), the pod's API server was used instead")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
