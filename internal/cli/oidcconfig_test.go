package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Repositories whose readable slugs are equal, and the refs and
// environments of one repository, never share a Role/RoleBinding name;
// every name is a DNS label and the same user always gets the same name.
func TestOIDCConfigBindingNames(t *testing.T) {
	long := "octo-org/" + strings.Repeat("a", 40)
	users := map[string]struct{ repo, ref, environment, repoID string }{
		"app.x":                  {"octo-org/app.x", "refs/heads/main", "", "1"},
		"app_x":                  {"octo-org/app_x", "refs/heads/main", "", "2"},
		"APP-X":                  {"octo-org/APP-X", "refs/heads/main", "", "3"},
		"app-x":                  {"octo-org/app-x", "refs/heads/main", "", "4"},
		"long, one":              {long + "-one", "refs/heads/main", "", "5"},
		"long, two":              {long + "-two", "refs/heads/main", "", "6"},
		"longest, one":           {"o/" + strings.Repeat("b", 98) + "1", "refs/heads/main", "", "7"},
		"longest, two":           {"o/" + strings.Repeat("b", 98) + "2", "refs/heads/main", "", "8"},
		"no readable character":  {"_/_", "refs/heads/main", "", "9"},
		"another ref":            {"octo-org/app.x", "refs/heads/release", "", "1"},
		"an environment":         {"octo-org/app.x", "refs/heads/main", "prod", "1"},
		"re-created, another id": {"octo-org/app.x", "refs/heads/main", "", "10"},
	}
	seen := map[string]string{}
	for name, u := range users {
		user := githubUser(u.repo, u.ref, u.environment, u.repoID)
		got := bindingName(u.repo, user)
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("%s: %q is not a DNS label: %v", name, got, errs)
		}
		if !strings.HasPrefix(got, "gha-") {
			t.Errorf("%s: %q; want the prefix gha-", name, got)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("%s and %s share the name %q", name, other, got)
		}
		seen[got] = name
		if again := bindingName(u.repo, user); again != got {
			t.Errorf("%s: %q, then %q; want the same name each time", name, got, again)
		}
	}
	// Readable: the slug of the repository, then the hash.
	if got, want := bindingName("argo-cred-test/app", githubUser("argo-cred-test/app", "refs/heads/main", "", "101")), "gha-argo-cred-test-app-"; !strings.HasPrefix(got, want) || len(got) != len(want)+10 {
		t.Errorf("got %q; want %s and 10 hex digits", got, want)
	}
}

// Without GitHub's ids, oidc-config prints placeholders and says which flag
// fills each (exit 0); --apply without both ids, and ids that are not
// GitHub's digits, are usage errors before anything is printed or applied.
func TestOIDCConfigIDs(t *testing.T) {
	clearArgoEnv(t)
	base := []string{"oidc-config", "--github-repo", "octo-org/app", "--namespace", "ci"}
	tests := map[string]struct {
		args                []string
		code                int
		stdoutHas, stdoutNo []string
		stderrHas           string
	}{
		"no ids": {code: 0,
			stdoutHas: []string{"# PLACEHOLDERS: OWNER_ID (--github-owner-id) and REPOSITORY_ID (--github-repo-id)", "# gh api repos/octo-org/app --jq .owner.id,.id",
				`claims.repository_owner_id == "OWNER_ID"`, "name: gha:repo:octo-org/app:ref:refs/heads/main:repository_id:REPOSITORY_ID"},
			stderrHas: "warning: the output has placeholders"},
		"owner id only": {args: []string{"--github-owner-id", "65"}, code: 0,
			stdoutHas: []string{"# PLACEHOLDERS: REPOSITORY_ID (--github-repo-id).", `claims.repository_owner_id == "65"`, ":repository_id:REPOSITORY_ID"},
			stdoutNo:  []string{"OWNER_ID"}},
		"both ids": {args: []string{"--github-owner-id", "65", "--github-repo-id", "1296269"}, code: 0,
			stdoutHas: []string{`claims.repository_owner_id == "65"`, "name: gha:repo:octo-org/app:ref:refs/heads/main:repository_id:1296269",
				`expression: '"gha:" + claims.sub + ":repository_id:" + claims.repository_id'`},
			stdoutNo: []string{"PLACEHOLDERS", "OWNER_ID", "REPOSITORY_ID", "claims.repository_owner =="}},
		"apply without ids":      {args: []string{"--apply"}, code: 2, stderrHas: "--apply needs GitHub's ids of the owner and the repository: it never binds a placeholder user; give --github-owner-id and --github-repo-id"},
		"apply without repo id":  {args: []string{"--apply", "--github-owner-id", "65"}, code: 2, stderrHas: "give --github-owner-id and --github-repo-id"},
		"apply without owner id": {args: []string{"--apply", "--github-repo-id", "1296269"}, code: 2, stderrHas: "give --github-owner-id and --github-repo-id"},
		"owner id not digits":    {args: []string{"--github-owner-id", "octo-org"}, code: 2, stderrHas: `invalid --github-owner-id "octo-org"`},
		"repo id with a quote":   {args: []string{"--github-repo-id", `1" || true || "`}, code: 2, stderrHas: "invalid --github-repo-id"},
		"leading zero":           {args: []string{"--github-owner-id", "065"}, code: 2, stderrHas: `invalid --github-owner-id "065"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := runCLI(append(base, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.stderrHas) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.stderrHas)
			}
			if tc.code != 0 && stdout != "" {
				t.Errorf("a usage error printed on stdout:\n%s", stdout)
			}
			for _, want := range tc.stdoutHas {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			for _, no := range tc.stdoutNo {
				if strings.Contains(stdout, no) {
					t.Errorf("stdout has %q:\n%s", no, stdout)
				}
			}
			if tc.code == 0 && !strings.HasPrefix(stdout, "#") {
				t.Errorf("the comments are not above the documents:\n%s", stdout)
			}
		})
	}
}

// --only prints one part alone, each a valid YAML stream with only its
// documents: the AuthenticationConfiguration for the control-plane hosts,
// or the Role and RoleBinding for kubectl apply. A placeholder note names
// only the ids that part holds.
func TestOIDCConfigOnly(t *testing.T) {
	clearArgoEnv(t)
	base := []string{"oidc-config", "--github-repo", "octo-org/app", "--namespace", "ci"}
	ids := []string{"--github-owner-id", "65", "--github-repo-id", "1296269"}
	tests := map[string]struct {
		args      []string
		kinds     []string
		has, lack []string
		stderr    string
	}{
		"both": {args: ids, kinds: []string{"AuthenticationConfiguration", "Role", "RoleBinding"}},
		"authentication-config": {args: append([]string{"--only", "authentication-config"}, ids...), kinds: []string{"AuthenticationConfiguration"},
			has: []string{"# kube-apiserver --authentication-config", `claims.repository_owner_id == "65"`}, lack: []string{"---", "RoleBinding"}},
		"rbac": {args: append([]string{"--only", "rbac"}, ids...), kinds: []string{"Role", "RoleBinding"},
			has: []string{`# The Role and RoleBinding of the user "gha:repo:octo-org/app:ref:refs/heads/main:repository_id:1296269"`}, lack: []string{"kube-apiserver", "claims"}},
		"authentication-config, no repository id": {args: []string{"--only", "authentication-config", "--github-owner-id", "65"}, kinds: []string{"AuthenticationConfiguration"},
			has: []string{`get the user "gha:<sub>:repository_id:<repository_id>"`}, lack: []string{"PLACEHOLDERS", "REPOSITORY_ID"}},
		"rbac, no owner id": {args: []string{"--only", "rbac", "--github-repo-id", "1296269"}, kinds: []string{"Role", "RoleBinding"}, lack: []string{"PLACEHOLDERS", "OWNER_ID"}},
		"rbac, no ids": {args: []string{"--only", "rbac"}, kinds: []string{"Role", "RoleBinding"},
			has: []string{"# PLACEHOLDERS: REPOSITORY_ID (--github-repo-id)."}, lack: []string{"OWNER_ID"},
			stderr: "warning: the output has placeholders for GitHub's ids: give --github-repo-id\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := runCLI(append(base, tc.args...)...)
			if code != 0 || stderr != tc.stderr {
				t.Fatalf("exit %d, stderr %q; want exit 0 and %q", code, stderr, tc.stderr)
			}
			var kinds []string
			for _, doc := range strings.Split(stdout, "---\n") {
				var m struct{ Kind string }
				if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
					t.Fatalf("not YAML: %v\n%s", err, doc)
				}
				kinds = append(kinds, m.Kind)
			}
			if diff := cmp.Diff(tc.kinds, kinds); diff != "" {
				t.Errorf("documents (-want +got):\n%s\n%s", diff, stdout)
			}
			for _, s := range tc.has {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range tc.lack {
				if strings.Contains(stdout, s) {
					t.Errorf("stdout has %q:\n%s", s, stdout)
				}
			}
		})
	}
	stdout, stderr, code := runCLI(append(base, "--only", "kubeconfig")...)
	if code != 2 || stdout != "" || !strings.Contains(stderr, `error: unknown --only "kubeconfig"; use authentication-config or rbac, or no --only for both`) {
		t.Errorf("--only kubeconfig: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
