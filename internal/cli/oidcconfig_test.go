package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/github"
)

// oidc-config hands each of its flags to github.OIDCConfig (which its tests
// cover) and prints what it prints, unchanged.
func TestOIDCConfigFlags(t *testing.T) {
	clearArgoEnv(t)
	tests := map[string]struct {
		args []string
		want github.OIDCConfig
	}{
		"defaults": {args: []string{"--github-repo", "octo-org/app"},
			want: github.OIDCConfig{Repo: "octo-org/app", Ref: "refs/heads/main", Issuer: github.Issuer}},
		"every flag": {args: []string{"--github-repo", "octo-org/app", "--github-owner-id", "65", "--github-repo-id", "1296269",
			"--environment", "prod", "--namespace", "ci", "--allow", "workflows:get", "--audience", "aud", "--issuer", "https://ghe.example/_services/token", "--only", "rbac"},
			want: github.OIDCConfig{Repo: "octo-org/app", OwnerID: "65", RepoID: "1296269", Ref: "refs/heads/main", Environment: "prod",
				Issuer: "https://ghe.example/_services/token", Audiences: []string{"aud"}, Namespace: "ci", Allow: []string{"workflows:get"}, Only: "rbac"}},
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
