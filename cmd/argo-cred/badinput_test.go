package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// badCase is one bad input: what argo-cred gets, the exit code and the
// words of the one error line it must print.
type badCase struct {
	env       []string
	args      []string
	code      int
	stderrHas string
}

// checkBad asserts what every bad input must give: the documented exit
// code, one "error:" line last on stderr naming the problem, no panic,
// nothing on stdout, no form of the token, and no file left in dir.
func checkBad(t *testing.T, r result, tc badCase, dir string, tokens ...string) {
	t.Helper()
	if r.code != tc.code || !strings.Contains(r.stderr, tc.stderrHas) {
		t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", r.code, r.stderr, tc.code, tc.stderrHas)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	// The action in Actions prints its one line as an ::error annotation.
	isError := func(l string) bool {
		return strings.HasPrefix(l, "error: ") || strings.HasPrefix(l, "::error title=argo-cred ")
	}
	errorLines := 0
	for _, l := range lines {
		errorLines += boolToInt(isError(l))
	}
	if !isError(lines[len(lines)-1]) || errorLines != 1 {
		t.Errorf("want exactly one error line, last:\n%s", r.stderr)
	}
	for _, bad := range []string{"panic:", "goroutine ", "runtime error"} {
		if strings.Contains(r.stdout+r.stderr, bad) {
			t.Errorf("output holds %q:\n%s", bad, r.stderr)
		}
	}
	if r.stdout != "" {
		t.Errorf("stdout %q; want nothing", r.stdout)
	}
	for _, tok := range tokens {
		noLeak(t, tok, "the output", r.stdout+r.stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("left behind in the output directory: %v", names)
	}
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Bad input, one table across every command: each case is one clear line,
// its documented exit code, no panic, no token in the output, no partial
// file. Against the real stack where a server is involved.
func TestIntegrationBadInput(t *testing.T) {
	s := testenv.Get(t)
	ns := s.Namespace(t)
	s.Identity(t, ns, "ci", testenv.WorkflowsListUpdate)
	tok := s.WaitToken(t, ns, "ci")
	ctx := context.Background()
	if _, err := s.Client.CoreV1().Secrets(ns).Create(ctx, opaqueSecret("opaque"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.TokenSecret(t, ns, "orphan", "ghost")
	// A Secret of another account (with no Role): the token is valid, and
	// the probe says what it lacks. (A service-account-token Secret without
	// the annotation cannot exist: the API server refuses it.)
	if _, err := s.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.TokenSecret(t, ns, "for-other", "other")
	s.WaitToken(t, ns, "for-other")
	files := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(files, name)
		must(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	empty := write("empty", "")
	huge := write("huge", "")
	must(t, os.Truncate(huge, 1<<30))
	fifo := filepath.Join(files, "fifo")
	must(t, syscall.Mkfifo(fifo, 0o600))
	badKube := write("bad.kubeconfig", "apiVersion: v1\nclusters: [this is not: a kubeconfig")
	nowhere := write("nowhere.kubeconfig", "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n")
	expired := jwt(map[string]any{"sub": "system:serviceaccount:" + ns + ":ci", "exp": time.Now().Add(-time.Hour).Unix()})
	notYet := jwt(map[string]any{"sub": "system:serviceaccount:" + ns + ":ci", "nbf": time.Now().Add(time.Hour).Unix(), "exp": time.Now().Add(2 * time.Hour).Unix()})
	kube := []string{"KUBECONFIG=" + s.Kubeconfig, "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false", "ARGO_NAMESPACE=" + ns}
	withToken := func(tk string) []string { return append(append([]string{}, kube...), "ARGO_TOKEN="+tk) }
	inActions := []string{"GITHUB_ACTIONS=true", "GITHUB_ENV=" + filepath.Join(files, "github_env"), "GITHUB_OUTPUT=" + filepath.Join(files, "github_output")}
	long := strings.Repeat("a", 300) + ".example:443"

	// The token controller is held back for one case: a Secret never filled.
	s.Signal(t, "kube-controller-manager", syscall.SIGSTOP)
	s.TokenSecret(t, ns, "never", "ci")
	r := run(t, kube, "env", "--secret", "never", "--wait", "1s")
	s.Signal(t, "kube-controller-manager", syscall.SIGCONT)
	checkBad(t, r, badCase{code: 3, stderrHas: "token not filled in within 1s"}, t.TempDir(), tok)

	tests := map[string]badCase{
		// ARGO_SERVER.
		"server: scheme":           {env: kube, args: []string{"env", "--secret", "ci", "--server", "ftp://argo:21"}, code: 2, stderrHas: "scheme must be http or https"},
		"server: path":             {env: kube, args: []string{"env", "--secret", "ci", "--server", "https://argo:443/argo"}, code: 2, stderrHas: "a path is not allowed"},
		"server: path, no scheme":  {env: kube, args: []string{"env", "--secret", "ci", "--server", "argo:443/argo"}, code: 2, stderrHas: "a path is not allowed"},
		"server: no port":          {env: kube, args: []string{"env", "--secret", "ci", "--server", "argo.example.com"}, code: 2, stderrHas: "want host:port"},
		"server: IPv6 unbracketed": {env: kube, args: []string{"env", "--secret", "ci", "--server", "::1:2746"}, code: 2, stderrHas: "want host:port"},
		"server: spaces":           {env: kube, args: []string{"env", "--secret", "ci", "--server", "argo example:443"}, code: 2, stderrHas: "white space"},
		"server: unicode":          {env: kube, args: []string{"env", "--secret", "ci", "--server", "ärgo.example:443"}, code: 2, stderrHas: "punycode"},
		"server: very long":        {env: kube, args: []string{"env", "--secret", "ci", "--server", long}, code: 2, stderrHas: "longer than 253"},
		"server: port range":       {env: kube, args: []string{"env", "--secret", "ci", "--server", "argo:99999"}, code: 2, stderrHas: "port must be a number from 1 to 65535"},
		"server: newline":          {env: append(kube, "ARGO_SERVER=argo:1\nexport X=1"), args: []string{"env", "--secret", "ci"}, code: 2, stderrHas: "white space or control characters"},
		"server: query":            {env: kube, args: []string{"env", "--secret", "ci", "--server", "https://argo:443?x=1"}, code: 2, stderrHas: "only scheme, host and port"},
		"server: user info":        {env: kube, args: []string{"env", "--secret", "ci", "--server", "https://u:p@argo:443"}, code: 2, stderrHas: "only scheme, host and port"},
		"server: none":             {env: []string{"ARGO_TOKEN=" + tok}, args: []string{"env"}, code: 2, stderrHas: "no argo server given"},
		// Tokens.
		"token: empty":         {env: withToken(""), args: []string{"env"}, code: 3, stderrHas: "token is empty"},
		"token: white space":   {env: withToken("   "), args: []string{"env"}, code: 3, stderrHas: "token is empty"},
		"token: Bearer only":   {env: withToken("Bearer"), args: []string{"env"}, code: 3, stderrHas: "token is empty"},
		"token: Bearer Bearer": {env: withToken("Bearer Bearer " + tok), args: []string{"env"}, code: 3, stderrHas: "white space or a control character"},
		"token: control char":  {env: withToken(tok[:20] + "\x07" + tok[20:]), args: []string{"env"}, code: 3, stderrHas: "white space or a control character"},
		"token: not a JWT":     {env: withToken("not-a-jwt-0123456789"), args: []string{"env"}, code: 5, stderrHas: "rejected the token (401)"},
		"token: expired":       {env: withToken(expired), args: []string{"env"}, code: 5, stderrHas: "rejected the token (401)"},
		"token: not yet valid": {env: withToken(notYet), args: []string{"env"}, code: 5, stderrHas: "rejected the token (401)"},
		// Secrets.
		"secret: missing":            {env: kube, args: []string{"env", "--secret", "nope"}, code: 3, stderrHas: `secrets "nope" not found`},
		"secret: wrong type":         {env: kube, args: []string{"env", "--secret", "opaque"}, code: 3, stderrHas: `type is "Opaque"`},
		"secret: account missing":    {env: kube, args: []string{"env", "--secret", "orphan"}, code: 3, stderrHas: "its ServiceAccount may not exist"},
		"secret: another account":    {env: kube, args: []string{"env", "--secret", "for-other"}, code: 6, stderrHas: "workflows/list: expected allowed, got denied"},
		"secret: invalid name":       {env: kube, args: []string{"env", "--secret", "../etc"}, code: 2, stderrHas: `invalid --secret "../etc"`},
		"secret: no such namespace":  {env: kube, args: []string{"env", "--secret", "ci", "--namespace", "no-such-ns"}, code: 3, stderrHas: "not found"},
		"secret: bad namespace name": {env: kube, args: []string{"env", "--secret", "ci", "--namespace", "Bad_NS"}, code: 2, stderrHas: `invalid --namespace "Bad_NS"`},
		// Token files.
		"file: missing":      {env: kube, args: []string{"env", "--token-file", filepath.Join(files, "nope")}, code: 3, stderrHas: "no such file"},
		"file: empty":        {env: kube, args: []string{"env", "--token-file", empty}, code: 3, stderrHas: "token is empty"},
		"file: unreadable":   {env: kube, args: []string{"env", "--token-file", empty + "/token"}, code: 3, stderrHas: "not a directory"},
		"file: a directory":  {env: kube, args: []string{"env", "--token-file", files}, code: 3, stderrHas: "not a regular file"},
		"file: huge":         {env: kube, args: []string{"env", "--token-file", huge}, code: 3, stderrHas: "larger than"},
		"kubeconfig: a FIFO": {env: kube, args: []string{"env", "--kubeconfig", fifo, "--secret", "ci"}, code: 2, stderrHas: "is not a regular file"},
		"file: a FIFO":       {env: kube, args: []string{"env", "--timeout", "1s", "--token-file", fifo}, code: 3, stderrHas: "no token from " + fifo + " within 1s: a FIFO no writer has opened"},
		"ca file: not PEM":   {env: kube, args: []string{"env", "--secret", "ci", "--ca-file", empty, "--secure"}, code: 2, stderrHas: "no certificates in CA file"},
		"ca file: missing":   {env: kube, args: []string{"env", "--secret", "ci", "--ca-file", filepath.Join(files, "nope"), "--secure"}, code: 2, stderrHas: "reading CA file"},
		// Flags and formats.
		"format: unknown":              {env: kube, args: []string{"env", "--secret", "ci", "--format", "xml"}, code: 2, stderrHas: `unknown --format "xml"`},
		"expect: unknown resource":     {env: kube, args: []string{"env", "--secret", "ci", "--expect", "allow:secrets/list"}, code: 2, stderrHas: `unknown resource "secrets"`},
		"expect: unknown verb":         {env: kube, args: []string{"env", "--secret", "ci", "--expect", "allow:workflows/remove"}, code: 2, stderrHas: `unknown verb "remove"`},
		"expect: verdict":              {env: kube, args: []string{"env", "--secret", "ci", "--expect", "maybe:workflows"}, code: 2, stderrHas: "must start with allow: or deny:"},
		"flags: secret and sa":         {env: kube, args: []string{"env", "--secret", "ci", "--service-account", "ci"}, code: 2, stderrHas: "both given"},
		"flags: client and secret":     {env: kube, args: []string{"env", "--client", "ci", "--secret", "ci"}, code: 2, stderrHas: "--client and --secret both given"},
		"flags: client not a name":     {env: kube, args: []string{"probe", "--client", "CI_1"}, code: 2, stderrHas: `invalid --client "CI_1": not a Kubernetes name`},
		"flags: secure and scheme":     {env: kube, args: []string{"env", "--secret", "ci", "--server", "http://argo:80", "--secure"}, code: 2, stderrHas: "contradicts"},
		"flags: header without http1":  {env: kube, args: []string{"env", "--secret", "ci", "--header", "X-A: b"}, code: 2, stderrHas: "--header works only with HTTP/1"},
		"flags: base href with grpc":   {env: kube, args: []string{"env", "--secret", "ci", "--base-href", "/argo"}, code: 2, stderrHas: "works only with HTTP/1"},
		"flags: unknown":               {env: kube, args: []string{"env", "--nope"}, code: 2, stderrHas: "flag provided but not defined"},
		"flags: bool with a space":     {env: kube, args: []string{"env", "--secret", "ci", "--secure", "false"}, code: 2, stderrHas: "a boolean flag takes its value after '='"},
		"flags: duration without unit": {env: kube, args: []string{"env", "--secret", "ci", "--wait", "5"}, code: 2, stderrHas: "a duration needs a unit"},
		"flags: duration too short":    {env: kube, args: []string{"env", "--service-account", "ci", "--duration", "5m"}, code: 2, stderrHas: "under the minimum of 10m"},
		"flags: timeout zero":          {env: kube, args: []string{"env", "--secret", "ci", "--timeout", "0s"}, code: 2, stderrHas: "--timeout must be positive"},
		"flags: bind without sa":       {env: kube, args: []string{"env", "--secret", "ci", "--bind"}, code: 2, stderrHas: "--bind binds a TokenRequest token"},
		"source: unknown":              {env: kube, args: []string{"env", "--source", "magic"}, code: 2, stderrHas: `unknown --source "magic"`},
		"source: none":                 {env: kube, args: []string{"env"}, code: 2, stderrHas: "no token source"},
		"github-oidc: no id-token":     {env: kube, args: []string{"env", "--source", "github-oidc"}, code: 3, stderrHas: "id-token: write"},
		"oidc-env: unset":              {env: kube, args: []string{"env", "--oidc-env", "NO_SUCH_VAR"}, code: 3, stderrHas: "NO_SUCH_VAR is not set"},
		// Output files.
		"output: missing directory": {env: kube, args: []string{"env", "--secret", "ci", "--output-file", filepath.Join(files, "no", "x")}, code: 2, stderrHas: "--output-file"},
		"output: a directory":       {env: kube, args: []string{"env", "--secret", "ci", "--output-file", files}, code: 2, stderrHas: "not a regular file"},
		"output: a FIFO":            {env: kube, args: []string{"env", "--secret", "ci", "--output-file", fifo}, code: 2, stderrHas: "not a regular file"},
		"github: no GITHUB_ENV":     {env: kube, args: []string{"env", "--secret", "ci", "--format", "github"}, code: 2, stderrHas: "--format github needs GITHUB_ENV"},
		"github: GITHUB_ENV unwritable": {env: append(kube, "GITHUB_ENV="+filepath.Join(files, "no", "env")), args: []string{"env", "--secret", "ci", "--format", "github"},
			code: 2, stderrHas: "appending to"},
		// Kubernetes access.
		"kubeconfig: missing":        {env: append(kube, "KUBECONFIG="+filepath.Join(files, "nope")), args: []string{"env", "--secret", "ci"}, code: 2, stderrHas: "no such file"},
		"kubeconfig: /dev/null":      {env: append(kube, "KUBECONFIG=/dev/null"), args: []string{"env", "--secret", "ci"}, code: 2, stderrHas: "KUBECONFIG is /dev/null"},
		"kubeconfig: malformed":      {env: append(kube, "KUBECONFIG="+badKube), args: []string{"env", "--secret", "ci"}, code: 2, stderrHas: "loading kubernetes config"},
		"kubeconfig: points nowhere": {env: append(kube, "KUBECONFIG="+nowhere), args: []string{"env", "--secret", "ci", "--timeout", "3s"}, code: 3, stderrHas: "that the Kubernetes API server is reachable"},
		// exec and docker.
		"exec: no such command":       {env: kube, args: []string{"exec", "--secret", "ci", "--", "no-such-command-x"}, code: 2, stderrHas: `command "no-such-command-x" not found`},
		"exec: bad token source":      {env: kube, args: []string{"exec", "--secret", "nope", "--", "true"}, code: 3, stderrHas: "not found"},
		"docker: no CLI":              {env: append(kube, "PATH=/nonexistent"), args: []string{"docker", "--secret", "ci", "--", "version"}, code: 2, stderrHas: "the docker CLI is not installed"},
		"exec: --oidc-env unset":      {env: kube, args: []string{"exec", "--oidc-env", "NO_SUCH_ID_TOKEN", "--", "sh", "-c", "echo ran"}, code: 3, stderrHas: "NO_SUCH_ID_TOKEN"},
		"exec: --bind only":           {env: kube, args: []string{"exec", "--bind", "--", "sh", "-c", "echo ran"}, code: 2, stderrHas: "no token source"},
		"exec: empty --secret":        {env: kube, args: []string{"exec", "--secret", "", "--", "sh", "-c", "echo ran"}, code: 2, stderrHas: "no token source"},
		"exec: empty source var":      {env: append(kube, "ARGO_CRED_OIDC_ENV="), args: []string{"exec", "--", "sh", "-c", "echo ran"}, code: 2, stderrHas: "no token source"},
		"exec: audience only":         {env: kube, args: []string{"exec", "--audience", "x", "--", "sh", "-c", "echo ran"}, code: 2, stderrHas: "no token source"},
		"exec: client without a copy": {env: append(kube, "ARGO_CRED_CLIENT=ci"), args: []string{"exec", "--", "sh", "-c", "echo ran"}, code: 3, stderrHas: "client ci has no current token"},
		"docker: image is an option":  {env: kube, args: []string{"docker", "--image=--volume=/:/host", "--secret", "ci", "--", "version"}, code: 2, stderrHas: "is not an image reference"},
		"docker: no engine":           {env: append(kube, "DOCKER_HOST=unix:///nonexistent.sock"), args: []string{"docker", "--secret", "ci", "--", "version"}, code: 2, stderrHas: "no Docker engine reachable"},
		// The identity lifecycle.
		"provision: invalid client":   {env: kube, args: []string{"provision", "--client", "Bad_Name"}, code: 2, stderrHas: "not a Kubernetes name"},
		"provision: default":          {env: kube, args: []string{"provision", "--client", "default"}, code: 2, stderrHas: "the namespace's default ServiceAccount is reserved"},
		"revoke: default":             {env: kube, args: []string{"revoke", "--client", "default", "--purge"}, code: 2, stderrHas: "the namespace's default ServiceAccount is reserved"},
		"provision: no client":        {env: kube, args: []string{"provision"}, code: 2, stderrHas: "no client given"},
		"provision: unknown resource": {env: kube, args: []string{"provision", "--client", "x", "--allow", "secrets:list"}, code: 2, stderrHas: `unknown resource "secrets"`},
		"provision: unknown verb":     {env: kube, args: []string{"provision", "--client", "x", "--allow", "workflows:fly"}, code: 2, stderrHas: `unknown verb "fly"`},
		"rotate: not provisioned":     {env: kube, args: []string{"rotate", "--client", "ghost"}, code: 2, stderrHas: "is not provisioned"},
		"revoke: no such client":      {env: kube, args: []string{"revoke", "--client", "ghost"}, code: 2, stderrHas: "client ghost does not exist in namespace"},
		"revoke: not a binding":       {env: kube, args: []string{"revoke", "--binding", "opaque"}, code: 2, stderrHas: "is not a token binding"},
		"clients: unknown output":     {env: kube, args: []string{"clients", "-o", "yaml"}, code: 2, stderrHas: `unknown --output "yaml"`},
		"oidc-config: bad repo":       {env: kube, args: []string{"oidc-config", "--github-repo", "not a repo"}, code: 2, stderrHas: "invalid --github-repo"},
		// The action's inputs.
		"action: outside Actions": {env: kube, args: []string{"action"}, code: 2, stderrHas: "runs only as a GitHub Actions step"},
		"action: bad boolean":     {env: append(append(kube, inActions...), "INPUT_HTTP1=maybe"), args: []string{"action"}, code: 2, stderrHas: `input http1: "maybe" is not a boolean`},
		"action: bad duration":    {env: append(append(kube, inActions...), "INPUT_TIMEOUT=5"), args: []string{"action"}, code: 2, stderrHas: `input timeout: "5" is not a duration`},
		"action: bad server":      {env: append(append(kube, inActions...), "INPUT_SERVER=ftp://x:1", "INPUT_SECRET=ci"), args: []string{"action"}, code: 2, stderrHas: "scheme must be http or https"},
		// Other commands.
		"probe: unknown output":   {env: kube, args: []string{"probe", "--secret", "ci", "-o", "yaml"}, code: 2, stderrHas: `unknown --output "yaml"`},
		"version: unknown output": {env: kube, args: []string{"version", "-o", "yaml"}, code: 2, stderrHas: `unknown --output "yaml"`},
		"command: unknown":        {env: kube, args: []string{"login"}, code: 2, stderrHas: `unknown command "login"`},
	}
	if len(tests) < 60 {
		t.Fatalf("%d cases; the suite promises at least 60", len(tests))
	}
	t.Logf("bad input: %d cases", len(tests)+1)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			args := tc.args
			if args[0] == "env" && !strings.Contains(strings.Join(args, " "), "--output-file") && !strings.Contains(strings.Join(args, " "), "--format github") {
				// Where a run would write, it must write nothing on failure.
				args = append(append([]string{}, args...), "--output-file", filepath.Join(out, "argo.env"))
			}
			r := run(t, tc.env, args...)
			checkBad(t, r, tc, out, tok, hostileToken)
		})
	}
}
