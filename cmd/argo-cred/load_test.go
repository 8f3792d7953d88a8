package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// percentile of sorted durations.
func percentile(d []time.Duration, p float64) time.Duration {
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// kubeRequests counts the requests with user agent argo-cred/… about
// objects of namespace ns in the stack's audit log.
func kubeRequests(t *testing.T, s *testenv.Stack, ns string) int {
	t.Helper()
	return len(s.Audit(t, func(ev testenv.AuditEvent) bool {
		return ev.Stage == "ResponseComplete" && ev.ObjectRef.Namespace == ns && strings.HasPrefix(ev.UserAgent, "argo-cred/")
	}))
}

// Load: 200 argo-cred env runs at once against one stack (a private Argo
// Server that logs every call): no failure, and at most 4 requests per run
// once the token exists (Kubernetes: reading the Secret; Argo: userinfo and
// the two list calls), counted from the API server's audit log and the
// Argo Server's own log. The latency distribution is logged (make
// reliability prints it), not asserted.
func TestIntegrationLoad(t *testing.T) {
	s := testenv.Get(t)
	ns, _ := s.SeedIdentity(t)
	srv := s.StartArgoServer(t, "--loglevel", "info")
	const n = 200
	env := []string{"KUBECONFIG=" + s.Kubeconfig, "ARGO_SERVER=" + srv.Addr, "ARGO_SECURE=false"}
	lat := make([]time.Duration, n)
	start := time.Now()
	results := runAll(n, func(i int) result {
		t0 := time.Now()
		defer func() { lat[i] = time.Since(t0) }()
		return run(t, env, "env", "--secret", "ci", "--namespace", ns, "--timeout", "60s")
	})
	wall := time.Since(start)
	failed := 0
	for _, r := range results {
		if r.code != 0 {
			failed++
			if failed <= 3 {
				t.Errorf("a run failed: exit %d\n%s", r.code, r.stderr)
			}
		}
	}
	srv.Stop()
	slices.Sort(lat)
	kube := kubeRequests(t, s, ns)
	// The test's own readiness check (GetVersion) is not argo-cred's.
	argo := strings.Count(srv.Logs(), "finished unary call") - strings.Count(srv.Logs(), "grpc.method=GetVersion")
	perRun := float64(kube+argo) / n
	t.Logf("load: %d concurrent env runs in %s, %d failed; latency p50 %s, p95 %s, max %s; %d Kubernetes and %d Argo requests, %.2f per run",
		n, wall.Round(time.Millisecond), failed, percentile(lat, .5).Round(time.Millisecond), percentile(lat, .95).Round(time.Millisecond),
		lat[n-1].Round(time.Millisecond), kube, argo, perRun)
	if kube+argo > 4*n {
		t.Errorf("%d requests for %d runs; want at most 4 per run", kube+argo, n)
	}
	if kube == 0 || argo == 0 {
		t.Errorf("counted %d Kubernetes and %d Argo requests: the count proves nothing", kube, argo)
	}
}

// 50 rotations of distinct clients at once: every client ends with one
// working token and its old one rejected.
func TestIntegrationLoadRotate(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	const n = 50
	provisioned := runAll(n, func(i int) result {
		return run(t, env, "provision", "--client", fmt.Sprintf("r-%02d", i), "--namespace", ns, "--timeout", "60s", "--wait", "60s")
	})
	start := time.Now()
	results := runAll(n, func(i int) result {
		if provisioned[i].code != 0 {
			return provisioned[i]
		}
		return run(t, env, "rotate", "--client", fmt.Sprintf("r-%02d", i), "--namespace", ns, "--timeout", "60s", "--wait", "60s")
	})
	t.Logf("load: %d concurrent rotations in %s", n, time.Since(start).Round(time.Millisecond))
	for i, r := range results {
		if r.code != 0 || !strings.Contains(r.stderr, "rotate: rotated") {
			t.Errorf("client r-%02d: exit %d\n%s", i, r.code, r.stderr)
		}
	}
}
