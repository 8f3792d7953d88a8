package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// keylessJob is the environment of a GitHub job with id-token: write and
// nothing else: no Secret's token, no ServiceAccount token, no kubeconfig.
func keylessJob(s *testenv.Stack, claims map[string]any) []string {
	return []string{"GITHUB_ACTIONS=true", "ACTIONS_ID_TOKEN_REQUEST_URL=" + s.OIDCTokenURL,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + testenv.OIDCRequestToken(claims),
		"ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false", "ARGO_CRED_AUDIENCE=" + s.OIDCAudience}
}

// oidcConfigArgs are the stack's issuer, and its repository's ids, for
// oidc-config.
func oidcConfigArgs(s *testenv.Stack, ns string) []string {
	return []string{"oidc-config", "--github-repo", "argo-cred-test/app", "--namespace", ns, "--audience", s.OIDCAudience,
		"--issuer", s.OIDCIssuer, "--issuer-ca-file", s.CAFile, "--github-owner-id", s.OIDCOwnerID, "--github-repo-id", s.OIDCRepoID}
}

// stackUser is the user the stack maps a job of argo-cred-test/app on
// main to: its sub and its repository's id.
func stackUser(s *testenv.Stack) string {
	return "gha:repo:argo-cred-test/app:ref:refs/heads/main:repository_id:" + s.OIDCRepoID
}

// bindingName is the name oidc-config gives the Role and RoleBinding of
// user, derived here on its own: "gha-", the repository's slug (lower-case,
// runs of other characters as "-", at most 48 characters), "-" and the
// first 10 hex digits of the SHA-256 of the exact user.
func bindingName(repo, user string) string {
	var slug []byte
	for _, c := range []byte(strings.ToLower(repo)) {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			slug = append(slug, c)
		case len(slug) > 0 && slug[len(slug)-1] != '-':
			slug = append(slug, '-')
		}
	}
	s := strings.TrimRight(string(slug), "-")
	if len(s) > 48 {
		s = strings.TrimRight(s[:48], "-")
	}
	sum := sha256.Sum256([]byte(user))
	return "gha-" + s + "-" + hex.EncodeToString(sum[:])[:10]
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

	user := stackUser(s)
	name := bindingName("argo-cred-test/app", user)
	r := run(t, []string{"KUBECONFIG=" + s.Kubeconfig}, append(oidcConfigArgs(s, ns), "--apply")...)
	if r.code != 0 || !strings.Contains(r.stderr, "role/"+name+" created") || !strings.Contains(r.stderr, "rolebinding/"+name+" created") {
		t.Fatalf("oidc-config --apply: exit %d\n%s", r.code, r.stderr)
	}
	// The jwt entry printed is the one the stack runs with for GitHub's
	// issuer (the other is GitLab's: TestIntegrationGitLabCI).
	b, err := os.ReadFile(s.AuthConfig)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(jwtEntry(t, b, s.OIDCIssuer), jwtEntry(t, []byte(strings.Split(r.stdout, "\n---\n")[0]), s.OIDCIssuer)); diff != "" {
		t.Errorf("oidc-config's AuthenticationConfiguration differs from the stack's (-stack +printed):\n%s", diff)
	}
	if !strings.Contains(r.stdout, "name: "+user+"\n") || strings.Contains(r.stdout, "PLACEHOLDERS") {
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
	// In GitHub Actions the token's masks go to stderr (the runner hides
	// them); nothing else there may carry it.
	var unmasked []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			unmasked = append(unmasked, l)
		}
	}
	noLeak(t, tok, "stderr", strings.Join(unmasked, "\n"))
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
	// With a kubeconfig named for it, the cluster says who the token is: the
	// OIDC token's user (its sub and repository id), not the kubeconfig's
	// admin.
	r = run(t, keylessJob(s, nil), "probe", "--source", "github-oidc", "--namespace", ns, "-o", "json", "--kubeconfig", s.Kubeconfig)
	if r.code != 0 || !strings.Contains(r.stderr, `the cluster maps the token to user "`+user+`"`) ||
		!strings.Contains(r.stdout, `"clusterUser": "`+user+`"`) {
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
		"another owner": {env: keylessJob(s, map[string]any{"repository_owner": "evil", "repository_owner_id": "666", "repository": "evil/app", "sub": "repo:evil/app:ref:refs/heads/main"}),
			code: 5, stderrHas: "the cluster did not accept the OIDC token"},
		// An organisation deleted and its name registered again: the same
		// names, another owner id.
		"re-registered owner": {env: keylessJob(s, map[string]any{"repository_owner_id": "666", "repository_id": "667"}), code: 5, stderrHas: "the cluster did not accept the OIDC token"},
		// A repository deleted and created again under its name: the same
		// sub, another repository id, so another user, bound nowhere.
		"re-created repository": {env: keylessJob(s, map[string]any{"repository_id": "202"}), code: 6,
			stderrHas: `the cluster maps the token to user "gha:repo:argo-cred-test/app:ref:refs/heads/main:repository_id:202"`},
		"unbound subject": {env: keylessJob(s, map[string]any{"sub": "repo:argo-cred-test/other:ref:refs/heads/main"}), code: 6,
			stderrHas: `the cluster maps the token to user "gha:repo:argo-cred-test/other:ref:refs/heads/main:repository_id:` + s.OIDCRepoID + `"`},
		"untrusted issuer":   {env: keylessJob(s, map[string]any{"untrusted": true}), code: 5, stderrHas: "the cluster did not accept the OIDC token"},
		"no id-token: write": {env: []string{"GITHUB_ACTIONS=true", "ARGO_SERVER=" + s.ArgoServer}, code: 3, stderrHas: "grant the job `permissions: id-token: write`"},
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

// oidc-config never hands one repository's binding to another: repositories
// whose readable names are alike get distinct Roles and RoleBindings, a
// RoleBinding of the same name that binds someone else is refused, and
// each repository's binding still names its own user afterwards. Without
// GitHub's ids it prints placeholders (exit 0) and never applies them.
func TestIntegrationOIDCConfigBindings(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	kube := []string{"KUBECONFIG=" + s.Kubeconfig}
	apply := func(repo, repoID string, extra ...string) result {
		return run(t, kube, append([]string{"oidc-config", "--github-repo", repo, "--namespace", ns, "--github-owner-id", s.OIDCOwnerID,
			"--github-repo-id", repoID, "--apply"}, extra...)...)
	}
	user := func(repo, repoID string) string {
		return "gha:repo:" + repo + ":ref:refs/heads/main:repository_id:" + repoID
	}
	// subjects reads a RoleBinding's subjects back from the cluster.
	subjects := func(name string) []rbacv1.Subject {
		t.Helper()
		rb, err := s.Client.RbacV1().RoleBindings(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("reading rolebinding %s: %v", name, err)
		}
		return rb.Subjects
	}
	userSubject := func(u string) []rbacv1.Subject {
		return []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: u}}
	}

	prefix := "argo-cred-test/" + strings.Repeat("x", 45) // 60 characters: the slugs are cut alike
	repos := []struct{ repo, id string }{
		{"argo-cred-test/app.x", "1001"}, {"argo-cred-test/app_x", "1002"}, {"argo-cred-test/APP-X", "1003"},
		{prefix + "-first", "1004"}, {prefix + "-second", "1005"},
	}
	names := map[string]string{}
	for _, rp := range repos {
		name := bindingName(rp.repo, user(rp.repo, rp.id))
		if other, ok := names[name]; ok {
			t.Fatalf("%s and %s share the name %s", rp.repo, other, name)
		}
		names[name] = rp.repo
		r := apply(rp.repo, rp.id)
		if r.code != 0 || !strings.Contains(r.stderr, "role/"+name+" created") || !strings.Contains(r.stderr, "rolebinding/"+name+" created") {
			t.Fatalf("oidc-config --apply for %s: exit %d; want role and rolebinding %s created\n%s", rp.repo, r.code, name, r.stderr)
		}
	}
	// Every repository's binding names its own user, after all the applies.
	for _, rp := range repos {
		name := bindingName(rp.repo, user(rp.repo, rp.id))
		if diff := cmp.Diff(userSubject(user(rp.repo, rp.id)), subjects(name)); diff != "" {
			t.Errorf("rolebinding %s of %s (-want +got):\n%s", name, rp.repo, diff)
		}
	}
	// Applying again for the same repository and user is its own binding:
	// allowed, and the subject stays.
	first := repos[0]
	firstName := bindingName(first.repo, user(first.repo, first.id))
	if r := apply(first.repo, first.id, "--allow", "workflows:list"); r.code != 0 || !strings.Contains(r.stderr, "rolebinding/"+firstName+" unchanged") {
		t.Errorf("oidc-config --apply again for %s: exit %d\n%s", first.repo, r.code, r.stderr)
	}

	// A RoleBinding under the name another repository's apply would use,
	// binding the first repository's user (as an earlier argo-cred, or a
	// hand, left it): that apply is refused and touches nothing.
	other, otherID := "argo-cred-test/other", "1006"
	otherName := bindingName(other, user(other, otherID))
	labels := map[string]string{"app.kubernetes.io/managed-by": "argo-cred", "argo-cred/client": otherName}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: otherName, Labels: labels},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: firstName},
		Subjects: userSubject(user(first.repo, first.id))}
	if _, err := s.Client.RbacV1().RoleBindings(ns).Create(context.Background(), rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := apply(other, otherID)
	want := `refusing to apply over rolebinding ` + ns + `/` + otherName + `: it binds User "` + user(first.repo, first.id) + `", not User "` + user(other, otherID) + `"`
	if r.code != 2 || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, " created") || strings.Contains(r.stderr, " changed") {
		t.Errorf("oidc-config --apply over another repository's binding: exit %d; want 2 and %q\n%s", r.code, want, r.stderr)
	}
	if diff := cmp.Diff(userSubject(user(first.repo, first.id)), subjects(otherName)); diff != "" {
		t.Errorf("the refused apply changed rolebinding %s (-want +got):\n%s", otherName, diff)
	}
	if _, err := s.Client.RbacV1().Roles(ns).Get(context.Background(), otherName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused apply made role %s: %v", otherName, err)
	}
	if diff := cmp.Diff(userSubject(user(first.repo, first.id)), subjects(firstName)); diff != "" {
		t.Errorf("rolebinding %s of %s (-want +got):\n%s", firstName, first.repo, diff)
	}

	// Without the ids: placeholders and the flags named, exit 0; --apply
	// without them is a usage error and binds nothing.
	r = run(t, kube, "oidc-config", "--github-repo", "argo-cred-test/new", "--namespace", ns)
	for _, want := range []string{"# PLACEHOLDERS: OWNER_ID (--github-owner-id) and REPOSITORY_ID (--github-repo-id)", "# gh api repos/argo-cred-test/new --jq .owner.id,.id",
		`claims.repository_owner_id == "OWNER_ID"`, "name: gha:repo:argo-cred-test/new:ref:refs/heads/main:repository_id:REPOSITORY_ID"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("oidc-config without ids: exit %d, stdout lacks %q:\n%s", r.code, want, r.stdout)
		}
	}
	before, err := s.Client.RbacV1().RoleBindings(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{}, {"--github-owner-id", s.OIDCOwnerID}, {"--github-repo-id", "1007"}} {
		r = run(t, kube, append([]string{"oidc-config", "--github-repo", "argo-cred-test/new", "--namespace", ns, "--apply"}, args...)...)
		wantCode(t, r, 2, "give --github-owner-id and --github-repo-id")
	}
	after, err := s.Client.RbacV1().RoleBindings(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Items) != len(before.Items) {
		t.Errorf("--apply without ids: %d rolebindings, then %d", len(before.Items), len(after.Items))
	}
}
