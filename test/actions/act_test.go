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

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// A second, independent runner: nektos/act runs the example workflow in
// container mode, with a local job image (busybox-static FROM scratch: act
// needs tail), against the real stack, with a token whose Role holds
// exactly the grants of the job profiles the example's `for` names, which
// must be those of the argo commands it runs (testenv.ArgoProfiles):
// `submit --wait` succeeds with them, the workflow run to its end by the
// stack's stand-in controller. What differs from the example: checkout is
// dropped and the action is `uses: ./` (no network; act runs in a
// directory holding action.yml, the workflow file and the workflow, which
// carries the stand-in controller's annotation), the stack's server,
// namespace and argocli image (a stand-in when the real one cannot be
// pulled) are swapped in.
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
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "examples", "github-actions", "argo-submit.yml"))
	if err != nil {
		t.Fatal(err)
	}
	s.Identity(t, ns, "gha", profileRules(t, string(b)))
	minter := kubeconfigJSON(t, s, ns, "minter", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}})
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
	).Replace(wf)
	if !strings.Contains(wf, "args: submit --wait ") {
		t.Fatalf("argo-submit.yml, adapted, lacks submit --wait: the example changed?\n%s", wf)
	}
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "argo-submit.yml"), []byte(wf), 0o644))
	action, err := os.ReadFile(filepath.Join(testenv.Root(), "action.yml"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "action.yml"), action, 0o644))
	example, err := os.ReadFile(filepath.Join(testenv.Root(), "examples", "github-actions", "workflow.yaml"))
	must(t, err)
	annotated := strings.Replace(string(example), "  generateName: hello-\n", "  generateName: hello-\n  annotations: {argo-cred.test/duration: 1s}\n", 1)
	if annotated == string(example) {
		t.Fatalf("examples/github-actions/workflow.yaml has no generateName: hello- line to annotate:\n%s", example)
	}
	must(t, os.WriteFile(filepath.Join(dir, "workflow.yaml"), []byte(annotated), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "secrets"), []byte("ARGO_CRED_KUBECONFIG="+minter+"\n"), 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, act, "workflow_dispatch", "-W", filepath.Join(dir, "argo-submit.yml"),
		"-P", "ubuntu-latest=argo-cred/build-tools:1", "--pull=false", "--rebuild=false", "--action-offline-mode", "-b",
		"--secret-file", filepath.Join(dir, "secrets"), "--network", "host")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	log := out.String()
	if err != nil {
		t.Fatalf("act: %v\n%s", err, log)
	}
	for _, want := range []string{"verified:", "Name:", "hello-", "Succeeded", "Job succeeded"} {
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

// profileRules are exactly the grants of the job profiles an example's
// for (--for, ARGO_CRED_FOR) names, after checking they are the profiles
// of the argo commands it runs.
func profileRules(t *testing.T, example string) []rbacv1.PolicyRule {
	t.Helper()
	names, err := testenv.ForProfiles(example)
	must(t, err)
	if diff := cmp.Diff(testenv.ArgoProfiles(example), names); diff != "" {
		t.Fatalf("--for against the profiles of the example's argo commands (-commands +for):\n%s", diff)
	}
	rules := testenv.ProfileRules(t, names...)
	return rules
}

// kubeconfigJSON makes a ServiceAccount name with rules in ns and returns
// a one-line (JSON) kubeconfig for it that reaches the stack from a
// container on the host network.
func kubeconfigJSON(t *testing.T, s *testenv.Stack, ns, name string, rules ...rbacv1.PolicyRule) string {
	t.Helper()
	return s.TokenKubeconfig(t, s.ServiceAccount(t, ns, name, rules...), ns)
}
