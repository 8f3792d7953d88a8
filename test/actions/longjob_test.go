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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// long-job.yml's keyless job, run by nektos/act: the argo-cred image as a
// `uses: docker://` step (its entrypoint `argo-cred exec -- argo`) runs
// `submit --wait` of a workflow the stack's stand-in controller runs for
// 45 s, with ID tokens of 20 s from the stack's stand-in of GitHub's
// endpoint, which the step gets as the runner gives container steps
// ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN (act has none of its own, so
// --env-file supplies them). The token expires during the wait and the
// relay renews it: argo exits 0 with the workflow's end. The job's OIDC
// user holds exactly the grants of the job profiles its ARGO_CRED_FOR
// names, which must be those of its argo commands (profileRules). What differs from
// the example: no checkout (act runs in a directory holding the workflow
// file), the stack's server, namespace and audience, the local image.
func TestIntegrationActLongJob(t *testing.T) {
	t.Parallel()
	img := argoCredImage(t)
	s := testenv.Get(t)
	act := actBinary(t)
	removeActLeftovers(t, "act-argo-long-job")
	ns := s.Namespace(t)
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "examples", "github-actions", "long-job.yml"))
	must(t, err)
	keyless, _, _ := strings.Cut(string(b), "\n  binary:")
	bindOIDCUser(t, s, ns, profileRules(t, keyless[strings.Index(keyless, "\n  keyless:"):])...)
	wf := regexp.MustCompile(`ghcr\.io/argo-cred/argo-cred:v[0-9.]+`).ReplaceAllString(string(b), img)
	wf = regexp.MustCompile(`(?m)^name: .*$`).ReplaceAllString(wf, "name: argo long job")
	wf = strings.NewReplacer(
		"      - uses: actions/checkout@v4\n", "",
		"ARGO_CRED_AUDIENCE: argo-cred\n", "ARGO_CRED_AUDIENCE: "+s.OIDCAudience+"\n",
		"ARGO_SERVER: argo.example.com:443", "ARGO_SERVER: "+s.ArgoServer,
		"ARGO_NAMESPACE: ci", "ARGO_NAMESPACE: "+ns,
	).Replace(wf)
	for _, want := range []string{"uses: docker://" + img, "ARGO_SERVER: " + s.ArgoServer, "ARGO_CRED_AUDIENCE: " + s.OIDCAudience + "\n", "args: submit --wait workflow.yaml"} {
		if !strings.Contains(wf, want) {
			t.Fatalf("long-job.yml, adapted, lacks %q: the example changed?\n%s", want, wf)
		}
	}
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "long-job.yml"), []byte(wf), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "workflow.yaml"), []byte("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n"+
		"metadata: {generateName: long-, annotations: {argo-cred.test/duration: 45s}}\n"+
		"spec: {entrypoint: main, templates: [{name: main, container: {image: busybox}}]}\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "env"), []byte(strings.Join([]string{
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + s.OIDCTokenURL,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + testenv.OIDCRequestToken(map[string]any{"ttl": 20}),
		"ARGO_SECURE=false", "ARGO_CRED_MIN_LIFETIME=5s",
		"ARGO_CRED_VERBOSE=true", // "renewed the token", never the token
	}, "\n")+"\n"), 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, act, "workflow_dispatch", "-W", filepath.Join(dir, "long-job.yml"), "-j", "keyless",
		"-P", "ubuntu-latest=argo-cred/build-tools:1", "--pull=false", "--rebuild=false", "--action-offline-mode", "-b",
		"--env-file", filepath.Join(dir, "env"), "--network", "host")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	log := out.String()
	took := time.Since(start).Round(time.Second)
	if err != nil {
		t.Fatalf("act: %v after %s\n%s", err, took, log)
	}
	t.Logf("act ran the job in %s", took)
	for _, want := range []string{" Succeeded at ", "renews the token before it expires", "Job succeeded"} {
		if !strings.Contains(log, want) {
			t.Errorf("act's log lacks %q:\n%s", want, log)
		}
	}
	// 45 s with tokens of 20 s, renewed 5 s or more before they expire.
	if n := strings.Count(log, "renewed the token"); n < 2 {
		t.Errorf("the relay renewed the token %d times during a 45 s wait with 20 s tokens; want at least 2:\n%s", n, log)
	}
	if took < 45*time.Second {
		t.Errorf("the job took %s; the workflow runs 45 s", took)
	}
	if strings.Contains(log, "eyJhbGci") {
		t.Errorf("a token is in act's log:\n%s", log)
	}
}

// actBinary builds (or reuses) nektos/act and returns its path.
func actBinary(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(testenv.Root(), "test", "tools", "act.sh")).Output()
	if err != nil {
		t.Fatalf("building act: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// removeActLeftovers removes the containers and volumes named with prefix
// that an earlier run left (killed, or run by hand): act names them after
// the workflow and job, so they would make this run fail to set up.
func removeActLeftovers(t *testing.T, prefix string) {
	t.Helper()
	if ids, _ := exec.Command("docker", "ps", "-aq", "--filter", "name="+prefix).Output(); len(strings.Fields(string(ids))) > 0 {
		_ = exec.Command("docker", append([]string{"rm", "-f"}, strings.Fields(string(ids))...)...).Run()
	}
	if vols, _ := exec.Command("docker", "volume", "ls", "-q", "--filter", "name="+prefix).Output(); len(strings.Fields(string(vols))) > 0 {
		_ = exec.Command("docker", append([]string{"volume", "rm", "-f"}, strings.Fields(string(vols))...)...).Run()
	}
}

// bindOIDCUser lets the user the stack maps a job of argo-cred-test/app on
// main to (its sub and its repository's id) do what rules allow in ns.
func bindOIDCUser(t *testing.T, s *testenv.Stack, ns string, rules ...rbacv1.PolicyRule) {
	t.Helper()
	ctx := context.Background()
	user := "gha:repo:argo-cred-test/app:ref:refs/heads/main:repository_id:" + s.OIDCRepoID
	meta := metav1.ObjectMeta{Name: "job", Namespace: ns}
	_, err := s.Client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: meta,
		Rules: rules}, metav1.CreateOptions{})
	must(t, err)
	_, err = s.Client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: meta,
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: user}},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "job"}}, metav1.CreateOptions{})
	must(t, err)
}
