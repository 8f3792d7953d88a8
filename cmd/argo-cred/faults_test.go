package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// start runs argo-cred in the background; wait returns its result.
func start(t *testing.T, env []string, args ...string) (*exec.Cmd, func() result) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	must(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	return cmd, func() result {
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("argo-cred did not end within 60s")
		}
		return result{stdout: out.String(), stderr: errOut.String(), code: cmd.ProcessState.ExitCode()}
	}
}

// Faults in the token wait, injected for real (not parallel: they hold the
// stack's one token controller, and pause its API server): kube-apiserver
// stopped and resumed during the wait, and the Secret deleted during it.
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
		_, wait := start(t, env, "env", "--secret", "paused-api", "--namespace", ns, "--wait", "45s")
		time.Sleep(500 * time.Millisecond) // argo-cred is on its watch
		resumeAPI := pause("kube-apiserver")
		time.Sleep(3 * time.Second)
		resumeAPI()
		resumeKCM()
		r := wait()
		t.Logf("fault: kube-apiserver stopped 3s during the wait: exit %d", r.code)
		if r.code != 0 || !strings.Contains(r.stdout, "export ARGO_TOKEN='Bearer ey") {
			t.Errorf("exit %d, stderr %q; want the token once the API server is back", r.code, r.stderr)
		}
	})
	t.Run("Secret deleted during the wait", func(t *testing.T) {
		resume := pause("kube-controller-manager")
		defer resume()
		s.TokenSecret(t, ns, "deleted-while-waiting", "ci")
		_, wait := start(t, env, "env", "--secret", "deleted-while-waiting", "--namespace", ns, "--wait", "30s")
		time.Sleep(500 * time.Millisecond)
		must(t, s.Client.CoreV1().Secrets(ns).Delete(context.Background(), "deleted-while-waiting", metav1.DeleteOptions{}))
		r := wait()
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
		wantCode(t, probe(srv.Addr), 0, "verdict: ok")
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

// SIGTERM half-way through rotate never leaves the client without a
// working token: whichever step it hits, one of the client's Secrets still
// passes the probe.
func TestIntegrationFaultRotateInterrupted(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	for i, delay := range []time.Duration{50 * time.Millisecond, 300 * time.Millisecond, 2 * time.Second} {
		client := "c" + strconv.Itoa(i)
		wantCode(t, run(t, env, "provision", "--client", client, "--namespace", ns), 0, "verified")
		cmd, wait := start(t, env, "rotate", "--client", client, "--namespace", ns)
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		r := wait()
		secrets, err := s.Client.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "argo-cred/client=" + client})
		if err != nil {
			t.Fatal(err)
		}
		working := 0
		for _, sec := range secrets.Items {
			if tok := string(sec.Data["token"]); tok != "" && run(t, append(env, "ARGO_TOKEN="+tok, "ARGO_NAMESPACE="+ns), "probe").code == 0 {
				working++
			}
		}
		t.Logf("fault: SIGTERM %s into rotate: exit %d, %d of %d secrets still work", delay, r.code, working, len(secrets.Items))
		if working == 0 {
			t.Errorf("after SIGTERM %s into rotate (exit %d), the client has no working token:\n%s", delay, r.code, r.stderr)
		}
	}
}

// The Docker engine goes away during argo-cred docker: the docker CLI's
// failure is the exit code, and nothing hangs.
func TestIntegrationFaultDockerEngineGone(t *testing.T) {
	t.Parallel()
	img := argocliImage(t)
	f := setup(t, testenv.WorkflowsListUpdate)
	pendingWorkflow(t, f, "forever")
	sock, cut := testenv.SocketProxy(t, "/var/run/docker.sock")
	name := "argo-cred-fault-" + f.ns
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	env := append(f.kube, "DOCKER_HOST=unix://"+sock)
	_, wait := start(t, env, "docker", "--image", img, "--network", "host", "--docker-arg=--name="+name, "--secret", "ci",
		"--namespace", f.ns, "--server", f.s.ArgoServer, "--secure=false", "--", "wait", "-n", f.ns, "forever")
	time.Sleep(4 * time.Second)
	cut()
	r := wait()
	t.Logf("fault: the Docker engine's socket cut during argo-cred docker: exit %d", r.code)
	if r.code == 0 {
		t.Errorf("exit 0 after the engine went away; stderr %q", r.stderr)
	}
}
