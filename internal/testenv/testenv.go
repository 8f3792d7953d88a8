// Package testenv gives integration tests the running local stack (see
// test/stack/stack.sh) and a fresh namespace per test, so tests can run in
// parallel without stepping on each other.
package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Stack is the running local stack, as written to .stack/env.
type Stack struct {
	// The OIDC issuer (GitHub's stand-in), its fake ID-token endpoint
	// (ACTIONS_ID_TOKEN_REQUEST_URL) and the audience the cluster trusts.
	OIDCIssuer, OIDCTokenURL, OIDCAudience, AuthConfig string
	Dir, Kubeconfig, CAFile                            string
	APIServer                                          string // https://127.0.0.1:PORT
	ArgoServer, ArgoServerTLS                          string // host:port, plain HTTP and TLS
	ArgoServerHybrid                                   string // host:port, --auth-mode client --auth-mode server
	ArgoBin                                            string
	Client                                             kubernetes.Interface

	// Argo v3.6, the previous minor: its server (host:port, plain HTTP,
	// --auth-mode client) and CLI; ArgoV36 says when they are missing.
	ArgoServerV36, Argo36Bin string

	// The numeric ids of the owner the cluster trusts and of its repository
	// argo-cred-test/app: the default repository_owner_id and repository_id
	// claims of the issuer's tokens.
	OIDCOwnerID, OIDCRepoID string

	// The GitLab instance's stand-in issuer, its ID-token endpoint (as the
	// GitHub one's) and the audience, project and ids the cluster trusts.
	GitLabIssuer, GitLabTokenURL, GitLabAudience, GitLabProject, GitLabProjectID, GitLabNamespaceID string
}

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Get returns the stack. It skips under -short and fails (never skips) when
// the stack is not up: integration proof is not optional.
func Get(t testing.TB) *Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the local stack (make test runs it)")
	}
	dir := os.Getenv("STACK_DIR")
	if dir == "" {
		dir = filepath.Join(Root(), ".stack")
	}
	vars, err := readEnv(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatalf("the local stack is not up (%v): run make stack-up, or go test -short for unit tests only", err)
	}
	s := &Stack{
		Dir: vars["STACK_DIR"], APIServer: vars["STACK_APISERVER"], Kubeconfig: vars["STACK_KUBECONFIG"], CAFile: vars["STACK_CA_FILE"],
		ArgoServer: vars["ARGO_SERVER"], ArgoServerTLS: vars["ARGO_SERVER_TLS"], ArgoServerHybrid: vars["ARGO_SERVER_HYBRID"],
		ArgoBin: vars["ARGO_BIN"], ArgoServerV36: vars["ARGO_SERVER_V36"], Argo36Bin: vars["ARGO36_BIN"], OIDCIssuer: vars["STACK_OIDC_ISSUER"], OIDCTokenURL: vars["STACK_OIDC_TOKEN_URL"],
		OIDCAudience: vars["STACK_OIDC_AUDIENCE"], AuthConfig: vars["STACK_AUTH_CONFIG"],
		OIDCOwnerID: vars["STACK_OIDC_OWNER_ID"], OIDCRepoID: vars["STACK_OIDC_REPO_ID"], GitLabIssuer: vars["STACK_GITLAB_ISSUER"], GitLabTokenURL: vars["STACK_GITLAB_TOKEN_URL"],
		GitLabAudience: vars["STACK_GITLAB_AUDIENCE"], GitLabProject: vars["STACK_GITLAB_PROJECT"], GitLabProjectID: vars["STACK_GITLAB_PROJECT_ID"], GitLabNamespaceID: vars["STACK_GITLAB_NAMESPACE_ID"],
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		t.Fatalf("loading %s: %v", s.Kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	if s.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	return s
}

func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || strings.HasPrefix(k, "#") || strings.HasPrefix(k, "export") {
			continue
		}
		vars[k] = strings.Trim(v, "'")
	}
	return vars, sc.Err()
}

// Namespace creates a fresh namespace for t and deletes it when t ends.
func (s *Stack) Namespace(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "t-" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = s.Client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// Rules for the seed's Role: list and update workflows.
var WorkflowsListUpdate = []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"list", "update"}}}

// Identity creates the seed's identity in ns: a Role with rules, a
// ServiceAccount, a RoleBinding and a token Secret, all named name. It does
// not wait for the token.
func (s *Stack) Identity(t testing.TB, ns, name string, rules []rbacv1.PolicyRule) {
	t.Helper()
	ctx := context.Background()
	c := s.Client
	must := func(_ any, err error) {
		t.Helper()
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating identity %s/%s: %v", ns, name, err)
		}
	}
	must(c.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}))
	must(c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}))
	must(c.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}},
	}, metav1.CreateOptions{}))
	s.TokenSecret(t, ns, name, name)
}

// TokenSecret creates a kubernetes.io/service-account-token Secret for sa.
func (s *Stack) TokenSecret(t testing.TB, ns, name, sa string) {
	t.Helper()
	_, err := s.Client.CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{corev1.ServiceAccountNameKey: sa}},
		Type:       corev1.SecretTypeServiceAccountToken,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating token secret %s/%s: %v", ns, name, err)
	}
}

// WaitToken waits (with a watch) for the token controller to fill a Secret.
func (s *Stack) WaitToken(t testing.TB, ns, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A watch the API server ends early (it may) is made again, from what
	// a read says now, until the token is there or the time is up.
	for ctx.Err() == nil {
		sec, err := s.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && len(sec.Data["token"]) > 0 {
			return string(sec.Data["token"])
		}
		opts := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()}
		if err == nil {
			opts.ResourceVersion = sec.ResourceVersion
		}
		w, err := s.Client.CoreV1().Secrets(ns).Watch(ctx, opts)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		for ev := range w.ResultChan() {
			if sec, ok := ev.Object.(*corev1.Secret); ok && ev.Type != watch.Deleted && len(sec.Data["token"]) > 0 {
				w.Stop()
				return string(sec.Data["token"])
			}
		}
		w.Stop()
	}
	t.Fatalf("secret %s/%s: token not filled within 30s", ns, name)
	return ""
}

// Eventually polls cond every 100 ms until it returns true or limit passes.
func Eventually(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ArgoServer is an Argo Server a test started for itself, to stop or break
// without disturbing other tests.
type ArgoServer struct {
	Addr string
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
	logs *bytes.Buffer
}

// Logs returns what the server logged; call it after Stop.
func (a *ArgoServer) Logs() string { return a.logs.String() }

// StartArgoServer starts a plain-HTTP Argo Server in client auth mode with
// extra args, waits until its API answers, and stops it when t ends. A
// port another process took between FreePort and the server's bind is
// retried on a new one.
func (s *Stack) StartArgoServer(t testing.TB, extra ...string) *ArgoServer {
	t.Helper()
	for range 3 {
		if a := s.startArgoServer(t, FreePort(t), extra); a != nil {
			return a
		}
	}
	t.Fatal("argo server: three free ports were taken before it could bind them")
	return nil
}

// StartArgoServerOn is StartArgoServer on a given port (to restart one).
func (s *Stack) StartArgoServerOn(t testing.TB, port int, extra ...string) *ArgoServer {
	t.Helper()
	a := s.startArgoServer(t, port, extra)
	if a == nil {
		t.Fatalf("argo server: port %d is taken", port)
	}
	return a
}

// startArgoServer returns the server once it is the process that listens
// on port and its API answers, or nil when the port was taken.
func (s *Stack) startArgoServer(t testing.TB, port int, extra []string) *ArgoServer {
	t.Helper()
	kc := filepath.Join(s.Dir, "argo-server.kubeconfig")
	args := append([]string{"server", "--kubeconfig", kc, "--namespace", "argo", "--loglevel", "warn",
		"--secure=false", "--port", fmt.Sprint(port)}, extra...)
	if !slices.Contains(extra, "--auth-mode") {
		args = append(args, "--auth-mode", "client")
	}
	cmd := exec.Command(s.ArgoBin, args...)
	cmd.Env = []string{"HOME=" + s.Dir, "PATH=/usr/bin:/bin", "KUBECONFIG=" + kc}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting argo server: %v", err)
	}
	a := &ArgoServer{Addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd, done: make(chan struct{}), logs: &logs}
	go func() { _ = cmd.Wait(); close(a.done) }()
	t.Cleanup(a.Stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-a.done:
			// argo retries a taken port for a moment, then gives up.
			if strings.Contains(logs.String(), "failed to listen") {
				return nil
			}
			t.Fatalf("argo server on %s exited: %s", a.Addr, logs.String())
		default:
		}
		// Another process may answer on the port: only ours counts.
		if listens(cmd.Process.Pid, port) {
			resp, err := http.Get("http://" + a.Addr + "/api/v1/version")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 || resp.StatusCode == 401 {
					return a
				}
			}
		}
		if time.Now().After(deadline) {
			a.Stop()
			t.Fatalf("argo server on %s not ready in 30s: %s", a.Addr, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listens reports whether process pid holds the socket that listens on
// 127.0.0.1:port, from Linux's /proc.
func listens(pid, port int) bool {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	local := fmt.Sprintf("0100007F:%04X", port)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 10 || f[1] != local || f[3] != "0A" { // 0A: LISTEN
			continue
		}
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); l == "socket:["+f[9]+"]" {
				return true
			}
		}
	}
	return false
}

// Stop stops the server and waits for it to exit.
func (a *ArgoServer) Stop() {
	select {
	case <-a.done:
		return
	default:
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
}

// Signal sends sig to one of the stack's own components (by its pid file),
// e.g. SIGSTOP and SIGCONT to kube-controller-manager to hold back the token
// controller. Tests that do this must not run in parallel.
func (s *Stack) Signal(t testing.TB, component string, sig syscall.Signal) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.Dir, "pid", component))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatalf("signalling %s: %v", component, err)
	}
}

// OIDCRequestToken is a request token for the stack's fake ID-token
// endpoint: the issued token gets claims (and "ttl" seconds, or
// "untrusted": true for a key the issuer does not publish) over the
// defaults, a push to main of repository argo-cred-test/app.
func OIDCRequestToken(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	if claims == nil {
		b = []byte("{}")
	}
	return "req-" + base64.RawURLEncoding.EncodeToString(b)
}

// SeedIdentity makes a fresh namespace holding the seed's identity "ci"
// (list and update on workflows) and returns the namespace and the token.
func (s *Stack) SeedIdentity(t testing.TB) (ns, token string) {
	t.Helper()
	ns = s.Namespace(t)
	s.Identity(t, ns, "ci", WorkflowsListUpdate)
	return ns, s.WaitToken(t, ns, "ci")
}

// ServiceAccount makes a ServiceAccount name in ns with a Role of rules
// bound to it, and returns a token for it (TokenRequest).
func (s *Stack) ServiceAccount(t testing.TB, ns, name string, rules ...rbacv1.PolicyRule) string {
	t.Helper()
	ctx := context.Background()
	c := s.Client
	_, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err == nil {
		_, err = c.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{})
	}
	if err == nil {
		_, err = c.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}}}, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatalf("making serviceaccount %s/%s: %v", ns, name, err)
	}
	tr, err := c.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

// TokenKubeconfig is a kubeconfig's content (one line of JSON, which is
// YAML too) that reaches the stack's API server with token only, the CA
// inline: usable in a container on the host network.
func (s *Stack) TokenKubeconfig(t testing.TB, token, ns string) string {
	t.Helper()
	ca, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"Config","clusters":[{"name":"stack","cluster":{"server":%q,"certificate-authority-data":%q}}],"users":[{"name":"u","user":{"token":%q}}],"contexts":[{"name":"stack","context":{"cluster":"stack","user":"u","namespace":%q}}],"current-context":"stack"}`,
		s.KubeAPI(), base64.StdEncoding.EncodeToString(ca), token, ns)
}

// KubeAPI is the stack's API server URL.
func (s *Stack) KubeAPI() string {
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		return "https://127.0.0.1:26443"
	}
	return cfg.Host
}
