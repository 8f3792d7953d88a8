package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

var (
	imageOnce sync.Once
	imageTag  string
	imageErr  error
)

// image returns the argo-cred image, built once by test/image/build.sh
// (offline: on a stand-in base when the argocli image cannot be pulled).
// Without a Docker engine the test fails in CI (CI=true) and is skipped
// elsewhere, saying so in one line.
func image(t *testing.T) string {
	t.Helper()
	testenv.Get(t)    // skips under -short, fails without the stack
	testenv.Docker(t) // fails in CI without an engine, skips elsewhere, saying so
	imageOnce.Do(func() {
		cmd := exec.Command(filepath.Join(testenv.Root(), "test", "image", "build.sh"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		imageTag = strings.TrimSpace(string(out))
		if err != nil {
			imageErr = fmt.Errorf("test/image/build.sh: %v\n%s", err, stderr.String())
		}
	})
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	return imageTag
}

// docker runs the docker CLI with env added to its own environment (so
// that -e NAME passes values by name) and returns what it printed.
func docker(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return result{stdout: out.String(), stderr: errOut.String(), code: exitCode(t, "docker", err)}
}

// byName turns NAME=value pairs into -e NAME flags.
func byName(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		out = append(out, "-e", name)
	}
	return out
}

// The image behaves as the argocli image with the credential checked first.
func TestIntegrationImage(t *testing.T) {
	t.Parallel()
	img := image(t)
	f := setup(t, testenv.WorkflowsListUpdate)
	f.s.Identity(t, f.ns, "greedy", []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows", "workflowtemplates"}, Verbs: []string{"list"}}})
	greedy := f.s.WaitToken(t, f.ns, "greedy")
	settings := []string{"ARGO_SERVER=" + f.s.ArgoServer, "ARGO_SECURE=false", "ARGO_NAMESPACE=" + f.ns}
	withToken := func(tok string) []string { return append([]string{"ARGO_TOKEN=" + tok}, settings...) }
	runImage := func(env []string, extra []string, args ...string) result {
		return docker(t, env, append(append(append([]string{"run", "--rm", "--network", "host"}, byName(env)...), extra...), append([]string{img}, args...)...)...)
	}

	t.Run("list", func(t *testing.T) {
		r := runImage(withToken(f.token), nil, "list", "-n", f.ns)
		if r.code != 0 || !strings.Contains(r.stdout, "No workflows found") || !strings.Contains(r.stderr, "verified") {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		noLeak(t, f.token, "stderr", r.stderr)
	})
	t.Run("argo's refusal and exit code", func(t *testing.T) {
		r := runImage(withToken(f.token), nil, "template", "list", "-n", f.ns)
		if r.code != 1 || !strings.Contains(r.stderr, "PermissionDenied") {
			t.Errorf("exit %d, stderr %q; want argo's 1 and PermissionDenied", r.code, r.stderr)
		}
	})
	t.Run("over-privileged: exit 7 before argo", func(t *testing.T) {
		r := runImage(withToken(greedy), nil, "template", "list", "-n", f.ns)
		if r.code != 7 || !strings.Contains(r.stderr, "error: workflowtemplates/list: expected denied") || strings.Contains(r.stdout, "NAME") {
			t.Errorf("exit %d, stdout %q, stderr %q; want 7 from argo-cred and no listing", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("from a Secret with a mounted kubeconfig", func(t *testing.T) {
		kc := readerKubeconfig(t, f)
		env := append([]string{"ARGO_CRED_SECRET=ci", "KUBECONFIG=/kube/config"}, settings...)
		r := runImage(env, []string{"-v", kc + ":/kube/config:ro"}, "list", "-n", f.ns)
		if r.code != 0 || !strings.Contains(r.stdout, "No workflows found") {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("version without a credential", func(t *testing.T) {
		r := runImage(nil, nil, "version")
		if r.code != 0 || !strings.Contains(r.stdout, "argo: v3.7.9") || !strings.Contains(r.stderr, "note: no token source") {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
}

// readerRule lets a ServiceAccount read token Secrets, as argo-cred needs.
var readerRule = rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "watch"}}

// reader makes a ServiceAccount that may read the fixture's token Secrets
// and returns a token for it.
func reader(t *testing.T, f fixture) string { return f.s.ServiceAccount(t, f.ns, "reader", readerRule) }

// readerKubeconfig is a kubeconfig file for reader, readable by the
// image's uid 8737.
func readerKubeconfig(t *testing.T, f fixture) string {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	must(t, os.WriteFile(path, []byte(f.s.TokenKubeconfig(t, reader(t, f), f.ns)), 0o644))
	return path
}

// In a pod, for real: the ServiceAccount's token, ca.crt and namespace
// mounted where Kubernetes mounts them, and KUBERNETES_SERVICE_HOST/PORT
// naming the stack's kube-apiserver, as a Jenkins agent or runner pod has.
func TestIntegrationImageInCluster(t *testing.T) {
	t.Parallel()
	img := image(t)
	f := setup(t, testenv.WorkflowsListUpdate)
	ca, err := os.ReadFile(f.s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	mount := func(token string) string {
		dir := t.TempDir()
		for name, data := range map[string]string{"token": token, "ca.crt": string(ca), "namespace": f.ns} {
			must(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
		}
		must(t, os.Chmod(dir, 0o755))
		return dir + ":/var/run/secrets/kubernetes.io/serviceaccount:ro"
	}
	pod := []string{"KUBERNETES_SERVICE_HOST=127.0.0.1", "KUBERNETES_SERVICE_PORT=" + f.s.APIServer[strings.LastIndex(f.s.APIServer, ":")+1:], "ARGO_SERVER=" + f.s.ArgoServer, "ARGO_SECURE=false"}
	for name, tc := range map[string]struct {
		env   []string
		token string
	}{
		"--secret through the in-cluster config": {env: []string{"ARGO_CRED_SECRET=ci"}, token: reader(t, f)},
		"--source file, no Kubernetes access":    {env: []string{"ARGO_CRED_TOKEN_FILE=/var/run/secrets/kubernetes.io/serviceaccount/token"}, token: f.token},
	} {
		t.Run(name, func(t *testing.T) {
			env := append(append([]string{}, pod...), tc.env...)
			args := append(append([]string{"run", "--rm", "--network", "host", "-v", mount(tc.token)}, byName(env)...), img, "list")
			r := docker(t, env, args...)
			if r.code != 0 || !strings.Contains(r.stdout, "No workflows found") || !strings.Contains(r.stderr, "in namespace "+f.ns) {
				t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// Signals: SIGTERM to `docker run` of the image reaches argo inside (a long
// `argo wait` on a workflow no controller runs) and the exit code comes
// back; argo-cred as PID 1, before it execs argo, exits on SIGTERM with 130.
// Meanwhile no process on the machine has the token in its command line.
func TestIntegrationImageSignals(t *testing.T) {
	t.Parallel()
	img := image(t)
	f := setup(t, []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"list", "get", "watch"}}})
	pendingWorkflow(t, f, "forever")
	hang := testenv.Hang(t)
	for name, tc := range map[string]struct {
		env      []string
		args     []string
		wantCode func(int) bool
		want     string
	}{
		"argo wait gets SIGTERM": {env: []string{"ARGO_TOKEN=" + f.token, "ARGO_SERVER=" + f.s.ArgoServer, "ARGO_SECURE=false", "ARGO_NAMESPACE=" + f.ns},
			args: []string{"wait", "forever"}, wantCode: func(c int) bool { return c != 0 && c != 130 }, want: "verified"},
		"argo-cred as PID 1 gets SIGTERM": {env: []string{"ARGO_TOKEN=" + f.token, "ARGO_SERVER=" + hang.Addr, "ARGO_SECURE=false", "ARGO_NAMESPACE=" + f.ns, "ARGO_CRED_TIMEOUT=60s"},
			args: []string{"list"}, wantCode: func(c int) bool { return c == 130 }, want: "error: interrupted"},
	} {
		t.Run(name, func(t *testing.T) {
			ctr := fmt.Sprintf("argo-cred-signals-%d", time.Now().UnixNano())
			held := len(hang.Requests())
			cmd := exec.Command("docker", append(append([]string{"run", "--rm", "--name", ctr, "--network", "host"}, byName(tc.env)...), append([]string{img}, tc.args...)...)...)
			cmd.Env = append(os.Environ(), tc.env...)
			var stderr syncBuffer
			cmd.Stderr = &stderr
			must(t, cmd.Start())
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			// Signalled once argo-cred has checked and argo runs (argo wait
			// waits on a stream: argo-cred, PID 1, stays its parent behind the
			// relay and forwards the signal), or once argo-cred is stuck on
			// the hanging server (it holds a connection there).
			testenv.Eventually(t, 60*time.Second, "argo running, or argo-cred connected to the hanging server", func() bool {
				if strings.Contains(name, "PID 1") {
					return len(hang.Requests()) > held
				}
				out, _ := exec.Command("docker", "top", ctr, "-o", "pid,args").Output()
				return strings.Contains(stderr.String(), "verified") && strings.Contains(string(out), "/bin/argo wait forever")
			})
			scanCmdlines(t, f.token)
			sent := time.Now()
			must(t, cmd.Process.Signal(syscall.SIGTERM)) // the docker CLI proxies it to the container
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("docker run did not end within 20s of SIGTERM; stderr %q", stderr.String())
			}
			code := cmd.ProcessState.ExitCode()
			t.Logf("exit %d after %s", code, time.Since(sent))
			if !tc.wantCode(code) || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q", code, stderr.String())
			}
		})
	}
}

// pendingWorkflow creates a Workflow that never completes: the stack runs
// no workflow controller.
func pendingWorkflow(t *testing.T, f fixture, name string) {
	t.Helper()
	body := `{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"name":"` + name + `"},"spec":{"entrypoint":"main","templates":[{"name":"main","container":{"image":"busybox"}}]}}`
	if err := f.s.Client.CoreV1().RESTClient().Post().AbsPath("/apis/argoproj.io/v1alpha1/namespaces/"+f.ns+"/workflows").
		SetHeader("Content-Type", "application/json").Body([]byte(body)).Do(context.Background()).Error(); err != nil {
		t.Fatal(err)
	}
}

// scanCmdlines fails if any process on the machine has a form of tok in its
// command line.
func scanCmdlines(t *testing.T, tok string) { scanProc(t, tok, "cmdline") }

// scanProc scans /proc/*/what (cmdline, environ: as root, every process's)
// for a form of tok.
func scanProc(t *testing.T, tok, what string) {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/" + what)
	n := 0
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		n++
		noLeak(t, tok, p, strings.ReplaceAll(string(b), "\x00", " "))
	}
	if n < 10 {
		t.Fatalf("read only %d /proc/*/%s; the scan would prove nothing", n, what)
	}
}

// argocliImage is the argocli image if it is here, else the stand-in
// test/image/build.sh made.
func argocliImage(t *testing.T) string {
	image(t)
	if exec.Command("docker", "image", "inspect", "quay.io/argoproj/argocli:v3.7.9").Run() == nil {
		return "quay.io/argoproj/argocli:v3.7.9"
	}
	return "argo-cred/argocli-standin:v3.7.9"
}

// argo-cred docker: the credential is checked on the host, the argocli
// image runs with the settings passed by name only, in the working
// directory, and its exit code and signals pass through.
func TestIntegrationDockerWrapper(t *testing.T) {
	t.Parallel()
	img := argocliImage(t)
	f := setup(t, []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"list", "get", "watch", "create"}}})
	pendingWorkflow(t, f, "forever")
	work := t.TempDir()
	must(t, os.WriteFile(filepath.Join(work, "wf.yaml"), []byte("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: wrapped-}\nspec: {entrypoint: main, templates: [{name: main, container: {image: busybox}}]}\n"), 0o644))
	must(t, os.Chmod(work, 0o755))
	base := []string{"docker", "--image", img, "--network", "host", "--secret", "ci", "--namespace", f.ns, "--server", f.s.ArgoServer, "--secure=false"}
	start := func(args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
		cmd := exec.Command(binary, append(append([]string{}, base...), args...)...)
		cmd.Dir = work
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, f.kube...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		must(t, cmd.Start())
		return cmd, &stdout, &stderr
	}
	t.Run("list and submit from the working directory", func(t *testing.T) {
		for _, args := range [][]string{{"-v", "--", "list", "-n", f.ns}, {"--", "submit", "-n", f.ns, "wf.yaml"}} {
			cmd, stdout, stderr := start(args...)
			err := cmd.Wait()
			if err != nil || !strings.Contains(stdout.String(), map[bool]string{true: "forever", false: "wrapped-"}[args[0] == "-v"]) {
				t.Errorf("%v: %v\nstdout %s\nstderr %s", args, err, stdout, stderr)
			}
			noLeak(t, f.token, "stderr", stderr.String())
			if args[0] == "-v" && !strings.Contains(stderr.String(), "-e ARGO_TOKEN ") {
				t.Errorf("-v: want the docker command line with -e ARGO_TOKEN:\n%s", stderr)
			}
		}
	})
	t.Run("stdin reaches the container", func(t *testing.T) {
		cmd := exec.Command(binary, append(append([]string{}, base...), "--", "submit", "-n", f.ns, "/dev/stdin")...)
		cmd.Dir = work
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, f.kube...)
		cmd.Stdin = strings.NewReader("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: piped-}\nspec: {entrypoint: main, templates: [{name: main, container: {image: busybox}}]}\n")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "piped-") {
			t.Errorf("submit from stdin: %v\n%s", err, out)
		}
	})
	// waiting starts argo-cred docker -v -- wait … forever and returns once
	// the container runs argo wait (the container's name is in the -v line).
	waiting := func(t *testing.T) (cmd *exec.Cmd, stderr *syncBuffer, done chan error, container string) {
		cmd = exec.Command(binary, append(append([]string{}, base...), "-v", "--", "wait", "-n", f.ns, "forever")...)
		cmd.Dir = work
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, f.kube...)
		stderr, done = &syncBuffer{}, make(chan error, 1)
		cmd.Stderr = stderr
		must(t, cmd.Start())
		go func() { done <- cmd.Wait() }()
		testenv.Eventually(t, 60*time.Second, "argo wait running in the container", func() bool {
			_, rest, ok := strings.Cut(stderr.String(), "--name ")
			if !ok {
				return false
			}
			container = strings.Fields(rest)[0]
			out, _ := exec.Command("docker", "top", container, "-o", "pid,args").Output()
			return strings.Contains(string(out), "wait")
		})
		return cmd, stderr, done, container
	}
	t.Run("SIGTERM reaches argo, the exit code comes back, no token in any command line", func(t *testing.T) {
		cmd, stderr, done, _ := waiting(t)
		scanCmdlines(t, f.token)
		must(t, cmd.Process.Signal(syscall.SIGTERM))
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("argo-cred docker did not end within 20s of SIGTERM; stderr %q", stderr.String())
		}
		// argo, a Go program as the container's PID 1, exits 2 on SIGTERM.
		if code := cmd.ProcessState.ExitCode(); code != 2 || strings.Contains(stderr.String(), "error: interrupted") {
			t.Errorf("exit %d, stderr %q; want argo's own exit code", code, stderr.String())
		}
	})
	t.Run("SIGKILL of argo-cred: the guard removes the container", func(t *testing.T) {
		cmd, stderr, done, name := waiting(t)
		must(t, cmd.Process.Kill())
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatalf("the guard did not finish within 60s; stderr %q", stderr.String())
		}
		testenv.Eventually(t, 30*time.Second, "the container removed", func() bool {
			return exec.Command("docker", "inspect", name).Run() != nil
		})
		if !strings.Contains(stderr.String(), "argo-cred guard: argo-cred ended without cleaning up: removed container "+name) {
			t.Errorf("stderr:\n%s", stderr.String())
		}
	})
	t.Run("no docker CLI, no engine", func(t *testing.T) {
		tok := []string{"ARGO_TOKEN=" + f.token, "ARGO_SERVER=" + f.s.ArgoServer}
		wantCode(t, run(t, append(tok, "PATH=/nonexistent"), "docker", "--", "version"), 2, "the docker CLI is not installed")
		wantCode(t, run(t, append(tok, "DOCKER_HOST=unix:///nonexistent.sock"), "docker", "--", "version"), 2, "no Docker engine reachable")
	})
}

// imageRecipe is the documents' recipe for argo-cred's image (the block
// marked <!-- recipe: image --> in docs/docker.md, "argo-cred's image, as
// the argo CLI image"), kept identical to it: TestIntegrationImageRecipe
// runs it as written, and it and TestRecipesInDocs fail if the documents
// hold another text.
const imageRecipe = `export ARGO_SERVER=argo.example.com:443 ARGO_NAMESPACE=ci
docker run --rm --user "$(id -u):$(id -g)" \
  -v "${KUBECONFIG:-$HOME/.kube/config}:/kube/config:ro" -e KUBECONFIG=/kube/config \
  -v "$PWD:/work:ro" -w /work \
  -e ARGO_CRED_SECRET=ci-token -e ARGO_SERVER -e ARGO_NAMESPACE \
  argo-cred:dev submit -n ci workflow.yaml
`

// caller is who runs a recipe or argo-cred docker in these tests: this
// user, or when the tests run as root (whom no file mode stops, so a 0600
// file would prove nothing) an unprivileged uid with the docker socket's
// group, as a CI user is.
type caller struct {
	uid, gid int
	groups   []uint32
	root     bool // the tests run as root: files are chowned, commands run as uid
}

func unprivileged() caller {
	if os.Getuid() != 0 {
		return caller{uid: os.Getuid(), gid: os.Getgid()}
	}
	c := caller{uid: 4242, gid: 4242, root: true}
	sock := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		sock = strings.TrimPrefix(h, "unix://")
	}
	if st, err := os.Stat(sock); err == nil {
		c.groups = []uint32{st.Sys().(*syscall.Stat_t).Gid}
	}
	return c
}

// dir makes a directory for the caller: a private (0700) directory of
// theirs in a directory every uid may enter (t.TempDir's parent is root's
// 0700).
func (c caller) dir(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("", "argo-cred-caller-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(base) })
	must(t, os.Chmod(base, 0o755))
	d := filepath.Join(base, "d")
	must(t, os.Mkdir(d, 0o700))
	c.own(t, d)
	return d
}

// file writes a 0600 file of the caller's.
func (c caller) file(t *testing.T, path, data string) {
	t.Helper()
	must(t, os.WriteFile(path, []byte(data), 0o600))
	c.own(t, path)
}

func (c caller) own(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if c.root {
			must(t, os.Chown(p, c.uid, c.gid))
		}
	}
}

// command runs name as the caller, in dir, with env only.
func (c caller) command(dir string, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	if c.root {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.gid), Groups: c.groups}}
	}
	return cmd
}

func (c caller) run(t *testing.T, dir string, env []string, name string, args ...string) result {
	t.Helper()
	cmd := c.command(dir, env, name, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	must(t, cmd.Start())
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return result{stdout: out.String(), stderr: errOut.String(), code: exitCode(t, name, err)}
	case <-time.After(120 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("%s %v did not end within 120s; stderr %s", name, args, errOut.String())
		return result{}
	}
}

// dockerEnv is what a caller's docker CLI needs: PATH, a HOME of theirs,
// and the engine the tests use.
func dockerEnv(path, home string) []string {
	env := []string{"PATH=" + path, "HOME=" + home}
	for _, name := range []string{"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"} {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return env
}

// The recipe for argo-cred's image (docs/docker.md), run as written by a user who
// is not root, with their 0600 kubeconfig and 0600 workflow file: the
// container runs as that user and reads both. Only the server address and
// the image tag are swapped in; the stack listens on this host's loopback
// with its own CA, so a docker shim on PATH adds --network host and mounts
// the stack's CA as the image's system roots. Without --user, argo-cred
// names the uid mismatch. Not parallel: the recipe names namespace ci, as
// TestIntegrationReadmeRecipes does.
func TestIntegrationImageRecipe(t *testing.T) {
	img := image(t)
	s := testenv.Get(t)
	t.Run("the documents hold the recipe", func(t *testing.T) {
		if got := docRecipes(t)["image"]; got != imageRecipe {
			t.Errorf("the documents' image recipe differs from imageRecipe:\n%s", got)
		}
	})

	namespaceCI(t, s)
	s.Identity(t, "ci", "ci-token", []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"list", "get", "create"}}})
	ciToken := s.WaitToken(t, "ci", "ci-token")
	readerToken := s.ServiceAccount(t, "ci", "reader", readerRule)

	u := unprivileged()
	work, home, kube, bin := u.dir(t), u.dir(t), u.dir(t), u.dir(t)
	kubeconfig := filepath.Join(kube, "config")
	u.file(t, kubeconfig, s.TokenKubeconfig(t, readerToken, "ci"))
	u.file(t, filepath.Join(work, "workflow.yaml"), "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: image-recipe-}\nspec: {entrypoint: main, templates: [{name: main, container: {image: busybox}}]}\n")
	u.file(t, filepath.Join(work, "token"), ciToken+"\n")
	real, err := exec.LookPath("docker")
	must(t, err)
	shim := filepath.Join(bin, "docker")
	must(t, os.WriteFile(shim, []byte(`#!/bin/sh
# The stack listens on this host's loopback, with its own CA.
if [ "$1" = run ]; then
	shift
	exec `+real+` run --network host -v `+s.CAFile+`:/etc/ssl/certs/ca-certificates.crt:ro "$@"
fi
exec `+real+` "$@"
`), 0o755))
	u.own(t, shim)
	env := append(dockerEnv(bin+":"+os.Getenv("PATH"), home), "KUBECONFIG="+kubeconfig)
	asWritten := strings.NewReplacer("argo.example.com:443", s.ArgoServerTLS, "argo-cred:dev", img).Replace(imageRecipe)
	for _, shell := range []string{"bash", "dash"} {
		t.Run("as written/"+shell, func(t *testing.T) {
			r := u.run(t, work, env, shell, "-c", asWritten)
			if r.code != 0 || !strings.Contains(r.stdout, "image-recipe-") || !strings.Contains(r.stderr, "verified") {
				t.Errorf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
			}
			for _, tok := range []string{ciToken, readerToken} {
				noLeak(t, tok, "the recipe's output", r.stdout+r.stderr)
			}
		})
	}
	// The mistake of the old recipe: no --user, so the image's uid 8737
	// reads the caller's 0600 files.
	user := `--user "$(id -u):$(id -g)" `
	if !strings.Contains(asWritten, user) {
		t.Fatalf("the recipe has no %s", user)
	}
	noUser := strings.Replace(asWritten, user, "", 1)
	want := func(path string) string {
		return fmt.Sprintf("%s is not readable by uid 8737 (argo-cred's): it belongs to uid %d (gid %d), mode 0600", path, u.uid, u.gid)
	}
	t.Run("without --user: the kubeconfig's owner and mode are named", func(t *testing.T) {
		r := u.run(t, work, env, "sh", "-c", noUser)
		if r.code != 2 || !strings.Contains(r.stderr, want("/kube/config")) || !strings.Contains(r.stderr, `run the container as the file's owner (uid `+fmt.Sprint(u.uid)+`): docker run --user "$(id -u):$(id -g)"`) {
			t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q with the docker run --user hint", r.code, r.stderr, want("/kube/config"))
		}
	})
	t.Run("without --user: a token file's owner and mode are named", func(t *testing.T) {
		recipe := strings.NewReplacer(`-v "${KUBECONFIG:-$HOME/.kube/config}:/kube/config:ro" -e KUBECONFIG=/kube/config`, `-v "$PWD/token:/token:ro" -e ARGO_CRED_TOKEN_FILE=/token`,
			"-e ARGO_CRED_SECRET=ci-token ", "").Replace(noUser)
		r := u.run(t, work, env, "sh", "-c", recipe)
		if r.code != 3 || !strings.Contains(r.stderr, want("/token")) || !strings.Contains(r.stderr, `docker run --user "$(id -u):$(id -g)"`) {
			t.Errorf("exit %d, stderr:\n%s\nwant exit 3 and %q", r.code, r.stderr, want("/token"))
		}
		noLeak(t, ciToken, "stderr", r.stderr)
	})
}

func relative(t *testing.T, from, to string) string {
	rel, err := filepath.Rel(from, to)
	must(t, err)
	return rel
}

// argo-cred docker with the files users have: a non-root caller's 0600
// workflow file in a 0700 working directory (the container runs as the
// caller, with HOME=/tmp), and a file outside the working directory, which
// the container sees only with --mount (else a note says so).
func TestIntegrationDockerWrapperFiles(t *testing.T) {
	t.Parallel()
	img := argocliImage(t)
	f := setup(t, []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"list", "get", "create"}}})
	u := unprivileged()
	work, other, home, bin := u.dir(t), u.dir(t), u.dir(t), u.dir(t)
	wf := func(name string) string {
		return "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: " + name + "-}\nspec: {entrypoint: main, templates: [{name: main, container: {image: busybox}}]}\n"
	}
	u.file(t, filepath.Join(work, "private.yaml"), wf("private"))
	outside := filepath.Join(other, "outside.yaml")
	u.file(t, outside, wf("outside"))
	kubeconfig := filepath.Join(home, "kubeconfig")
	u.file(t, kubeconfig, f.s.TokenKubeconfig(t, reader(t, f), f.ns))
	// The test binary's directory is root's 0700: a copy the caller may run.
	b, err := os.ReadFile(binary)
	must(t, err)
	argoCred := filepath.Join(bin, "argo-cred")
	must(t, os.WriteFile(argoCred, b, 0o755))
	u.own(t, argoCred)
	env := append(dockerEnv(os.Getenv("PATH"), home), "KUBECONFIG="+kubeconfig)
	docker := func(env []string, args ...string) result {
		base := []string{"docker", "--image", img, "--network", "host", "--secret", "ci", "--namespace", f.ns, "--server", f.s.ArgoServer, "--secure=false"}
		return u.run(t, work, env, argoCred, append(base, args...)...)
	}
	user := fmt.Sprintf("--user %d:%d ", u.uid, u.gid)
	t.Run("a 0600 workflow file in a 0700 directory", func(t *testing.T) {
		r := docker(env, "-v", "--", "submit", "-n", f.ns, "private.yaml")
		if r.code != 0 || !strings.Contains(r.stdout, "private-") {
			t.Errorf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, user) || !strings.Contains(r.stderr, "-e HOME=/tmp ") {
			t.Errorf("-v: want the docker command line with %q and -e HOME=/tmp:\n%s", user, r.stderr)
		}
		noLeak(t, f.token, "stderr", r.stderr)
	})
	t.Run("a file outside the working directory: a note naming --mount", func(t *testing.T) {
		r := docker(env, "--", "submit", "-n", f.ns, outside)
		note := fmt.Sprintf("note: %s is outside the working directory %s: the container does not see it; mount its directory read-only with --mount %s", outside, work, other)
		if r.code == 0 || !strings.Contains(r.stderr, note) {
			t.Errorf("exit %d, stderr:\n%s\nwant a failure and %q", r.code, r.stderr, note)
		}
	})
	for name, extra := range map[string]struct{ env, args []string }{
		"--mount": {args: []string{"--mount", other}},
		"--mount replaces ARGO_CRED_DOCKER_MOUNT": {env: []string{"ARGO_CRED_DOCKER_MOUNT=/nonexistent-is-replaced," + other}, args: []string{"--mount", other}},
		"relative --mount":                        {args: []string{"--mount", relative(t, work, other)}},
	} {
		t.Run(name, func(t *testing.T) {
			r := docker(append(append([]string{}, env...), extra.env...), append(append([]string{}, extra.args...), "-v", "--", "submit", "-n", f.ns, outside)...)
			if r.code != 0 || !strings.Contains(r.stdout, "outside-") || strings.Contains(r.stderr, "note: "+outside) || !strings.Contains(r.stderr, "-v "+other+":"+other+":ro ") {
				t.Errorf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
			}
		})
	}
	t.Run("--mount of the working directory, twice", func(t *testing.T) {
		r := docker(env, "--mount", work, "--mount", work, "--", "submit", "-n", f.ns, "private.yaml")
		if r.code != 0 || !strings.Contains(r.stdout, "private-") {
			t.Errorf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("ARGO_CRED_DOCKER_MOUNT alone", func(t *testing.T) {
		r := docker(append(append([]string{}, env...), "ARGO_CRED_DOCKER_MOUNT="+other), "--", "submit", "-n", f.ns, outside)
		if r.code != 0 || !strings.Contains(r.stdout, "outside-") {
			t.Errorf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("--mount of a file or of nothing", func(t *testing.T) {
		wantCode(t, docker(env, "--mount", outside, "--", "version"), 2, "is not a directory")
		wantCode(t, docker(env, "--mount", filepath.Join(other, "nope"), "--", "version"), 2, "no such file or directory")
	})
}
