package main

import (
	"strings"
	"testing"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// TestAdversaryOIDCEnvTokenReachesTheCommand: behind the relay, "the
// command's environment holds the per-run value, never the real token"
// (long-jobs.md). With --oidc-env NAME the real token is NAME's value, and
// exec's curated environment drops only ARGO_* and KUBECONFIG: the command
// (argo, and whatever it or a shell script runs) gets the real token.
func TestAdversaryOIDCEnvTokenReachesTheCommand(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	bindUser(t, s, ns, stackUser(s), "get", "list", "watch")
	r := run(t, keylessJob(s, nil), "env", "--source", "github-oidc", "--namespace", ns, "--format", "json")
	tok := between(r.stdout, `"ARGO_TOKEN": "Bearer `, `"`)
	if r.code != 0 || tok == "" {
		t.Fatalf("no token: exit %d\n%s", r.code, r.stderr)
	}
	job := []string{"CI_ARGO_ID_TOKEN=" + tok, "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false", "ARGO_CRED_AUDIENCE=" + s.OIDCAudience}
	r = run(t, job, "exec", "--oidc-env", "CI_ARGO_ID_TOKEN", "--namespace", ns, "--relay", "always", "--", "sh", "-c", "env")
	if r.code != 0 || !strings.Contains(r.stdout, "ARGO_TOKEN=Bearer argo-cred-relay.") {
		t.Fatalf("exit %d, not behind the relay:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	noLeak(t, tok, "the environment of the command behind the relay", r.stdout)
}
