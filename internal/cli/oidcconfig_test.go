package cli

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/github"
	"github.com/argo-cred/argo-cred/internal/gitlab"
	"github.com/argo-cred/argo-cred/internal/keyless"
)

// oidc-config hands each of its flags to github.OIDCConfig (which its tests
// cover) and prints what it prints, unchanged.
func TestOIDCConfigFlags(t *testing.T) {
	clearArgoEnv(t)
	tests := map[string]struct {
		args []string
		want interface {
			Do(context.Context, io.Writer, io.Writer) error
		}
	}{
		"defaults": {args: []string{"--github-repo", "octo-org/app"},
			want: github.OIDCConfig{Flags: github.Flags{Repo: "octo-org/app"}, Ref: "refs/heads/main", Config: keyless.Config{Issuer: github.Issuer}}},
		"every flag": {args: []string{"--github-repo", "octo-org/app", "--github-owner-id", "65", "--github-repo-id", "1296269",
			"--environment", "prod", "--namespace", "ci", "--allow", "workflows:get", "--audience", "aud", "--issuer", "https://ghe.example/_services/token", "--only", "rbac"},
			want: github.OIDCConfig{Flags: github.Flags{Repo: "octo-org/app", OwnerID: "65", RepoID: "1296269"}, Ref: "refs/heads/main", Environment: "prod",
				Config: keyless.Config{Issuer: "https://ghe.example/_services/token", Audiences: []string{"aud"}, Namespace: "ci", Allow: []string{"workflows:get"}, Only: "rbac"}}},
		"gitlab defaults": {args: []string{"--gitlab-project", "my-group/app"},
			want: gitlab.OIDCConfig{Flags: gitlab.Flags{Project: "my-group/app"}, Ref: "refs/heads/main"}},
		"gitlab, every flag": {args: []string{"--gitlab-project", "my-group/app", "--gitlab-project-id", "42", "--gitlab-namespace-id", "7", "--ref", "refs/tags/v1",
			"--environment", "prod", "--namespace", "ci", "--allow", "workflows:get", "--audience", "aud", "--issuer", "https://gitlab.example", "--only", "authentication-config"},
			want: gitlab.OIDCConfig{Flags: gitlab.Flags{Project: "my-group/app", ProjectID: "42", NamespaceID: "7"}, Ref: "refs/tags/v1", Environment: "prod",
				Config: keyless.Config{Issuer: "https://gitlab.example", Audiences: []string{"aud"}, Namespace: "ci", Allow: []string{"workflows:get"}, Only: "authentication-config"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := runCLI(append([]string{"oidc-config"}, tc.args...)...)
			var out, errOut strings.Builder
			err := tc.want.Do(context.Background(), &out, &errOut)
			if code != 0 || err != nil {
				t.Fatalf("exit %d, stderr %q; Do: %v", code, stderr, err)
			}
			if diff := cmp.Diff(out.String(), stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(errOut.String(), stderr); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

// oidc-config takes one CI's flags: both, or none, is a usage error before
// anything is printed.
func TestOIDCConfigOneCI(t *testing.T) {
	clearArgoEnv(t)
	for args, want := range map[string]string{
		"":                                       "error: oidc-config needs the jobs' repository; give --github-repo OWNER/REPO for GitHub Actions, or --gitlab-project GROUP/PROJECT for GitLab CI",
		"--github-repo o/r --gitlab-project g/p": "error: --gitlab-* and --github-* flags both given",
		"--gitlab-project g/p --github-owner-id 1": "error: --gitlab-* and --github-* flags both given",
		"--github-repo o/r --gitlab-project-id 1":  "error: --gitlab-* and --github-* flags both given",
		"--gitlab-project-id 1":                    `error: invalid --gitlab-project ""`,
	} {
		stdout, stderr, code := runCLI(append([]string{"oidc-config"}, strings.Fields(args)...)...)
		if code != 2 || stdout != "" || !strings.HasPrefix(stderr, want) {
			t.Errorf("oidc-config %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", args, code, stdout, stderr, want)
		}
	}
}
