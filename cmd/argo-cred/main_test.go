package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// binary is argo-cred built once for the tests: they run the real program,
// each with its own environment, so they can run in parallel.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "argo-cred-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "argo-cred")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs argo-cred with only the environment given (plus PATH and HOME).
func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runFor(t, 60*time.Second, env, args...)
}

// runAll calls f(0) … f(n-1) at once and returns their results in order.
func runAll(n int, f func(i int) result) []result {
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = f(i)
		}()
	}
	wg.Wait()
	return results
}

// exitCode is the exit code of a process that ran; it fails t when the
// process could not run.
func exitCode(t *testing.T, what string, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("running %s: %v", what, err)
	}
	return 0
}

// noLeak fails if any form of tok appears where it must not.
func noLeak(t *testing.T, tok, where, s string) {
	t.Helper()
	for _, form := range []string{tok, base64.StdEncoding.EncodeToString([]byte(tok)), tok[len(tok)-20:]} {
		if strings.Contains(s, form) {
			t.Errorf("the token appears in %s:\n%s", where, s)
		}
	}
}

func wantCode(t *testing.T, r result, code int, stderrHas string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stderr, stderrHas) {
		t.Errorf("exit %d, stderr:\n%s\nwant exit %d and stderr containing %q", r.code, r.stderr, code, stderrHas)
	}
	if code != 0 && r.stdout != "" {
		t.Errorf("stdout on failure: %q; want nothing", r.stdout)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if code != 0 && !strings.HasPrefix(lines[len(lines)-1], "error: ") {
		t.Errorf("last stderr line %q; want one error line", lines[len(lines)-1])
	}
}

// fixture is a namespace with the seed's identity "ci" in it.
type fixture struct {
	s     *testenv.Stack
	ns    string
	token string
	kube  []string // environment for Kubernetes access
}

func setup(t *testing.T, rules []rbacv1.PolicyRule) fixture {
	t.Helper()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	s.Identity(t, ns, "ci", rules)
	return fixture{s: s, ns: ns, token: s.WaitToken(t, ns, "ci"), kube: []string{"KUBECONFIG=" + s.Kubeconfig}}
}

func (f fixture) plain() []string {
	return append(f.kube, "ARGO_SERVER="+f.s.ArgoServer, "ARGO_SECURE=false")
}

func TestIntegrationSources(t *testing.T) {
	t.Parallel()
	f := setup(t, testenv.WorkflowsListUpdate)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(f.token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sources := map[string]struct {
		env  []string
		args []string
	}{
		"secret":       {args: []string{"--secret", "ci", "--namespace", f.ns}},
		"tokenrequest": {args: []string{"--service-account", "ci", "--secret-namespace", f.ns, "--duration", "10m"}},
		"file":         {args: []string{"--token-file", tokenFile}},
		"env raw":      {env: []string{"ARGO_TOKEN=" + f.token}},
		"env bearer":   {env: []string{"ARGO_TOKEN=Bearer " + f.token}},
	}
	transports := map[string][]string{
		"grpc plain":           {"--server", f.s.ArgoServer, "--secure=false"},
		"http1 plain":          {"--server", f.s.ArgoServer, "--secure=false", "--http1"},
		"grpc tls ca":          {"--server", f.s.ArgoServerTLS, "--ca-file", f.s.CAFile},
		"http1 tls ca":         {"--server", "https://" + f.s.ArgoServerTLS, "--ca-file", f.s.CAFile, "--http1"},
		"grpc tls skip-verify": {"--server", f.s.ArgoServerTLS, "--insecure-skip-verify"},
		"http1 tls skip":       {"--server", f.s.ArgoServerTLS, "--insecure-skip-verify", "--http1"},
	}
	for sname, src := range sources {
		for tname, tr := range transports {
			t.Run(sname+"/"+tname, func(t *testing.T) {
				t.Parallel()
				args := append(append([]string{"env", "--format", "json"}, src.args...), tr...)
				r := run(t, append(append([]string{}, f.kube...), src.env...), args...)
				if r.code != 0 {
					t.Fatalf("exit %d: %s", r.code, r.stderr)
				}
				var got map[string]string
				if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
					t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
				}
				if got["ARGO_NAMESPACE"] != f.ns || got["KUBECONFIG"] != "" || !strings.HasPrefix(got["ARGO_TOKEN"], "Bearer ey") || strings.HasPrefix(got["ARGO_TOKEN"], "Bearer Bearer") {
					t.Errorf("settings: %v", got)
				}
				if sname != "tokenrequest" && got["ARGO_TOKEN"] != "Bearer "+f.token {
					t.Errorf("ARGO_TOKEN is not the source's token")
				}
				noLeak(t, strings.TrimPrefix(got["ARGO_TOKEN"], "Bearer "), "stderr", r.stderr)
			})
		}
	}
}

// After eval "$(argo-cred env …)", the real argo CLI can list workflows and
// is refused workflow templates.
func TestIntegrationEvalThenArgo(t *testing.T) {
	t.Parallel()
	f := setup(t, testenv.WorkflowsListUpdate)
	for name, server := range map[string]string{
		"grpc plain":   "--server " + f.s.ArgoServer + " --secure=false",
		"http1 plain":  "--server " + f.s.ArgoServer + " --secure=false --http1",
		"grpc tls ca":  "--server https://" + f.s.ArgoServerTLS + " --ca-file " + f.s.CAFile,
		"http1 tls ca": "--server " + f.s.ArgoServerTLS + " --ca-file " + f.s.CAFile + " --http1",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			script := `set -e
eval "$(` + binary + ` env --secret ci --namespace ` + f.ns + ` ` + server + `)"
"$ARGO_BIN" list -n ` + f.ns + ` >/dev/null && echo LIST-OK
if "$ARGO_BIN" template list -n ` + f.ns + ` 2>/tmp/argo-template-err-$$; then echo TEMPLATES-ALLOWED; else echo TEMPLATES-REFUSED; fi
grep -c PermissionDenied /tmp/argo-template-err-$$ || true; rm -f /tmp/argo-template-err-$$`
			cmd := exec.Command("bash", "-c", script)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "ARGO_BIN=" + f.s.ArgoBin}, f.kube...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v:\n%s", err, out)
			}
			got := strings.Fields(string(out))
			if diff := cmp.Diff([]string{"LIST-OK", "TEMPLATES-REFUSED", "1"}, got[len(got)-3:]); diff != "" {
				t.Errorf("(-want +got):\n%s\n%s", diff, out)
			}
			noLeak(t, f.token, "output", string(out))
		})
	}
}

func TestIntegrationExitCodes(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	s.Identity(t, ns, "ci", testenv.WorkflowsListUpdate)
	s.Identity(t, ns, "getonly", []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"get"}}})
	s.Identity(t, ns, "greedy", []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows", "workflowtemplates"}, Verbs: []string{"list"}}})
	s.Identity(t, ns, "creator", []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"list", "create"}}})
	tok := s.WaitToken(t, ns, "ci")
	s.WaitToken(t, ns, "creator")
	s.WaitToken(t, ns, "getonly")
	s.WaitToken(t, ns, "greedy")
	ctx := context.Background()
	if _, err := s.Client.CoreV1().Secrets(ns).Create(ctx, opaqueSecret("opaque"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.TokenSecret(t, ns, "deleted", "ci")
	s.WaitToken(t, ns, "deleted")
	if err := s.Client.CoreV1().Secrets(ns).Delete(ctx, "deleted", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	stopped := s.StartArgoServer(t)
	stopped.Stop()
	kcfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kubeAPI := strings.TrimPrefix(kcfg.Host, "https://")
	web := httptest.NewServer(http.NotFoundHandler()) // a plain HTTP/1 web server
	defer web.Close()
	webAddr := strings.TrimPrefix(web.URL, "http://")
	s.TokenSecret(t, ns, "orphan", "ghost") // its ServiceAccount does not exist
	stripping := testenv.StripBearerProxy(t, "http://"+s.ArgoServerHybrid)
	kube := []string{"KUBECONFIG=" + s.Kubeconfig, "ARGO_SECURE=false", "ARGO_SERVER=" + s.ArgoServer, "ARGO_NAMESPACE=" + ns}

	tests := map[string]struct {
		env       []string
		args      []string
		code      int
		stderrHas string
	}{
		"no source":                        {args: []string{"env"}, code: 2, stderrHas: "no token source"},
		"bad server":                       {args: []string{"env", "--secret", "ci", "--server", "https://argo:443/path"}, code: 2, stderrHas: "a path is not allowed"},
		"server no port":                   {args: []string{"env", "--secret", "ci", "--server", "argo.example.com"}, code: 2, stderrHas: "want host:port"},
		"bad expect":                       {args: []string{"probe", "--secret", "ci", "--expect", "allow:secrets/list"}, code: 2, stderrHas: `unknown resource "secrets"`},
		"bad format":                       {args: []string{"env", "--secret", "ci", "--format", "xml"}, code: 2, stderrHas: `unknown --format "xml"`},
		"unknown flag":                     {args: []string{"env", "--nope"}, code: 2, stderrHas: "flag provided but not defined"},
		"missing secret":                   {args: []string{"env", "--secret", "nope"}, code: 3, stderrHas: `secrets "nope" not found`},
		"deleted secret":                   {args: []string{"env", "--secret", "deleted"}, code: 3, stderrHas: `secrets "deleted" not found`},
		"wrong type":                       {args: []string{"env", "--secret", "opaque"}, code: 3, stderrHas: `type is "Opaque"`},
		"opaque with a token":              {args: []string{"env", "--secret", "opaque"}, code: 3, stderrHas: "mount it and pass --token-file"},
		"secret of no sa":                  {args: []string{"env", "--secret", "orphan"}, code: 3, stderrHas: "the token controller deletes such a Secret at once"},
		"kube-apiserver port":              {args: []string{"probe", "--secret", "ci", "--server", kubeAPI, "--secure", "--insecure-skip-verify"}, code: 4, stderrHas: "is not an Argo Server"},
		"web server, grpc":                 {args: []string{"probe", "--secret", "ci", "--server", webAddr, "--secure=false"}, code: 4, stderrHas: "an HTTP/1 server answered, not gRPC"},
		"web server, http1":                {args: []string{"probe", "--secret", "ci", "--server", webAddr, "--secure=false", "--http1"}, code: 4, stderrHas: "is not an Argo Server: it answered HTTP 404"},
		"foreign audience":                 {args: []string{"probe", "--service-account", "ci", "--audience", "https://not-kubernetes"}, code: 5, stderrHas: "drop --audience"},
		"kubeconfig devnull":               {env: []string{"KUBECONFIG=/dev/null"}, args: []string{"env", "--secret", "ci"}, code: 2, stderrHas: "KUBECONFIG is /dev/null"},
		"empty env token":                  {env: []string{"ARGO_TOKEN="}, args: []string{"env"}, code: 3, stderrHas: "token is empty"},
		"unreadable file":                  {args: []string{"env", "--token-file", "/nonexistent/token"}, code: 3, stderrHas: "reading token file"},
		"no such sa":                       {args: []string{"env", "--service-account", "ghost"}, code: 3, stderrHas: `serviceaccounts "ghost" not found`},
		"stopped server":                   {args: []string{"env", "--secret", "ci", "--server", stopped.Addr}, code: 4, stderrHas: "connection refused"},
		"tls to plain":                     {args: []string{"env", "--secret", "ci", "--secure"}, code: 4, stderrHas: "the server speaks plain HTTP: set ARGO_SECURE=false"},
		"untrusted cert":                   {args: []string{"env", "--secret", "ci", "--server", s.ArgoServerTLS, "--secure"}, code: 4, stderrHas: "x509"},
		"plain to tls":                     {args: []string{"env", "--secret", "ci", "--server", s.ArgoServerTLS, "--http1"}, code: 4, stderrHas: "the server speaks TLS"},
		"garbage token":                    {env: []string{"ARGO_TOKEN=not-a-token"}, args: []string{"env"}, code: 5, stderrHas: "rejected the token (401)"},
		"role without list":                {args: []string{"env", "--secret", "getonly"}, code: 6, stderrHas: "workflows/list: expected allowed, got denied"},
		"role with template":               {args: []string{"env", "--secret", "greedy"}, code: 7, stderrHas: "workflowtemplates/list: expected denied, got allowed"},
		"hybrid fallback":                  {args: []string{"env", "--secret", "ci", "--server", stripping, "--http1"}, code: 7, stderrHas: "hybrid auth mode"},
		"deny what is had":                 {args: []string{"probe", "--secret", "ci", "--expect", "deny:workflows/list"}, code: 7, stderrHas: "expected denied"},
		"ok":                               {args: []string{"env", "--secret", "ci"}, code: 0, stderrHas: "verified"},
		"create without it":                {args: []string{"probe", "--secret", "ci", "--expect", "allow:workflows/create"}, code: 6, stderrHas: "workflows/create: expected allowed, got denied"},
		"create with it":                   {args: []string{"probe", "--secret", "creator", "--expect", "allow:workflows/create"}, code: 0, stderrHas: "workflows/create        allowed"},
		"create unwanted":                  {args: []string{"probe", "--secret", "creator", "--expect", "deny:workflows/create"}, code: 7, stderrHas: "remove create on workflows.argoproj.io"},
		"one expect keeps least privilege": {args: []string{"probe", "--secret", "greedy", "--expect", "allow:workflows/list"}, code: 7, stderrHas: "workflowtemplates/list: expected denied, got allowed"},
		"default overridden, said":         {args: []string{"probe", "--secret", "greedy", "--expect", "allow:workflowtemplates"}, code: 0, stderrHas: "note: --expect replaces the default least-privilege check deny:workflowtemplates/list"},
		"more expectations": {args: []string{"probe", "--secret", "ci", "--expect", "allow:workflows", "--expect", "deny:cronworkflows/list",
			"--expect", "deny:clusterworkflowtemplates/list", "--expect", "deny:workflowtemplates"}, code: 0, stderrHas: "clusterworkflowtemplates/list  denied"},
		"expectations from env": {env: []string{"ARGO_CRED_EXPECT=allow:workflows/list,allow:cronworkflows/list"}, args: []string{"probe", "--secret", "ci"},
			code: 6, stderrHas: "cronworkflows/list: expected allowed, got denied"},
	}
	t.Run("cases", func(t *testing.T) {
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				r := run(t, append(append([]string{}, kube...), tc.env...), tc.args...)
				wantCode(t, r, tc.code, tc.stderrHas)
				noLeak(t, tok, "stderr", r.stderr)
			})
		}
	})
	// The create checks were dry runs: no workflow exists.
	raw, err := s.Client.CoreV1().RESTClient().Get().AbsPath("/apis/argoproj.io/v1alpha1/namespaces/" + ns + "/workflows").DoRaw(ctx)
	if err != nil || !strings.Contains(string(raw), `"items":[]`) {
		t.Errorf("workflows in %s after the create checks: %s, %v", ns, raw, err)
	}
}

// Revocation: once the Secret is deleted, the same token gets 401 (exit 5)
// within the API server's token cache time.
func TestIntegrationRevokedToken(t *testing.T) {
	t.Parallel()
	f := setup(t, testenv.WorkflowsListUpdate)
	env := append(f.plain(), "ARGO_TOKEN="+f.token)
	wantCode(t, run(t, env, "probe"), 0, "verdict: ok")
	if err := f.s.Client.CoreV1().Secrets(f.ns).Delete(context.Background(), "ci", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var last result
	testenv.Eventually(t, 15*time.Second, "exit 5 after revocation", func() bool {
		last = run(t, env, "probe")
		return last.code == 5
	})
	wantCode(t, last, 5, "the argo server rejected the token (401)")
	noLeak(t, f.token, "stderr", last.stderr)
}

// The token controller is held back (kube-controller-manager stopped with
// SIGSTOP): argo-cred waits with a watch, fails with exit 3 when --wait runs
// out, stops at once on SIGTERM, and returns as soon as the token is
// written. Each step comes once argo-cred -v says it is waiting: it has
// read the Secret unfilled, and its watch starts from that read. Not
// parallel: it holds the stack's one token controller.
func TestIntegrationWaitForTokenController(t *testing.T) {
	s := testenv.Get(t)
	ns, _ := s.SeedIdentity(t)
	env := []string{"KUBECONFIG=" + s.Kubeconfig, "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false"}

	s.Signal(t, "kube-controller-manager", syscall.SIGSTOP)
	resumed := false
	resume := func() {
		if !resumed {
			s.Signal(t, "kube-controller-manager", syscall.SIGCONT)
			resumed = true
		}
	}
	defer resume()

	s.TokenSecret(t, ns, "never", "ci")
	r := run(t, env, "env", "--secret", "never", "--namespace", ns, "--wait", "1s")
	wantCode(t, r, 3, "token not filled in within 1s")
	if !strings.Contains(r.stderr, "kube-controller-manager's token controller") {
		t.Errorf("stderr %q; want the hint naming the token controller", r.stderr)
	}

	// SIGTERM ends the wait at once: exit 130, nothing on stdout.
	p := start(t, env, "env", "-v", "--secret", "never", "--namespace", ns, "--wait", "30s")
	p.said(t, "waiting up to 30s for the token controller to fill secret "+ns+"/never")
	sent := time.Now()
	must(t, p.cmd.Process.Signal(syscall.SIGTERM))
	r = p.wait(t)
	took := time.Since(sent)
	wantCode(t, r, 130, "error: interrupted")
	if took > 5*time.Second {
		t.Errorf("SIGTERM while waiting: exit after %s; want at once", took.Round(time.Millisecond))
	}

	s.TokenSecret(t, ns, "later", "ci")
	p = start(t, env, "env", "-v", "--secret", "later", "--namespace", ns, "--wait", "30s", "--probe=false")
	p.said(t, "waiting up to 30s for the token controller to fill secret "+ns+"/later")
	resume()
	s.WaitToken(t, ns, "later")
	filled := time.Now()
	select {
	case <-p.ended:
	case <-time.After(20 * time.Second):
		t.Fatal("argo-cred did not return within 20s of the token being written")
	}
	r = p.wait(t)
	t.Logf("argo-cred returned %s after the test's own watch saw the token", time.Since(filled))
	if r.code != 0 || !strings.Contains(r.stdout, "export ARGO_TOKEN='Bearer ey") {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestIntegrationOutputFile(t *testing.T) {
	t.Parallel()
	f := setup(t, testenv.WorkflowsListUpdate)
	dir := t.TempDir()
	path := filepath.Join(dir, "argo.env")
	r := run(t, f.plain(), "env", "--secret", "ci", "--namespace", f.ns, "--format", "dotenv", "--output-file", path)
	wantCode(t, r, 0, "verified")
	if r.stdout != "" {
		t.Errorf("stdout %q; want nothing with --output-file", r.stdout)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v; want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "ARGO_TOKEN=Bearer "+f.token+"\n") {
		t.Errorf("file lacks the token line:\n%s", b)
	}
	// A failing run leaves the old file alone and no temporary files behind.
	r = run(t, f.plain(), "env", "--secret", "nope", "--namespace", f.ns, "--format", "dotenv", "--output-file", path)
	wantCode(t, r, 3, "not found")
	after, _ := os.ReadFile(path)
	if !bytes.Equal(b, after) {
		t.Error("a failed run changed the output file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries; want only the output file", len(entries))
	}
}

func TestIntegrationGitHubFormat(t *testing.T) {
	t.Parallel()
	f := setup(t, testenv.WorkflowsListUpdate)
	dir := t.TempDir()
	envFile, summary := filepath.Join(dir, "github_env"), filepath.Join(dir, "summary.md")
	r := run(t, append(f.plain(), "GITHUB_ACTIONS=true", "GITHUB_ENV="+envFile, "GITHUB_STEP_SUMMARY="+summary), "env", "--secret", "ci", "--namespace", f.ns, "--format", "github")
	wantCode(t, r, 0, "verified")
	if r.stdout != "" {
		t.Errorf("stdout %q; want nothing", r.stdout)
	}
	masks := strings.Split(strings.TrimSpace(r.stderr), "\n")
	for _, form := range []string{f.token, "Bearer " + f.token, base64.StdEncoding.EncodeToString([]byte(f.token)), base64.StdEncoding.EncodeToString([]byte("Bearer " + f.token))} {
		if !slices.Contains(masks, "::add-mask::"+form) {
			t.Errorf("no mask for a form of the token; stderr:\n%s", r.stderr)
		}
	}
	if !strings.HasPrefix(masks[0], "::add-mask::") {
		t.Errorf("first stderr line %q; want the masks first", masks[0])
	}
	got := parseGitHubEnv(t, envFile)
	if got["ARGO_TOKEN"] != "Bearer "+f.token || got["ARGO_NAMESPACE"] != f.ns || got["ARGO_SECURE"] != "false" {
		t.Errorf("GITHUB_ENV: %v", got)
	}
	sum, _ := os.ReadFile(summary)
	if !strings.Contains(string(sum), "| ✅ workflowtemplates/list | denied | denied |") {
		t.Errorf("step summary:\n%s", sum)
	}
	noLeak(t, f.token, "step summary", string(sum))
}

// parseGitHubEnv reads a $GITHUB_ENV file the way the runner does.
func parseGitHubEnv(t *testing.T, path string) map[string]string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		vars[name] = strings.Join(val, "\n")
	}
	return vars
}

func opaqueSecret(name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"token": []byte("x")}}
}

// Kubernetes 1.30+ labels unused legacy tokens and later deletes them;
// argo-cred says so.
func TestIntegrationLegacyTokenCleanupWarning(t *testing.T) {
	t.Parallel()
	f := setup(t, testenv.WorkflowsListUpdate)
	ctx := context.Background()
	sec, err := f.s.Client.CoreV1().Secrets(f.ns).Get(ctx, "ci", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec.Labels = map[string]string{"kubernetes.io/legacy-token-invalid-since": "2026-01-02", "kubernetes.io/legacy-token-last-used": "2025-10-01"}
	if _, err := f.s.Client.CoreV1().Secrets(f.ns).Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := run(t, f.plain(), "env", "--secret", "ci", "--namespace", f.ns, "--probe=false")
	want := "warning: secret " + f.ns + "/ci was invalidated on 2026-01-02 by Kubernetes' legacy token clean-up (last used 2025-10-01)"
	if r.code != 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want %q", r.code, r.stderr, want)
	}
}

// BenchmarkIntegrationSecretToEnv: one op is a new token Secret created to
// argo-cred env returning its token (ns/op), the token controller's write
// in between; ms-after-fill is how soon after that write argo-cred returns.
//   - direct: the Secret is created, then argo-cred starts, as in a CI script.
//   - watch: argo-cred is already waiting on its watch (its -v line says so)
//     when the token is written (the token controller is held with SIGSTOP
//     until then; that hold is outside the timed op).
func BenchmarkIntegrationSecretToEnv(b *testing.B) {
	s := testenv.Get(b)
	ns, _ := s.SeedIdentity(b)
	env := append(os.Environ(), "KUBECONFIG="+s.Kubeconfig, "ARGO_SERVER="+s.ArgoServer, "ARGO_SECURE=false")
	for _, mode := range []string{"direct", "watch"} {
		b.Run(mode, func(b *testing.B) {
			var afterFill, paused time.Duration
			for i := 0; i < b.N; i++ {
				name := fmt.Sprintf("%s-%d-%d", mode, i, time.Now().UnixNano()%1e6)
				cmd := exec.Command(binary, "env", "--secret", name, "--namespace", ns, "--wait", "30s", "--probe=false", "-v")
				cmd.Env = env
				var out bytes.Buffer
				var stderr syncBuffer
				cmd.Stdout, cmd.Stderr = &out, &stderr
				if mode == "watch" {
					s.Signal(b, "kube-controller-manager", syscall.SIGSTOP)
				}
				s.TokenSecret(b, ns, name, "ci")
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				if mode == "watch" {
					hold := time.Now()
					testenv.Eventually(b, 30*time.Second, "argo-cred waiting on its watch", func() bool {
						return strings.Contains(stderr.String(), "waiting up to")
					})
					s.Signal(b, "kube-controller-manager", syscall.SIGCONT)
					paused += time.Since(hold)
				}
				s.WaitToken(b, ns, name)
				filled := time.Now()
				if err := cmd.Wait(); err != nil {
					b.Fatalf("argo-cred: %v\n%s", err, stderr.String())
				}
				afterFill += max(0, time.Since(filled))
				if !strings.Contains(out.String(), "ARGO_TOKEN") {
					b.Fatalf("no token in %q", out.String())
				}
			}
			// The hold for the watch is the scenario's set-up, not the op.
			b.ReportMetric(float64(b.Elapsed()-paused)/float64(b.N), "ns/op")
			b.ReportMetric(float64(afterFill.Microseconds())/1000/float64(b.N), "ms-after-fill")
		})
	}
}

// The token appears only in the payload asked for: never on stderr (even
// with -v), in the probe's output, or in files other than the output file.
func TestIntegrationNoLeak(t *testing.T) {
	t.Parallel()
	f := setup(t, testenv.WorkflowsListUpdate)
	dir := t.TempDir()
	base := append(f.plain(), "GITHUB_ACTIONS=true", "GITHUB_ENV="+filepath.Join(dir, "env"), "GITHUB_STEP_SUMMARY="+filepath.Join(dir, "summary"))
	runs := map[string][]string{
		"probe table":   {"probe", "-v"},
		"probe json":    {"probe", "-v", "-o", "json"},
		"probe failing": {"probe", "-v", "--expect", "deny:workflows"},
		"env failing":   {"env", "-v", "--expect", "allow:workflowtemplates"},
		"env no probe":  {"env", "-v", "--probe=false"},
		"exec -v":       {"exec", "-v", "--", "true"},
		"exec failing":  {"exec", "-v", "--expect", "allow:workflowtemplates", "--", "true"},
	}
	for _, format := range []string{"shell", "dotenv", "json", "github", "jenkins"} {
		runs["env "+format] = []string{"env", "-v", "--format", format, "--output-file", filepath.Join(dir, "out-"+format)}
	}
	for name, args := range runs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := run(t, base, append(args, "--secret", "ci", "--namespace", f.ns)...)
			noLeak(t, f.token, "stderr", nonMaskOut(r.stderr))
			if strings.HasPrefix(name, "probe") {
				noLeak(t, f.token, "probe output", r.stdout)
			}
			if name == "env github" && (!strings.Contains(r.stderr, "::add-mask::") || r.stdout != "") {
				t.Errorf("github format: stdout %q, stderr %q; want the masks on stderr", r.stdout, r.stderr)
			}
		})
	}
	// The lifecycle commands, on a client of their own in the namespace.
	t.Run("lifecycle", func(t *testing.T) {
		t.Parallel()
		env := append(f.kube, "ARGO_SERVER="+f.s.ArgoServer, "ARGO_SECURE=false")
		var out string
		for _, args := range [][]string{{"provision", "-v"}, {"rotate", "-v"}, {"clients", "-v", "--check", "-o", "json"}, {"provision", "-v", "--format", "json"}} {
			r := run(t, env, append(args, "--client", "leakscan", "--namespace", f.ns)...)
			if r.code != 0 {
				t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
			}
			out += r.stderr
			if args[0] != "provision" || len(args) < 3 {
				out += r.stdout
			}
		}
		// provision --format writes where env would: ARGO_CRED_OUTPUT_FILE, 0600, not stdout.
		file := filepath.Join(t.TempDir(), "provision.env")
		r := run(t, append(env, "ARGO_CRED_OUTPUT_FILE="+file), "provision", "--format", "dotenv", "--client", "leakscan", "--namespace", f.ns)
		if st, err := os.Stat(file); r.code != 0 || r.stdout != "" || err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("provision --format dotenv with ARGO_CRED_OUTPUT_FILE: exit %d, %d bytes on stdout, file %v %v; want the settings in the file (0600) only", r.code, len(r.stdout), st, err)
		}
		out += r.stderr
		secrets, _ := f.s.Client.CoreV1().Secrets(f.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "argo-cred/client=leakscan"})
		for _, s := range secrets.Items {
			noLeak(t, string(s.Data["token"]), "the lifecycle commands' output", out)
		}
	})
	t.Cleanup(func() {
		if s, err := os.ReadFile(filepath.Join(dir, "summary")); err == nil {
			noLeak(t, f.token, "step summary", string(s))
		}
		// Every file written holds the token only with mode 0600.
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			info, _ := e.Info()
			b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			if strings.Contains(string(b), f.token) && info.Mode().Perm() != 0o600 && e.Name() != "env" {
				t.Errorf("%s holds the token with mode %v", e.Name(), info.Mode().Perm())
			}
		}
	})
}

// Kubernetes access follows client-go's loading rules: --kubeconfig and
// --context pick the cluster, and the context's namespace is where the
// Secret is looked up when no namespace is given.
func TestIntegrationKubeconfigContext(t *testing.T) {
	t.Parallel()
	f := setup(t, testenv.WorkflowsListUpdate)
	cfg, err := clientcmd.LoadFromFile(f.s.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	good := cfg.Contexts[cfg.CurrentContext]
	good.Namespace = f.ns
	cfg.Clusters["nowhere"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	cfg.Contexts["broken"] = &clientcmdapi.Context{Cluster: "nowhere", AuthInfo: good.AuthInfo}
	cfg.Contexts["good"] = good
	cfg.CurrentContext = "broken"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	argo := []string{"ARGO_SERVER=" + f.s.ArgoServer, "ARGO_SECURE=false"}

	r := run(t, argo, "env", "--kubeconfig", path, "--context", "good", "--secret", "ci", "--format", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"ARGO_NAMESPACE": "`+f.ns+`"`) {
		t.Errorf("--context good: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = run(t, append(argo, "KUBECONFIG="+path, "ARGO_CRED_CONTEXT=good"), "env", "--secret", "ci", "--probe=false")
	if r.code != 0 {
		t.Errorf("KUBECONFIG and ARGO_CRED_CONTEXT: exit %d, stderr %q", r.code, r.stderr)
	}
	r = run(t, argo, "env", "--kubeconfig", path, "--secret", "ci", "--timeout", "3s")
	wantCode(t, r, 3, "check --kubeconfig, --context and that the Kubernetes API server is reachable")
}

// --ca-file is exported as SSL_CERT_FILE naming a bundle of the system
// roots and the CA: argo trusts the Argo Server, and every other TLS client
// of the job keeps the public roots. The dotenv form works for the real argo.
func TestIntegrationCABundle(t *testing.T) {
	t.Parallel()
	f := setup(t, testenv.WorkflowsListUpdate)
	cache := t.TempDir()
	env := append([]string{"XDG_CACHE_HOME=" + cache}, f.kube...)
	r := run(t, env, "env", "--secret", "ci", "--namespace", f.ns, "--server", "https://"+f.s.ArgoServerTLS, "--ca-file", f.s.CAFile, "--format", "json")
	wantCode(t, r, 0, "verified")
	var got map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	bundle := got["SSL_CERT_FILE"]
	if filepath.Dir(bundle) != filepath.Join(cache, "argo-cred") {
		t.Fatalf("SSL_CERT_FILE %q; want a bundle in the cache directory", bundle)
	}
	st, err := os.Stat(bundle)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("bundle: %v, %v; want 0644", st, err)
	}
	count := func(path string) int {
		b, _ := os.ReadFile(path)
		return strings.Count(string(b), "-----BEGIN CERTIFICATE-----")
	}
	system := count("/etc/ssl/certs/ca-certificates.crt")
	if system == 0 {
		t.Fatal("no system roots on this machine: install ca-certificates")
	}
	if n := count(bundle); n != system+count(f.s.CAFile) {
		t.Errorf("bundle holds %d certificates; want the %d system roots and the CA", n, system)
	}
	// The same inputs give the same file; a second run changes nothing.
	r = run(t, env, "env", "--secret", "ci", "--namespace", f.ns, "--server", "https://"+f.s.ArgoServerTLS, "--ca-file", f.s.CAFile, "--format", "json", "--probe=false")
	if !strings.Contains(r.stdout, bundle) {
		t.Errorf("second run: %s", r.stdout)
	}
	// The dotenv file, loaded as docker --env-file would, serves the real argo.
	dotenv := filepath.Join(t.TempDir(), "argo.env")
	r = run(t, env, "env", "--secret", "ci", "--namespace", f.ns, "--server", "https://"+f.s.ArgoServerTLS, "--ca-file", f.s.CAFile, "--format", "dotenv", "--output-file", dotenv)
	wantCode(t, r, 0, "verified")
	b, _ := os.ReadFile(dotenv)
	cmd := exec.Command(f.s.ArgoBin, "list")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, strings.Split(strings.TrimSpace(string(b)), "\n")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("argo list with the dotenv settings: %v\n%s", err, out)
	}
}

// exec: the child gets the caller's environment without inherited ARGO_* or
// KUBECONFIG, plus the settings; its exit code is the process's; argo-cred's
// own failures come before it starts.
func TestIntegrationExec(t *testing.T) {
	t.Parallel()
	f := setup(t, testenv.WorkflowsListUpdate)
	ns := f.ns
	f.s.Identity(t, ns, "greedy", []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows", "workflowtemplates"}, Verbs: []string{"list"}}})
	f.s.WaitToken(t, ns, "greedy")
	caller := append(f.plain(), "ARGO_TOKEN=stale-token", "ARGO_INSTANCEID=stale", "ARGO_CRED_VERBOSE=false", "FOO=bar baz", "EMPTY=")
	cred := []string{"exec", "--secret", "ci", "--namespace", ns}

	childEnv := func(t *testing.T, relay string) map[string]string {
		r := run(t, caller, append(cred, "--relay", relay, "--", "env")...)
		wantCode(t, r, 0, "verified")
		got := map[string]string{}
		for _, kv := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			k, v, _ := strings.Cut(kv, "=")
			got[k] = v
		}
		return got
	}
	// Behind the relay (a Secret can be rotated: the default), the child
	// gets the relay's address and per-run value, never the token.
	t.Run("environment behind the relay", func(t *testing.T) {
		got := childEnv(t, "auto")
		if !strings.HasPrefix(got["ARGO_SERVER"], "127.0.0.1:") || got["ARGO_SERVER"] == f.s.ArgoServer ||
			!strings.HasPrefix(got["ARGO_TOKEN"], "Bearer argo-cred-relay.") || got["ARGO_SECURE"] != "false" || got["ARGO_NAMESPACE"] != ns {
			t.Errorf("the child's settings behind the relay: %q %q secure %q namespace %q", got["ARGO_SERVER"], got["ARGO_TOKEN"], got["ARGO_SECURE"], got["ARGO_NAMESPACE"])
		}
		noLeak(t, f.token, "the child's environment", fmt.Sprint(got))
	})
	t.Run("environment", func(t *testing.T) {
		got := childEnv(t, "never")
		want := map[string]string{
			"ARGO_SERVER": f.s.ArgoServer, "ARGO_TOKEN": "Bearer " + f.token, "ARGO_SECURE": "false", "ARGO_HTTP1": "false",
			"ARGO_INSECURE_SKIP_VERIFY": "false", "ARGO_NAMESPACE": ns, "KUBECONFIG": "/dev/null",
			"FOO": "bar baz", "EMPTY": "", "PATH": os.Getenv("PATH"),
		}
		for k := range got {
			if _, ok := want[k]; !ok && k != "HOME" {
				t.Errorf("unexpected %s in the child's environment", k)
			}
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s=%q in the child; want %q", k, got[k], v)
			}
		}
	})
	t.Run("argo list", func(t *testing.T) {
		r := run(t, append(caller, "PATH="+filepath.Dir(f.s.ArgoBin)+":"+os.Getenv("PATH")), append(cred, "--", f.s.ArgoBin, "list")...)
		if r.code != 0 || !strings.Contains(r.stdout, "No workflows found") {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		noLeak(t, f.token, "stderr", r.stderr)
	})
	t.Run("argo's own exit code", func(t *testing.T) {
		r := run(t, caller, append(cred, "--", f.s.ArgoBin, "template", "list")...)
		if r.code != 1 || !strings.Contains(r.stderr, "PermissionDenied") {
			t.Errorf("exit %d, stderr %q; want argo's 1 and its PermissionDenied", r.code, r.stderr)
		}
		r = run(t, caller, append(cred, "--", "sh", "-c", "exit 42")...)
		if r.code != 42 {
			t.Errorf("exit %d; want the child's 42", r.code)
		}
	})
	t.Run("over-privileged: argo never starts", func(t *testing.T) {
		marker := filepath.Join(t.TempDir(), "ran")
		r := run(t, caller, "exec", "--secret", "greedy", "--namespace", ns, "--", "sh", "-c", "touch "+marker)
		wantCode(t, r, 7, "workflowtemplates/list: expected denied")
		if _, err := os.Stat(marker); err == nil {
			t.Error("the command ran after a failed check")
		}
	})
	t.Run("no token source: unchanged", func(t *testing.T) {
		r := run(t, []string{"FOO=1", "KUBECONFIG=/k"}, "exec", "--", "sh", "-c", "echo $FOO $KUBECONFIG")
		if r.code != 0 || r.stdout != "1 /k\n" || !strings.Contains(r.stderr, "note: no token source") {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("flags end at COMMAND", func(t *testing.T) {
		r := run(t, caller, append(cred, "sh", "-c", "echo $0 $1", "--namespace", "x")...)
		if r.code != 0 || r.stdout != "--namespace x\n" {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
}

// The leak scan's other half: while exec runs its command behind the relay
// (which the command has just used: argo list through it), no process on
// the machine has the token in its command line or, for the command,
// argo-cred and every other process, in its environment; and after a batch
// of runs the stack's own logs (API server, audit, Argo Servers) hold no
// form of it. The scan runs while the command demonstrably runs: it writes
// a marker file, then waits for the test to let it end.
func TestIntegrationLeakScanProcessesAndLogs(t *testing.T) {
	t.Parallel()
	f := setup(t, testenv.WorkflowsListUpdate)
	dir := t.TempDir()
	running, release := filepath.Join(dir, "running"), filepath.Join(dir, "release")
	p := start(t, f.plain(), "exec", "--secret", "ci", "--namespace", f.ns, "-v", "--",
		"sh", "-c", `"$3" list >/dev/null && touch "$1" && while [ ! -e "$2" ]; do sleep 0.05; done`, "sh", running, release, f.s.ArgoBin)
	testenv.Eventually(t, 30*time.Second, "exec's command runs", func() bool {
		select {
		case <-p.ended:
			t.Fatalf("exec ended before its command ran: exit %d\n%s", p.cmd.ProcessState.ExitCode(), p.stderr.String())
		default:
		}
		_, err := os.Stat(running)
		return err == nil
	})
	scanCmdlines(t, f.token)
	scanProc(t, f.token, "environ")
	must(t, os.WriteFile(release, nil, 0o600))
	if r := p.wait(t); r.code != 0 {
		t.Fatalf("exec: exit %d\n%s", r.code, r.stderr)
	}
	for _, args := range [][]string{{"env", "-v"}, {"probe", "-v", "-o", "json"}, {"env", "--http1", "-v"}} {
		run(t, f.plain(), append(args, "--secret", "ci", "--namespace", f.ns)...)
	}
	logs, _ := filepath.Glob(filepath.Join(f.s.Dir, "log", "*.log"))
	if len(logs) < 5 {
		t.Fatalf("%d stack logs; the scan would prove nothing", len(logs))
	}
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		noLeak(t, f.token, l, string(b))
	}
}

// --quiet (and ARGO_CRED_QUIET) drops the note: lines, and only those: a
// warning stays, and the payload is the same.
func TestQuiet(t *testing.T) {
	t.Parallel()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("not-a-jwt-but-a-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"env", "--token-file", tokenFile, "--server", "http://argo.example:2746", "--namespace", "ci", "--probe=false"}
	loud := run(t, nil, args...)
	if loud.code != 0 || !strings.Contains(loud.stderr, "note: --probe=false") || !strings.Contains(loud.stderr, "warning: plain HTTP") {
		t.Fatalf("without --quiet: exit %d, want notes and the plain-HTTP warning:\n%s", loud.code, loud.stderr)
	}
	for name, r := range map[string]result{"--quiet": run(t, nil, append(args, "--quiet")...), "ARGO_CRED_QUIET": run(t, []string{"ARGO_CRED_QUIET=true"}, args...)} {
		if r.code != 0 || strings.Contains(r.stderr, "note:") || !strings.Contains(r.stderr, "warning: plain HTTP") || r.stdout != loud.stdout {
			t.Errorf("%s: exit %d, want no note: lines, the warning, and the same payload:\n%s", name, r.code, r.stderr)
		}
	}
}
