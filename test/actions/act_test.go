package actions

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// A second, independent runner: nektos/act runs the example workflow in
// container mode, with a local job image (busybox-static FROM scratch: act
// needs tail), against the real stack. What differs from the example:
// checkout is dropped and the action is `uses: ./` (no network), the
// stack's server, namespace and argocli image (a stand-in when the real one
// cannot be pulled) are swapped in, the workflow file is named by its path
// in this repository, and submit does not --wait (the stack runs no
// workflow controller).
//
// What act cannot check, so the runner emulation does
// (TestIntegrationActionInRunner): the post stage with STATE_* (act passes
// neither STATE_* nor defaulted inputs to a docker post stage), the step
// summary (act only echoes it), masking of encoded forms (act masks the raw
// value only), file commands owned by another user (act's are 0666, so an
// image with a USER would pass), and the runner's parser where it differs
// (act drops leading blank lines of a heredoc and refuses blank lines).
func TestIntegrationActRunsExample(t *testing.T) {
	t.Parallel()
	actionImage(t)
	s := testenv.Get(t)
	act := actBinary(t)
	removeActLeftovers(t, "act-argo-submit-submit")
	ns := s.Namespace(t)
	s.Identity(t, ns, "gha", []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"list", "create"}}})
	minter := kubeconfigJSON(t, s, ns, "minter", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}})

	b, err := os.ReadFile(filepath.Join(testenv.Root(), "examples", "github-actions", "argo-submit.yml"))
	if err != nil {
		t.Fatal(err)
	}
	argocli := "quay.io/argoproj/argocli:v3.7.9"
	if exec.Command("docker", "image", "inspect", argocli).Run() != nil {
		argocli = "argo-cred/argocli-standin:v3.7.9"
	}
	wf := regexp.MustCompile(`uses: argo-cred/argo-cred@v[0-9.]+`).ReplaceAllString(string(b), "uses: ./")
	wf = strings.NewReplacer(
		"      - uses: actions/checkout@v4\n", "",
		"https://argo.example.com", "http://"+s.ArgoServer,
		"namespace: ci", "namespace: "+ns,
		"quay.io/argoproj/argocli:v3.7.9", argocli,
		"submit --wait", "submit",
		" workflow.yaml", " examples/github-actions/workflow.yaml",
	).Replace(wf)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "argo-submit.yml"), []byte(wf), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "secrets"), []byte("ARGO_CRED_KUBECONFIG="+minter+"\n"), 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, act, "workflow_dispatch", "-W", filepath.Join(dir, "argo-submit.yml"),
		"-P", "ubuntu-latest=argo-cred/build-tools:1", "--pull=false", "--rebuild=false", "--action-offline-mode", "-b",
		"--secret-file", filepath.Join(dir, "secrets"), "--network", "host")
	cmd.Dir = testenv.Root()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	log := out.String()
	if err != nil {
		t.Fatalf("act: %v\n%s", err, log)
	}
	for _, want := range []string{"verified:", "Name:", "hello-"} {
		if !strings.Contains(log, want) {
			t.Errorf("act's log lacks %q:\n%s", want, log)
		}
	}
	// No JWT in the log: neither the token argo-cred requested nor the
	// kubeconfig's.
	if strings.Contains(log, "eyJhbGci") {
		t.Errorf("a token is in act's log:\n%s", log)
	}
}

// kubeconfigJSON makes a ServiceAccount name with rules in ns and returns
// a one-line (JSON) kubeconfig for it that reaches the stack from a
// container on the host network.
func kubeconfigJSON(t *testing.T, s *testenv.Stack, ns, name string, rules ...rbacv1.PolicyRule) string {
	t.Helper()
	return s.TokenKubeconfig(t, s.ServiceAccount(t, ns, name, rules...), ns)
}
