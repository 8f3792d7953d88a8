package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// Long jobs in docker: a keyless token that lives 20 s, and argo submit
// --wait of a workflow the stand-in controller ends after 45 s, so the
// token expires (and the Argo Server's watch may end) during the wait.

const (
	relayTokenTTL = 20 // seconds
	relayWait     = "45s"
)

// keylessNamespace is a namespace where the stack's GitHub job may submit
// and wait for workflows (oidc-config --apply).
func keylessNamespace(t *testing.T, s *testenv.Stack) string {
	t.Helper()
	ns := s.Namespace(t)
	r := run(t, []string{"KUBECONFIG=" + s.Kubeconfig}, append(oidcConfigArgs(s, ns), "--apply", "--allow", "workflows:get,list,watch,create")...)
	if r.code != 0 {
		t.Fatalf("oidc-config --apply: exit %d\n%s", r.code, r.stderr)
	}
	return ns
}

// standInWorkflows writes, in a directory every uid may read, a workflow
// the stand-in controller ends after d as Succeeded and one it fails.
func standInWorkflows(t *testing.T, d string) (dir string, files map[string]string) {
	dir = t.TempDir()
	must(t, os.Chmod(dir, 0o755))
	files = map[string]string{}
	for _, phase := range []string{"Succeeded", "Failed"} {
		p := filepath.Join(dir, strings.ToLower(phase)+".yaml")
		wf := "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: long-, annotations: {argo-cred.test/duration: " + d + ", argo-cred.test/outcome: " + phase + "}}\n" +
			"spec: {entrypoint: main, templates: [{name: main, container: {image: busybox}}]}\n"
		must(t, os.WriteFile(p, []byte(wf), 0o644))
		files[phase] = p
	}
	return dir, files
}

// No process may have anything of jwtShape in its command line, and
// docker's environment holds only the relay's value.
var (
	relayNote  = regexp.MustCompile(`argo-cred's relay on (\S+),`)
	renewals   = regexp.MustCompile(`relay: renewed the token`)
	perRunAuth = "ARGO_TOKEN=Bearer argo-cred-relay."
)

// noJWTInCommandLines fails if a process on the machine has a JSON Web
// Token, or the relay's per-run value, in its command line.
func noJWTInCommandLines(t *testing.T) {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	if len(procs) < 10 {
		t.Fatalf("%d command lines; the scan would prove nothing", len(procs))
	}
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		if jwtShape.Match(b) || strings.Contains(string(b), "argo-cred-relay.") {
			t.Errorf("%s holds a token: %q", p, b)
		}
	}
}

// environ is a process's environment, as NAME=value lines.
func environ(t *testing.T, pid int) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	must(t, err)
	return strings.Split(string(b), "\x00")
}

// childOf is the pid of pid's child named comm, or 0.
func childOf(pid int, comm string) int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, _ := os.ReadFile(p)
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i+1], "("+comm+")") {
			continue
		}
		if f := strings.Fields(s[i+1:]); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			c, _ := strconv.Atoi(strings.Fields(s)[0])
			return c
		}
	}
	return 0
}

// relayFor checks, while the container runs, what argo in it was given:
// the relay's address and per-run value only, in the container, in the
// docker CLI's environment and in no command line; and that the relay
// refuses a request without that value. It returns the relay's address.
func relayFor(t *testing.T, container, stderr string, dockerPID int) string {
	t.Helper()
	m := relayNote.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no note naming the relay:\n%s", stderr)
	}
	addr := m[1]
	out, err := exec.Command("docker", "inspect", "--format", `{{join .Config.Env "\n"}}`, container).Output()
	must(t, err)
	for _, env := range [][]string{strings.Split(string(out), "\n"), environ(t, dockerPID)} {
		joined := strings.Join(env, "\n")
		for _, want := range []string{"ARGO_SERVER=" + addr, "ARGO_SECURE=false", perRunAuth} {
			if !strings.Contains(joined, want) {
				t.Errorf("no %s in\n%s", want, joined)
			}
		}
		if jwtShape.MatchString(joined) {
			t.Errorf("a token in the environment:\n%s", joined)
		}
	}
	noJWTInCommandLines(t)
	res, err := http.Get("http://" + addr + "/api/v1/info")
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the relay answered %d to a request without the per-run value; want 401", res.StatusCode)
	}
	return addr
}

// relayGone fails unless nothing listens at addr any more.
func relayGone(t *testing.T, addr string) {
	t.Helper()
	if c, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
		c.Close()
		t.Errorf("the relay %s still listens after the command ended", addr)
	}
}

// argo-cred docker behind its relay, on the host's network (the relay on
// 127.0.0.1):
// submit --wait outlives the token and exits as the workflow ends; the
// container and the docker CLI never hold a real token, and the relay is
// gone with the command.
func TestIntegrationDockerRelay(t *testing.T) {
	t.Parallel()
	img := argocliImage(t)
	s := testenv.Get(t)
	ns := keylessNamespace(t, s)
	work, files := standInWorkflows(t, relayWait)
	for _, network := range []string{"host"} {
		for phase, code := range map[string]int{"Succeeded": 0, "Failed": 1} {
			t.Run(network+"/"+phase, func(t *testing.T) {
				t.Parallel()
				cmd := exec.Command(binary, "docker", "-v", "--image", img, "--network", network, "--source", "github-oidc", "--audience", s.OIDCAudience,
					"--min-lifetime", "5s", "--namespace", ns, "--", "submit", "--wait", "-n", ns, filepath.Base(files[phase]))
				cmd.Dir = work
				cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, keylessJob(s, map[string]any{"ttl": relayTokenTTL})...)
				var stdout, stderr syncBuffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				t.Cleanup(func() {
					if t.Failed() {
						t.Logf("stderr:\n%s", stderr.String())
					}
				})
				start := time.Now()
				must(t, cmd.Start())
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				var container string
				testenv.Eventually(t, 30*time.Second, "the container running argo submit", func() bool {
					_, rest, ok := strings.Cut(stderr.String(), "--name ")
					if ok {
						container = strings.Fields(rest)[0]
					}
					out, _ := exec.Command("docker", "top", container, "-o", "pid,args").Output()
					return ok && strings.Contains(string(out), "submit")
				})
				addr := relayFor(t, container, stderr.String(), childOf(cmd.Process.Pid, "docker"))
				if !strings.HasPrefix(addr, "127.0.0.1:") {
					t.Errorf("the relay listens on %s; want 127.0.0.1", addr)
				}
				select {
				case <-done:
				case <-time.After(80 * time.Second):
					_ = cmd.Process.Kill()
					t.Fatalf("not done within 80s; stderr:\n%s", stderr.String())
				}
				took := time.Since(start)
				t.Logf("exit %d after %s, %d renewals", cmd.ProcessState.ExitCode(), took.Round(time.Second), len(renewals.FindAllString(stderr.String(), -1)))
				if cmd.ProcessState.ExitCode() != code || !strings.Contains(stdout.String(), " "+phase+" at ") {
					t.Errorf("exit %d; want %d and %s\nstdout %s\nstderr %s", cmd.ProcessState.ExitCode(), code, phase, stdout.String(), stderr.String())
				}
				// Renewed at two thirds of each token's 20 s, at least twice in 45 s.
				if n := len(renewals.FindAllString(stderr.String(), -1)); n < 2 {
					t.Errorf("%d renewals of a %ds token in %s; want at least 2\n%s", n, relayTokenTTL, took, stderr.String())
				}
				relayGone(t, addr)
				if exec.Command("docker", "inspect", container).Run() == nil {
					t.Errorf("container %s still there", container)
				}
			})
		}
	}
}

// Where the container could not reach the relay, or the relay would not be
// safe, --relay always refuses before docker run, in one line with a hint;
// auto, the default, runs without it and says so.
func TestIntegrationDockerRelayRefused(t *testing.T) {
	t.Parallel()
	img := argocliImage(t)
	f := setup(t, testenv.WorkflowsListUpdate)
	base := append(f.plain(), "ARGO_CRED_SECRET=ci", "ARGO_NAMESPACE="+f.ns, "ARGO_CRED_IMAGE="+img)
	for name, tc := range map[string]struct {
		env  []string
		args []string
		want string
	}{
		"--network none":     {args: []string{"--network", "none"}, want: "--network none gives it no network"},
		"docker's bridge":    {args: []string{"--network", "bridge"}, want: "on network bridge the relay's per-run value would cross a shared bridge in clear text"},
		"the default bridge": {want: "on network bridge the relay's per-run value would cross a shared bridge in clear text"},
		"--docker-arg --net": {args: []string{"--docker-arg=--net=host"}, want: "--docker-arg --net=host"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := run(t, append(append([]string{}, base...), tc.env...), append(append([]string{"docker", "--relay", "always"}, tc.args...), "--", "list")...)
			wantCode(t, r, 2, tc.want)
		})
	}
	// --relay never: as before, argo gets the token itself.
	r := run(t, base, "docker", "--relay", "never", "--network", "none", "--", "--help")
	if r.code != 0 || strings.Contains(r.stderr, "relay") {
		t.Errorf("--relay never: exit %d\n%s", r.code, r.stderr)
	}
	// --relay auto (the default) where there can be no relay: argo gets
	// the token itself, and a note says it is not renewed.
	for _, network := range []string{"bridge", "none"} {
		r = run(t, base, "docker", "--network", network, "--", "--help")
		if r.code != 0 || !strings.Contains(r.stderr, "note: argo gets the token itself, not renewed: ") {
			t.Errorf("--relay auto on network %s: exit %d\n%s", network, r.code, r.stderr)
		}
	}
}

// argo-cred's image used directly, with a keyless source given by
// environment: its entrypoint (argo-cred exec, PID 1) stays argo's parent
// with the relay inside the container and renews the token while argo
// submit --wait waits; argo gets only the relay's per-run value.
func TestIntegrationImageRelay(t *testing.T) {
	t.Parallel()
	img := image(t)
	s := testenv.Get(t)
	ns := keylessNamespace(t, s)
	_, files := standInWorkflows(t, relayWait)
	for phase, code := range map[string]int{"Succeeded": 0, "Failed": 1} {
		t.Run(phase, func(t *testing.T) {
			t.Parallel()
			env := append(keylessJob(s, map[string]any{"ttl": relayTokenTTL}), "ARGO_CRED_SOURCE=github-oidc", "ARGO_CRED_MIN_LIFETIME=5s", "ARGO_NAMESPACE="+ns, "ARGO_CRED_VERBOSE=true")
			ctr := "argo-cred-image-relay-" + strconv.FormatInt(time.Now().UnixNano(), 36)
			args := append(append([]string{"run", "--rm", "--name", ctr, "--network", "host", "-v", files[phase] + ":/work/wf.yaml:ro"}, byName(env)...),
				img, "submit", "--wait", "-n", ns, "/work/wf.yaml")
			cmd := exec.Command("docker", args...)
			cmd.Env = append(os.Environ(), env...)
			var stdout, stderr syncBuffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("stderr:\n%s", stderr.String())
				}
			})
			start := time.Now()
			must(t, cmd.Start())
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			// PID 1 is argo-cred, argo submit its child.
			var init, argo int
			testenv.Eventually(t, 30*time.Second, "argo submit running under argo-cred", func() bool {
				out, _ := exec.Command("docker", "top", ctr, "-o", "pid,ppid,args").Output()
				for _, l := range strings.Split(string(out), "\n") {
					f := strings.Fields(l)
					switch {
					case len(f) > 3 && f[2] == "/bin/argo-cred":
						init, _ = strconv.Atoi(f[0])
					case len(f) > 3 && f[2] == "/bin/argo" && f[3] == "submit" && f[1] == strconv.Itoa(init):
						argo, _ = strconv.Atoi(f[0])
					}
				}
				return init != 0 && argo != 0
			})
			argoEnv := strings.Join(environ(t, argo), "\n")
			if !strings.Contains(argoEnv, perRunAuth) || !strings.Contains(argoEnv, "ARGO_SERVER=127.0.0.1:") || jwtShape.MatchString(argoEnv) {
				t.Errorf("argo's environment: want the relay's address and per-run value only:\n%s", argoEnv)
			}
			noJWTInCommandLines(t)
			select {
			case <-done:
			case <-time.After(80 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("not done within 80s; stderr:\n%s", stderr.String())
			}
			n := len(renewals.FindAllString(stderr.String(), -1))
			t.Logf("exit %d after %s, %d renewals", cmd.ProcessState.ExitCode(), time.Since(start).Round(time.Second), n)
			if cmd.ProcessState.ExitCode() != code || !strings.Contains(stdout.String(), " "+phase+" at ") || n < 2 {
				t.Errorf("exit %d, %d renewals; want %d, %s and at least 2 renewals\nstdout %s\nstderr %s", cmd.ProcessState.ExitCode(), n, code, phase, stdout.String(), stderr.String())
			}
		})
	}
}
