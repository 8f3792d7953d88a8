package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// process is argo-cred running in the background.
type process struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer // read once it has ended
	stderr stream       // read while it runs
	ended  chan struct{}
}

// start runs argo-cred in the background with only the environment given
// (plus PATH and HOME); it is killed at the test's end if still running.
func start(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(binary, args...), ended: make(chan struct{})}
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	must(t, p.cmd.Start())
	go func() { _ = p.cmd.Wait(); close(p.ended) }()
	// A test that stops early leaves nothing running.
	t.Cleanup(func() {
		select {
		case <-p.ended:
		default:
			_ = p.cmd.Process.Kill()
			<-p.ended
		}
	})
	return p
}

// said waits until argo-cred has written s on stderr; it fails the test if
// argo-cred ends first, or has not said it within 30 s.
func (p *process) said(t *testing.T, s string) {
	t.Helper()
	switch p.stderr.await(s, p.ended, 30*time.Second) {
	case awaitEnded:
		t.Fatalf("argo-cred ended (exit %d) without saying %q; stderr:\n%s", p.cmd.ProcessState.ExitCode(), s, p.stderr.String())
	case awaitTimeout:
		t.Fatalf("argo-cred has not said %q within 30s; stderr:\n%s", s, p.stderr.String())
	}
}

// wait returns argo-cred's result once it has ended; it kills argo-cred
// after 60 s.
func (p *process) wait(t *testing.T) result {
	t.Helper()
	select {
	case <-p.ended:
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.ended
		t.Errorf("argo-cred did not end within 60s")
	}
	return result{stdout: p.stdout.String(), stderr: p.stderr.String(), code: p.cmd.ProcessState.ExitCode()}
}

// stream is output a test reads while the process still writes it; each
// write wakes whoever awaits a string.
type stream struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{} // closed by the next write
}

func (s *stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.written != nil {
		close(s.written)
		s.written = nil
	}
	return s.b.Write(p)
}

func (s *stream) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const (
	awaitSaid = iota
	awaitEnded
	awaitTimeout
)

// await waits until the stream holds want, ended is closed, or limit passes.
func (s *stream) await(want string, ended <-chan struct{}, limit time.Duration) int {
	deadline := time.After(limit)
	for {
		s.mu.Lock()
		if strings.Contains(s.b.String(), want) {
			s.mu.Unlock()
			return awaitSaid
		}
		if s.written == nil {
			s.written = make(chan struct{})
		}
		written := s.written
		s.mu.Unlock()
		select {
		case <-written:
		case <-ended:
			// The process has ended: what it wrote is all there is.
			if strings.Contains(s.String(), want) {
				return awaitSaid
			}
			return awaitEnded
		case <-deadline:
			return awaitTimeout
		}
	}
}

// Faults in the token wait, injected for real (not parallel: they hold the
// stack's one token controller, and pause its API server): kube-apiserver
// stopped and resumed during the wait, and the Secret deleted during it.
// Each fault comes once argo-cred -v says it is waiting: it has read the
// Secret unfilled, and its watch starts from that read's resourceVersion,
// so it sees every change made after the line.
func TestIntegrationFaultsDuringWait(t *testing.T) {
	s := testenv.Get(t)
	ns, _ := s.SeedIdentity(t)
	env := []string{"KUBECONFIG=" + s.Kubeconfig, "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false"}
	pause := func(component string) func() {
		s.Signal(t, component, syscall.SIGSTOP)
		resumed := false
		resume := func() {
			if !resumed {
				s.Signal(t, component, syscall.SIGCONT)
				resumed = true
			}
		}
		t.Cleanup(resume)
		return resume
	}

	t.Run("kube-apiserver stopped and resumed during the wait", func(t *testing.T) {
		resumeKCM := pause("kube-controller-manager")
		s.TokenSecret(t, ns, "paused-api", "ci")
		p := start(t, env, "env", "-v", "--secret", "paused-api", "--namespace", ns, "--wait", "45s")
		p.said(t, "waiting up to 45s for the token controller to fill secret "+ns+"/paused-api")
		resumeAPI := pause("kube-apiserver")
		// The fault itself: the API server stays stopped for 3 s (the
		// README's figure), not a wait for something to happen.
		time.Sleep(3 * time.Second)
		resumeAPI()
		resumeKCM()
		r := p.wait(t)
		t.Logf("fault: kube-apiserver stopped 3s during the wait: exit %d", r.code)
		if r.code != 0 || !strings.Contains(r.stdout, "export ARGO_TOKEN='Bearer ey") {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 0 and the token once the API server is back", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("Secret deleted during the wait", func(t *testing.T) {
		resume := pause("kube-controller-manager")
		defer resume()
		s.TokenSecret(t, ns, "deleted-while-waiting", "ci")
		p := start(t, env, "env", "-v", "--secret", "deleted-while-waiting", "--namespace", ns, "--wait", "30s")
		p.said(t, "waiting up to 30s for the token controller to fill secret "+ns+"/deleted-while-waiting")
		must(t, s.Client.CoreV1().Secrets(ns).Delete(context.Background(), "deleted-while-waiting", metav1.DeleteOptions{}))
		r := p.wait(t)
		t.Logf("fault: Secret deleted during the wait: exit %d", r.code)
		wantCode(t, r, 3, "deleted while waiting for its token")
	})
}

// Faults between argo-cred and the Argo Server, each injected for real.
func TestIntegrationFaults(t *testing.T) {
	t.Parallel()
	f := setup(t, testenv.WorkflowsListUpdate)
	env := append(f.kube, "ARGO_NAMESPACE="+f.ns)
	probe := func(server string, extra ...string) result {
		return run(t, env, append([]string{"probe", "--secret", "ci", "--server", server, "--secure=false", "--http1"}, extra...)...)
	}

	t.Run("Argo Server restarted", func(t *testing.T) {
		port := testenv.FreePort(t)
		srv := f.s.StartArgoServerOn(t, port)
		// The Argo Server answers before its API gateway has reached its
		// own gRPC services (each retries a refused first dial after 1 s):
		// it is up when a probe passes.
		testenv.Eventually(t, 20*time.Second, "a probe passes against the new server", func() bool { return probe(srv.Addr).code == 0 })
		srv.Stop()
		wantCode(t, probe(srv.Addr), 4, "connection refused")
		srv = f.s.StartArgoServerOn(t, port)
		restarted := time.Now()
		var r result
		testenv.Eventually(t, 20*time.Second, "a probe passes against the restarted server", func() bool {
			r = probe(srv.Addr)
			return r.code == 0
		})
		t.Logf("fault: Argo Server stopped (exit 4), then restarted: the probe passes %s after it answers", time.Since(restarted).Round(10*time.Millisecond))
	})
	t.Run("latency", func(t *testing.T) {
		slow := testenv.LatencyProxy(t, "http://"+f.s.ArgoServer, 2*time.Second)
		r := probe(slow, "--timeout", "1s")
		t.Logf("fault: 2s of latency, --timeout 1s: exit %d; --timeout 10s: see below", r.code)
		wantCode(t, r, 4, "deadline exceeded")
		wantCode(t, probe(slow, "--timeout", "10s"), 0, "verdict: ok")
	})
	t.Run("connections reset", func(t *testing.T) {
		addr, conns := testenv.ResetProxy(t)
		r := run(t, env, "probe", "--secret", "ci", "--server", addr, "--secure=false")
		t.Logf("fault: every connection reset: exit %d after %d connections", r.code, conns())
		wantCode(t, r, 4, "attempts")
		if conns() < 2 {
			t.Errorf("%d connections; want retries", conns())
		}
	})
	t.Run("answers truncated", func(t *testing.T) {
		r := probe(testenv.TruncatingProxy(t, "http://"+f.s.ArgoServer))
		t.Logf("fault: every answer cut in half: exit %d", r.code)
		wantCode(t, r, 4, "")
	})
	t.Run("certificate expired", func(t *testing.T) {
		addr, ca := testenv.ExpiredTLS(t, "http://"+f.s.ArgoServer)
		r := run(t, env, "probe", "--secret", "ci", "--server", addr, "--http1", "--ca-file", ca)
		t.Logf("fault: the server's certificate expired yesterday: exit %d", r.code)
		wantCode(t, r, 4, "expired")
	})
}

// SIGTERM in the middle of rotate, at each of its steps: exit 130 at once,
// nothing on stdout, one error line, and the client keeps a working token.
// Until the new token has passed its probe the client's Secrets are the old
// ones, untouched (if the new token is not proven the old Secrets stay, and
// nothing is left half-done: no unproven new Secret). Once it has, the new
// Secret is there and works. Every Secret the client is left with works.
// Each step is reached for sure, whatever the machine's load: Kubernetes
// and the Argo Server are behind proxies, one of which keeps the step's
// answer from argo-cred; the signal goes once it is being kept.
func TestIntegrationFaultRotateInterrupted(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	bearer := func(r *http.Request, tok string) bool { return r.Header.Get("Authorization") == "Bearer "+tok }
	secrets := func(method string) func(*http.Request) bool {
		return func(r *http.Request) bool {
			return r.Method == method && strings.Contains(r.URL.Path, "/namespaces/"+ns+"/secrets")
		}
	}
	none := func(*http.Request) bool { return false }
	for i, step := range []struct {
		name string
		// The Kubernetes requests, and the Argo Server requests (given the
		// old token), whose answers argo-cred waits for when the signal
		// comes: exactly one of the two picks any.
		kube func(*http.Request) bool
		argo func(r *http.Request, old string) bool
		// The new token has passed its probe by then.
		proven bool
	}{
		{"before it writes anything", func(*http.Request) bool { return true }, nil, false},
		{"while it creates the new Secret", secrets(http.MethodPost), nil, false},
		{"while it probes the new token", none, func(r *http.Request, old string) bool { return !bearer(r, old) }, false},
		{"while it deletes the old Secret", secrets(http.MethodDelete), nil, true},
		{"while it awaits the old token's rejection", none, bearer, true},
	} {
		t.Run(step.name, func(t *testing.T) {
			t.Parallel()
			client := "c" + strconv.Itoa(i)
			wantCode(t, run(t, env, "provision", "--client", client, "--namespace", ns), 0, "verified")
			old := clientSecrets(t, s, ns, client)
			sec, err := s.Client.CoreV1().Secrets(ns).Get(context.Background(), client+"-token-current", metav1.GetOptions{})
			must(t, err)
			oldToken := string(sec.Data["token"]) // filled: provision verified it

			var holding <-chan struct{}
			kubeconfig, server := s.Kubeconfig, s.ArgoServer
			if step.argo == nil {
				kubeconfig, holding = s.KubeHoldProxy(t, step.kube)
			} else {
				server, holding = testenv.HoldProxy(t, "http://"+s.ArgoServer, func(r *http.Request) bool { return step.argo(r, oldToken) })
			}
			p := start(t, append(env, "KUBECONFIG="+kubeconfig), "rotate", "-v", "--client", client, "--namespace", ns, "--server", server, "--http1")
			select {
			case <-holding:
			case <-p.ended:
				t.Fatalf("rotate ended before it reached the step: exit %d\n%s", p.cmd.ProcessState.ExitCode(), p.stderr.String())
			case <-time.After(30 * time.Second):
				t.Fatalf("rotate has not reached the step within 30s; stderr:\n%s", p.stderr.String())
			}
			sent := time.Now()
			must(t, p.cmd.Process.Signal(syscall.SIGTERM))
			r := p.wait(t)
			took := time.Since(sent)
			wantCode(t, r, 130, "error: interrupted")
			if took > 5*time.Second {
				t.Errorf("rotate ended %s after SIGTERM; want at once", took.Round(time.Millisecond))
			}
			if proven := strings.Contains(r.stderr, "rotate: the new token is filled in and passed the probe"); proven != step.proven {
				t.Fatalf("the new token passed its probe: %t; want %t at this step; stderr:\n%s", proven, step.proven, r.stderr)
			}

			left := clientSecrets(t, s, ns, client)
			if !step.proven {
				if diff := cmp.Diff(old, left); diff != "" {
					t.Errorf("the client's Secrets (name: UID) changed though the new token was never proven (-before +after):\n%s", diff)
				}
			} else {
				fresh := 0
				for name := range left {
					if _, ok := old[name]; !ok {
						fresh++
					}
				}
				if fresh != 1 {
					t.Errorf("%d new Secrets left after the new token passed its probe; want 1: %v", fresh, left)
				}
			}
			working := 0
			for name := range left {
				sec, err := s.Client.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
				must(t, err)
				tok := string(sec.Data["token"])
				if pr := run(t, append(env, "ARGO_TOKEN="+tok, "ARGO_NAMESPACE="+ns), "probe"); tok == "" || pr.code != 0 {
					t.Errorf("Secret %s is left without a working token (probe exit %d): %s", name, pr.code, pr.stderr)
					continue
				}
				working++
			}
			t.Logf("fault: SIGTERM %s: exit %d after %s; %d Secret(s) left, %d working", step.name, r.code, took.Round(time.Millisecond), len(left), working)
			if working == 0 {
				t.Errorf("after SIGTERM %s, the client has no working token:\n%s", step.name, r.stderr)
			}
		})
	}
}

// clientSecrets lists the client's token Secrets, name to UID.
func clientSecrets(t *testing.T, s *testenv.Stack, ns, client string) map[string]string {
	t.Helper()
	l, err := s.Client.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "argo-cred/client=" + client})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, sec := range l.Items {
		out[sec.Name] = string(sec.UID)
	}
	return out
}

// The Docker engine goes away while argo-cred docker's container runs (the
// engine says it runs): the docker CLI's failure is the exit code, and
// nothing hangs.
func TestIntegrationFaultDockerEngineGone(t *testing.T) {
	t.Parallel()
	img := argocliImage(t)
	f := setup(t, testenv.WorkflowsListUpdate)
	pendingWorkflow(t, f, "forever")
	sock, cut := testenv.SocketProxy(t, "/var/run/docker.sock")
	name := "argo-cred-fault-" + f.ns
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	env := append(f.kube, "DOCKER_HOST=unix://"+sock)
	p := start(t, env, "docker", "--image", img, "--network", "host", "--docker-arg=--name="+name, "--secret", "ci",
		"--namespace", f.ns, "--server", f.s.ArgoServer, "--secure=false", "--", "wait", "-n", f.ns, "forever")
	// The docker CLI attaches before it starts the container: once the
	// engine says it runs, the CLI is waiting on the cut socket.
	testenv.Eventually(t, 90*time.Second, "the container runs", func() bool {
		select {
		case <-p.ended:
			t.Fatalf("argo-cred docker ended before its container ran: exit %d\n%s", p.cmd.ProcessState.ExitCode(), p.stderr.String())
		default:
		}
		out, _ := exec.Command("docker", "inspect", "--format", "{{.State.Running}}", name).Output()
		return strings.TrimSpace(string(out)) == "true"
	})
	cut()
	cutAt := time.Now()
	r := p.wait(t)
	took := time.Since(cutAt)
	t.Logf("fault: the Docker engine's socket cut while the container runs: exit %d after %s", r.code, took.Round(time.Millisecond))
	// docker run's own code for a failure of the engine is 125 (its
	// "error waiting for container"); argo-cred passes it on.
	if r.code != 125 || !strings.Contains(r.stderr, "error waiting for container") {
		t.Errorf("exit %d after the engine went away, stderr %q; want the docker CLI's 125 and its error", r.code, r.stderr)
	}
	if took > 10*time.Second {
		t.Errorf("argo-cred docker ended %s after the engine went away; want at once", took.Round(time.Millisecond))
	}
}
