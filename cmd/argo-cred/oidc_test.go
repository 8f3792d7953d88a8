package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// keylessJob is the environment of a GitHub job with id-token: write and
// nothing else: no Secret's token, no ServiceAccount token, no kubeconfig.
func keylessJob(s *testenv.Stack, claims map[string]any) []string {
	return []string{"GITHUB_ACTIONS=true", "ACTIONS_ID_TOKEN_REQUEST_URL=" + s.OIDCTokenURL,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + testenv.OIDCRequestToken(claims),
		"ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false", "ARGO_CRED_AUDIENCE=" + s.OIDCAudience}
}

// oidcConfigArgs are the stack's issuer for oidc-config.
func oidcConfigArgs(s *testenv.Stack, ns string) []string {
	return []string{"oidc-config", "--github-repo", "argo-cred-test/app", "--namespace", ns, "--audience", s.OIDCAudience,
		"--issuer", s.OIDCIssuer, "--issuer-ca-file", s.CAFile}
}

// Keyless, end to end: what oidc-config prints is what the stack's
// kube-apiserver runs with; its --apply binds the job's user; a job with
// only its OIDC request variables gets a verified credential that the real
// argo uses (list allowed, templates refused); each failure names its
// cause with its exit code.
func TestIntegrationKeyless(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)

	r := run(t, []string{"KUBECONFIG=" + s.Kubeconfig}, append(oidcConfigArgs(s, ns), "--apply")...)
	if r.code != 0 || !strings.Contains(r.stderr, "role/gha-argo-cred-test-app created") || !strings.Contains(r.stderr, "rolebinding/gha-argo-cred-test-app created") {
		t.Fatalf("oidc-config --apply: exit %d\n%s", r.code, r.stderr)
	}
	// The AuthenticationConfiguration printed is the one the stack runs.
	var printed, running map[string]any
	docs := strings.Split(r.stdout, "\n---\n")
	if err := yaml.Unmarshal([]byte(docs[0]), &printed); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(s.AuthConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &running); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(running, printed); diff != "" {
		t.Errorf("oidc-config's AuthenticationConfiguration differs from the stack's (-stack +printed):\n%s", diff)
	}
	if !strings.Contains(r.stdout, "name: gha:repo:argo-cred-test/app:ref:refs/heads/main") {
		t.Errorf("the RoleBinding does not name the job's user:\n%s", r.stdout)
	}

	// The job: nothing but its OIDC request variables.
	start := time.Now()
	r = run(t, keylessJob(s, nil), "env", "--source", "github-oidc", "--namespace", ns, "--format", "json")
	t.Logf("job start to verified credential: %s", time.Since(start).Round(time.Millisecond))
	wantCode(t, r, 0, "verified")
	for _, want := range []string{"note: OIDC token: issuer " + s.OIDCIssuer, "repository argo-cred-test/app", "ref refs/heads/main", "warning: the token expires in"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	tok := between(r.stdout, `"ARGO_TOKEN": "Bearer `, `"`)
	if tok == "" {
		t.Fatalf("no token in %s", r.stdout)
	}
	noLeak(t, tok, "stderr", r.stderr)
	for args, wantOK := range map[string]bool{"list": true, "template list": false} {
		cmd := exec.Command(s.ArgoBin, append(strings.Fields(args), "-n", ns)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false", "ARGO_TOKEN=Bearer " + tok, "ARGO_NAMESPACE=" + ns}
		out, err := cmd.CombinedOutput()
		if (err == nil) != wantOK || (!wantOK && !strings.Contains(string(out), "PermissionDenied")) {
			t.Errorf("argo %s: %v\n%s", args, err, out)
		}
	}
	// The JSON report names the token's claims (never the token).
	r = run(t, keylessJob(s, nil), "probe", "--source", "github-oidc", "--namespace", ns, "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"repository": "argo-cred-test/app"`) || !strings.Contains(r.stdout, `"ref": "refs/heads/main"`) {
		t.Errorf("probe -o json: exit %d\n%s", r.code, r.stdout)
	}
	// With a kubeconfig at hand, the cluster says who the token is: the
	// OIDC token's user, not the kubeconfig's admin.
	r = run(t, append(keylessJob(s, nil), "KUBECONFIG="+s.Kubeconfig), "probe", "--source", "github-oidc", "--namespace", ns, "-o", "json")
	if r.code != 0 || !strings.Contains(r.stderr, `the cluster maps the token to user "gha:repo:argo-cred-test/app:ref:refs/heads/main"`) ||
		!strings.Contains(r.stdout, `"clusterUser": "gha:repo:argo-cred-test/app:ref:refs/heads/main"`) {
		t.Errorf("SelfSubjectReview: exit %d, stderr %q, stdout %q", r.code, r.stderr, r.stdout)
	}
	// GitLab's id_tokens (or any CI's variable): --oidc-env.
	r = run(t, append(keylessJob(s, nil), "CI_ARGO_ID_TOKEN="+tok), "env", "--oidc-env", "CI_ARGO_ID_TOKEN", "--namespace", ns)
	wantCode(t, r, 0, "verified")

	tests := map[string]struct {
		env       []string
		args      []string
		code      int
		stderrHas string
	}{
		"wrong audience":         {env: keylessJob(s, nil), args: []string{"--audience", "not-trusted"}, code: 5, stderrHas: "its AuthenticationConfiguration must trust issuer " + s.OIDCIssuer + " for audience not-trusted"},
		"expired":                {env: keylessJob(s, map[string]any{"ttl": -10}), code: 3, stderrHas: "expires in 0s, less than --min-lifetime 1m0s"},
		"too short to be useful": {env: keylessJob(s, map[string]any{"ttl": 30}), code: 3, stderrHas: "less than --min-lifetime"},
		"another owner":          {env: keylessJob(s, map[string]any{"repository_owner": "evil", "repository": "evil/app", "sub": "repo:evil/app:ref:refs/heads/main"}), code: 5, stderrHas: "the cluster did not accept the OIDC token"},
		"unbound subject":        {env: keylessJob(s, map[string]any{"sub": "repo:argo-cred-test/other:ref:refs/heads/main"}), code: 6, stderrHas: `the cluster maps the token to user "gha:repo:argo-cred-test/other:ref:refs/heads/main"`},
		"untrusted issuer":       {env: keylessJob(s, map[string]any{"untrusted": true}), code: 5, stderrHas: "the cluster did not accept the OIDC token"},
		"no id-token: write":     {env: []string{"GITHUB_ACTIONS=true", "ARGO_SERVER=" + s.ArgoServer}, code: 3, stderrHas: "grant the job `permissions: id-token: write`"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := run(t, tc.env, append([]string{"env", "--source", "github-oidc", "--namespace", ns}, tc.args...)...)
			wantCode(t, r, tc.code, tc.stderrHas)
			if strings.Contains(r.stderr, "req-") {
				t.Errorf("the request token is in stderr:\n%s", r.stderr)
			}
		})
	}
	// Without a source, a job that may request a token is told so, not switched.
	wantCode(t, run(t, keylessJob(s, nil), "env", "--namespace", ns), 2, "--source github-oidc uses it")
}
