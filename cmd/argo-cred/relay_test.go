package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// runFor is run with a limit of its own, for jobs that last.
func runFor(t *testing.T, limit time.Duration, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return result{stdout: out.String(), stderr: errOut.String(), code: exitCode(t, "argo-cred", err)}
}

// bindUser lets user do verbs on workflows in ns.
func bindUser(t *testing.T, s *testenv.Stack, ns, user string, verbs ...string) {
	t.Helper()
	ctx := context.Background()
	meta := metav1.ObjectMeta{Name: "job", Namespace: ns}
	_, err := s.Client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: meta,
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: verbs}}}, metav1.CreateOptions{})
	must(t, err)
	_, err = s.Client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: meta,
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: user}},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "job"}}, metav1.CreateOptions{})
	must(t, err)
}

// standInWorkflow writes a workflow the stack's stand-in controller runs
// for duration, then fails when fail is set.
func standInWorkflow(t *testing.T, duration string, fail bool) string {
	t.Helper()
	annotations := "argo-cred.test/duration: " + duration
	if fail {
		annotations += ", argo-cred.test/outcome: Failed"
	}
	p := filepath.Join(t.TempDir(), "wf.yaml")
	must(t, os.WriteFile(p, []byte("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: long-, annotations: {"+annotations+"}}\n"+
		"spec: {entrypoint: main, templates: [{name: main, container: {image: busybox}}]}\n"), 0o600))
	return p
}

// A keyless job whose OIDC token lives 20 s, behind exec's relay: argo
// submit --wait of a workflow that runs 65 s (the token expires three times,
// and the Argo Server's watch ends at least once: the stack's API server
// ends watches after 30-60 s) exits as the workflow ends; a job of several
// commands crosses expiry; over gRPC and HTTP/1. The audit log shows the
// job's identity re-opened the watch.
func TestIntegrationRelayKeyless(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	user := stackUser(s)
	bindUser(t, s, ns, user, "get", "list", "watch", "create")
	job := append(keylessJob(s, map[string]any{"ttl": 20}), "ARGO_NAMESPACE="+ns)
	cases := map[string]struct {
		env    []string
		script string
		code   int
		out    string
	}{
		"grpc submit --wait":         {script: "argo submit --wait " + standInWorkflow(t, "65s", false), out: " Succeeded at "},
		"grpc submit --wait, failed": {script: "argo submit --wait " + standInWorkflow(t, "65s", true), code: 1, out: " Failed at "},
		"http1 submit --wait":        {env: []string{"ARGO_HTTP1=true"}, script: "argo submit --wait " + standInWorkflow(t, "65s", false), out: " Succeeded at "},
		"commands across expiry": {script: "name=$(argo submit -o name " + standInWorkflow(t, "10s", false) + ") && sleep 45 && argo list | grep -q Succeeded && argo wait \"$name\"",
			out: " Succeeded at "},
	}
	var waits atomic.Int32 // the 65 s waits that ran
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if strings.Contains(c.script, "--wait") {
				waits.Add(1)
			}
			start := time.Now()
			r := runFor(t, 3*time.Minute, append(append(append([]string{}, job...), c.env...), "PATH="+filepath.Dir(s.ArgoBin)+":"+os.Getenv("PATH")),
				"exec", "--source", "github-oidc", "--min-lifetime", "5s", "--", "sh", "-c", c.script)
			if r.code != c.code || !strings.Contains(r.stdout, c.out) {
				t.Fatalf("exit %d after %s, want %d and %q\nstdout:\n%s\nstderr:\n%s", r.code, time.Since(start).Round(time.Second), c.code, c.out, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, "renews the token before it expires") {
				t.Errorf("no note that the token is renewed:\n%s", r.stderr)
			}
		})
	}
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		// Each wait of 65 s re-opened its watch at least once.
		if n, w := s.WatchesOpened(t, ns, "workflows", user), int(waits.Load()); n < 2*w {
			t.Errorf("the job's identity opened %d workflow watches in %s; want at least %d (%d waits, each across a watch end)", n, ns, 2*w, w)
		}
	})
}

// The relay serves only its command: a request without the per-run value,
// or with the real token, is refused (401) before it reaches the Argo
// Server; the command's environment holds no form of the real token; the
// relay is gone when the command ends.
func TestIntegrationRelayServesOnlyItsCommand(t *testing.T) {
	t.Parallel()
	f := setup(t, testenv.WorkflowsListUpdate)
	dir := t.TempDir()
	script := `set -e
echo "$ARGO_SERVER" >` + dir + `/server
env >` + dir + `/env
url="http://$ARGO_SERVER/api/v1/workflows/$ARGO_NAMESPACE?listOptions.limit=1"
for auth in "" "Authorization: Bearer nothing" "Authorization: Bearer $REAL" "Authorization: $ARGO_TOKEN"; do
	curl -s -o /dev/null -w '%{http_code} ' -H "$auth" "$url"
done`
	r := run(t, append(f.plain(), "ARGO_TOKEN="+f.token, "REAL="+f.token), "exec", "--relay", "always", "--", "sh", "-c", script)
	if r.code != 0 || r.stdout != "401 401 401 200 " {
		t.Fatalf("exit %d, answers %q; want 401 401 401 200\n%s", r.code, r.stdout, r.stderr)
	}
	env, err := os.ReadFile(filepath.Join(dir, "env"))
	must(t, err)
	noLeak(t, f.token, "the command's environment (but REAL)", strings.ReplaceAll(string(env), "REAL="+f.token, ""))
	noLeak(t, f.token, "stderr", r.stderr)
	server, err := os.ReadFile(filepath.Join(dir, "server"))
	must(t, err)
	addr := strings.TrimSpace(string(server))
	if !strings.HasPrefix(addr, "127.0.0.1:") || addr == f.s.ArgoServer {
		t.Fatalf("ARGO_SERVER %q, want the relay on 127.0.0.1", addr)
	}
	if out, err := exec.Command("curl", "-s", "-m", "5", "http://"+addr+"/").CombinedOutput(); err == nil {
		t.Errorf("the relay %s still answers after the command ended: %s", addr, out)
	}
}

// A job runs argo submit --wait (a 100 s workflow) behind the relay with
// --client (its identity may only get CLIENT-token-current) while the client
// is rotated with a grace period, and the grace is finished (the old token
// deleted and proven rejected) before the wait ends: the relay moves the job to the new
// token when the server refuses the old one, and the job succeeds; the next
// job with the same flags gets the new token.
func TestIntegrationRelayRotation(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	admin := lifecycleEnv(s)
	wantCode(t, run(t, admin, "provision", "--client", "team", "--namespace", ns, "--allow", "workflows:get,list,watch,create"), 0, "")
	job := []string{"KUBECONFIG=" + currentReaderKubeconfig(t, s, ns, "team"), "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false",
		"PATH=" + filepath.Dir(s.ArgoBin) + ":" + os.Getenv("PATH")}
	p := start(t, job, "exec", "-v", "--client", "team", "--namespace", ns, "--expect", "allow:workflows/create", "--",
		"argo", "submit", "--wait", "-n", ns, standInWorkflow(t, "100s", false))
	p.said(t, "verified:")
	wantCode(t, run(t, admin, "rotate", "--client", "team", "--namespace", ns, "--grace", "10s"), 0, "stays valid until")
	time.Sleep(11 * time.Second) // the grace, which nothing ends by itself
	wantCode(t, run(t, admin, "rotate", "--client", "team", "--namespace", ns, "--finish"), 0, "")
	// Every watch opened before the finish (within 30 s) ends within 60 s
	// more (the stack's API server), so the wait re-opens one after it.
	select {
	case <-p.ended:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the job did not end within 2 minutes of the rotation:\n%s", p.stderr.String())
	}
	r := result{stdout: p.stdout.String(), stderr: p.stderr.String(), code: p.cmd.ProcessState.ExitCode()}
	if r.code != 0 || !strings.Contains(r.stdout, " Succeeded at ") {
		t.Fatalf("the job across the rotation: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "relay: renewed the token") {
		t.Errorf("the relay did not move the job to the new token:\n%s", r.stderr)
	}
	wantCode(t, run(t, job, "exec", "--client", "team", "--namespace", ns, "--", "argo", "list", "-n", ns), 0, "verified:")
}
