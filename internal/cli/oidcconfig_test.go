package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

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
