package github

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/keyless"
	"github.com/argo-cred/argo-cred/internal/testenv"
)

// ids are the inputs of OIDCConfig the tests vary.
type ids struct {
	ownerID, repoID, only string
	apply                 bool
}

// runOIDCConfig runs oidc-config for octo-org/app in namespace ci, as
// argo-cred would: stderr gets the error line, code its exit code.
func runOIDCConfig(in ids) (stdout, stderr string, code int) {
	c := OIDCConfig{Flags: Flags{Repo: "octo-org/app", OwnerID: in.ownerID, RepoID: in.repoID}, Ref: "refs/heads/main",
		Config: keyless.Config{Issuer: Issuer, Namespace: "ci", Only: in.only, Apply: in.apply}}
	var out, errOut strings.Builder
	err := c.Do(context.Background(), &out, &errOut)
	if err != nil {
		errOut.WriteString(exitcode.Line(err) + "\n")
	}
	return out.String(), errOut.String(), int(exitcode.Of(err))
}

// Without GitHub's ids, oidc-config prints placeholders and says which flag
// fills each (exit 0); --apply without both ids, and ids that are not
// GitHub's digits, are usage errors before anything is printed or applied.
func TestOIDCConfigIDs(t *testing.T) {
	tests := map[string]struct {
		in                  ids
		code                int
		stdoutHas, stdoutNo []string
		stderrHas           string
	}{
		"no ids": {code: 0,
			stdoutHas: []string{"# PLACEHOLDERS: OWNER_ID (--github-owner-id) and REPOSITORY_ID (--github-repo-id)", "# gh api repos/octo-org/app --jq .owner.id,.id",
				`claims.repository_owner_id == "OWNER_ID"`, "name: gha:repo:octo-org/app:ref:refs/heads/main:repository_id:REPOSITORY_ID"},
			stderrHas: "warning: the output has placeholders"},
		"owner id only": {in: ids{ownerID: "65"}, code: 0,
			stdoutHas: []string{"# PLACEHOLDERS: REPOSITORY_ID (--github-repo-id).", `claims.repository_owner_id == "65"`, ":repository_id:REPOSITORY_ID"},
			stdoutNo:  []string{"OWNER_ID"}},
		"both ids": {in: ids{ownerID: "65", repoID: "1296269"}, code: 0,
			stdoutHas: []string{`claims.repository_owner_id == "65"`, "name: gha:repo:octo-org/app:ref:refs/heads/main:repository_id:1296269",
				`expression: '"gha:" + claims.sub + ":repository_id:" + claims.repository_id'`},
			stdoutNo: []string{"PLACEHOLDERS", "OWNER_ID", "REPOSITORY_ID", "claims.repository_owner =="}},
		"apply without ids":      {in: ids{apply: true}, code: 2, stderrHas: "--apply needs GitHub's ids of the owner and the repository: it never binds a placeholder user; give --github-owner-id and --github-repo-id"},
		"apply without repo id":  {in: ids{apply: true, ownerID: "65"}, code: 2, stderrHas: "give --github-owner-id and --github-repo-id"},
		"apply without owner id": {in: ids{apply: true, repoID: "1296269"}, code: 2, stderrHas: "give --github-owner-id and --github-repo-id"},
		"owner id not digits":    {in: ids{ownerID: "octo-org"}, code: 2, stderrHas: `invalid --github-owner-id "octo-org"`},
		"repo id with a quote":   {in: ids{repoID: `1" || true || "`}, code: 2, stderrHas: "invalid --github-repo-id"},
		"leading zero":           {in: ids{ownerID: "065"}, code: 2, stderrHas: `invalid --github-owner-id "065"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := runOIDCConfig(tc.in)
			if code != tc.code || !strings.Contains(stderr, tc.stderrHas) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.stderrHas)
			}
			if tc.code != 0 && stdout != "" {
				t.Errorf("a usage error printed on stdout:\n%s", stdout)
			}
			testenv.HasLack(t, "stdout", stdout, tc.stdoutHas, tc.stdoutNo)
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
	tests := map[string]struct {
		in        ids
		kinds     []string
		has, lack []string
		stderr    string
	}{
		"both": {in: ids{ownerID: "65", repoID: "1296269"}, kinds: []string{"AuthenticationConfiguration", "Role", "RoleBinding"}},
		"authentication-config": {in: ids{only: "authentication-config", ownerID: "65", repoID: "1296269"}, kinds: []string{"AuthenticationConfiguration"},
			has: []string{"# kube-apiserver --authentication-config", `claims.repository_owner_id == "65"`}, lack: []string{"---", "RoleBinding"}},
		"rbac": {in: ids{only: "rbac", ownerID: "65", repoID: "1296269"}, kinds: []string{"Role", "RoleBinding"},
			has: []string{`# The Role and RoleBinding of the user "gha:repo:octo-org/app:ref:refs/heads/main:repository_id:1296269"`}, lack: []string{"kube-apiserver", "claims"}},
		"authentication-config, no repository id": {in: ids{only: "authentication-config", ownerID: "65"}, kinds: []string{"AuthenticationConfiguration"},
			has: []string{`get the user "gha:<sub>:repository_id:<repository_id>"`}, lack: []string{"PLACEHOLDERS", "REPOSITORY_ID"}},
		"rbac, no owner id": {in: ids{only: "rbac", repoID: "1296269"}, kinds: []string{"Role", "RoleBinding"}, lack: []string{"PLACEHOLDERS", "OWNER_ID"}},
		"rbac, no ids": {in: ids{only: "rbac"}, kinds: []string{"Role", "RoleBinding"},
			has: []string{"# PLACEHOLDERS: REPOSITORY_ID (--github-repo-id)."}, lack: []string{"OWNER_ID"},
			stderr: "warning: the output has placeholders for GitHub's ids: give --github-repo-id\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := runOIDCConfig(tc.in)
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
			testenv.HasLack(t, "stdout", stdout, tc.has, tc.lack)
		})
	}
	stdout, stderr, code := runOIDCConfig(ids{only: "kubeconfig"})
	if code != 2 || stdout != "" || !strings.Contains(stderr, `error: unknown --only "kubeconfig"; use authentication-config or rbac, or no --only for both`) {
		t.Errorf("--only kubeconfig: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// A ref or environment with a ':', or any Unicode space, control or format
// character, is refused before anything is printed: YAML prints a NEL as a
// space, so the printed RoleBinding bound another environment's user
// ("prod x") than --apply.
func TestOIDCConfigRefChars(t *testing.T) {
	for _, env := range []string{"prod x", "prod:x", "prod\u0085x", "prod\u2028x", "prod\u0080", "pr\u200bod", "prod\tx"} {
		c := OIDCConfig{Flags: Flags{Repo: "octo-org/app"}, Ref: "refs/heads/main", Environment: env, Config: keyless.Config{Issuer: Issuer}}
		var out strings.Builder
		err := c.Do(context.Background(), &out, &out)
		if exitcode.Of(err) != exitcode.Usage || out.Len() > 0 {
			t.Errorf("--environment %q: %v, printed %d bytes; want a usage error, nothing printed", env, err, out.Len())
		}
	}
}
