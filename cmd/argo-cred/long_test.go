package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// The TestLong* tests run jobs that outlive their tokens for real, as the
// issue measured them; make test-long runs them (make test does not).

// A keyless job with GitHub's kind of token (75 s here; GitHub's live about
// 5 minutes) runs argo submit --wait of a workflow that takes 3 minutes:
// exit 0, or 1 when the workflow fails, across several watch ends and
// renewals.
func TestLongKeylessSubmitWait(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	user := stackUser(s)
	bindUser(t, s, ns, user, "get", "list", "watch", "create")
	job := append(keylessJob(s, map[string]any{"ttl": 75}), "ARGO_NAMESPACE="+ns, "PATH="+filepath.Dir(s.ArgoBin)+":"+os.Getenv("PATH"))
	for name, fail := range map[string]bool{"succeeds": false, "fails": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			r := runFor(t, 6*time.Minute, job, "exec", "--source", "github-oidc", "--", "argo", "submit", "--wait", standInWorkflow(t, "3m", fail))
			want, phase := 0, " Succeeded at "
			if fail {
				want, phase = 1, " Failed at "
			}
			if r.code != want || !strings.Contains(r.stdout, phase) || time.Since(start) < 3*time.Minute {
				t.Fatalf("exit %d after %s; want %d and %q after 3 minutes\nstdout:\n%s\nstderr:\n%s", r.code, time.Since(start).Round(time.Second), want, phase, r.stdout, r.stderr)
			}
		})
	}
	t.Cleanup(func() {
		if n := s.WatchesOpened(t, ns, "workflows", user); !t.Failed() && n < 6 {
			t.Errorf("the job's identity opened %d workflow watches; want at least 6 (two waits of 3 minutes, watches ending every 30-60 s)", n)
		}
	})
}

// A TokenRequest token lives at least 10 minutes (kube-apiserver's limit):
// a 14-minute wait renews it twice, from the same ServiceAccount.
func TestLongTokenRequestRenewedTwice(t *testing.T) {
	t.Parallel()
	f := setup(t, []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"get", "list", "watch", "create"}}})
	env := append(f.plain(), "ARGO_NAMESPACE="+f.ns, "PATH="+filepath.Dir(f.s.ArgoBin)+":"+os.Getenv("PATH"))
	start := time.Now()
	r := runFor(t, 20*time.Minute, env, "exec", "-v", "--service-account", "ci", "--secret-namespace", f.ns, "--duration", "10m",
		"--", "argo", "submit", "--wait", standInWorkflow(t, "14m", false))
	if r.code != 0 || !strings.Contains(r.stdout, " Succeeded at ") {
		t.Fatalf("exit %d after %s\nstdout:\n%s\nstderr:\n%s", r.code, time.Since(start).Round(time.Second), r.stdout, r.stderr)
	}
	if n := strings.Count(r.stderr, "renewed the token"); n < 2 {
		t.Errorf("%d renewals logged, want 2:\n%s", n, r.stderr)
	}
}
