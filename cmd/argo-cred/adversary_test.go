package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// TestAdversaryOIDCEnvTokenReachesTheCommand: behind the relay, "the
// command's environment holds the per-run value, never the real token"
// (long-jobs.md). With --oidc-env NAME the real token is NAME's value, and
// exec's curated environment drops only ARGO_* and KUBECONFIG: the command
// (argo, and whatever it or a shell script runs) gets the real token.
func TestAdversaryOIDCEnvTokenReachesTheCommand(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	bindUser(t, s, ns, stackUser(s), "get", "list", "watch")
	r := run(t, keylessJob(s, nil), "env", "--source", "github-oidc", "--namespace", ns, "--format", "json")
	tok := between(r.stdout, `"ARGO_TOKEN": "Bearer `, `"`)
	if r.code != 0 || tok == "" {
		t.Fatalf("no token: exit %d\n%s", r.code, r.stderr)
	}
	job := []string{"CI_ARGO_ID_TOKEN=" + tok, "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false", "ARGO_CRED_AUDIENCE=" + s.OIDCAudience}
	r = run(t, job, "exec", "--oidc-env", "CI_ARGO_ID_TOKEN", "--namespace", ns, "--relay", "always", "--", "sh", "-c", "env")
	if r.code != 0 || !strings.Contains(r.stdout, "ARGO_TOKEN=Bearer argo-cred-relay.") {
		t.Fatalf("exit %d, not behind the relay:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	noLeak(t, tok, "the environment of the command behind the relay", r.stdout)
}

// TestAdversaryBridgeNeighbourRidesTheRelay: on a bridge network the
// relay listens on the gateway, and argo sends it the per-run value in
// clear text over the bridge (where, without the relay, argo would have
// spoken TLS to a remote Argo Server). Another container on that network,
// running as root with docker's default capabilities (CAP_NET_RAW) and
// nothing else, poisons its neighbours' ARP caches for the gateway's
// address, passes their traffic on (nothing breaks), reads the per-run
// value on the way (an HTTP/1 header, or HPACK-decoded from gRPC's first
// HEADERS) and sends the relay a request of its own: the relay forwards it
// to the Argo Server with the real token. docs/docker.md: "Other
// containers on that network ... without the per-run value they get 401".
// On a bridge network of its own (a user-defined one, as a CI job's), so
// that the neighbour poisons no other test's containers.
func TestAdversaryBridgeNeighbourRidesTheRelay(t *testing.T) {
	t.Parallel()
	img := argocliImage(t)
	network := "adv-bridge-" + strconv.Itoa(os.Getpid())
	if out, err := exec.Command("docker", "network", "create", "--driver", "bridge", network).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "network", "rm", network).Run() })
	gw, err := exec.Command("docker", "network", "inspect", "--format", "{{(index .IPAM.Config 0).Gateway}}", network).Output()
	must(t, err)
	gateway := strings.TrimSpace(string(gw))
	f := setup(t, []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"list", "get", "watch"}}})
	pendingWorkflow(t, f, "secret-plans")
	bin := filepath.Join(t.TempDir(), "arpspoof")
	build := exec.Command("go", "build", "-o", bin, "./internal/docker/testdata/arpspoof")
	build.Dir, build.Env = testenv.Root(), append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	must(t, os.Chmod(filepath.Dir(bin), 0o755))
	for _, proto := range []string{"http1", "grpc"} {
		t.Run(proto, func(t *testing.T) {
			name := "adv-neighbour-" + proto + "-" + strconv.Itoa(os.Getpid())
			out, err := exec.Command("docker", "run", "-d", "--rm", "--name", name, "--network", network, "--user", "0", "-v", bin+":/arpspoof:ro",
				"--entrypoint", "/arpspoof", img, gateway, f.ns).CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
			logs := func() string { b, _ := exec.Command("docker", "logs", name).CombinedOutput(); return string(b) }
			testenv.Eventually(t, 20*time.Second, "the neighbour up", func() bool { return strings.Contains(logs(), "gateway") })

			// The job: argo wait on a workflow that stays pending (a long
			// job, the relay's reason to be). argo sends the value when it
			// connects (and over HTTP/1 again with each re-opened watch), and
			// the neighbour reads it when it poisoned the job's container
			// before argo connected: a race it wins about one time in three
			// here, so a new job is started until it does.
			attempts, window := 15, 8*time.Second
			var stderr syncBuffer
			for i := 0; i < attempts && !strings.Contains(logs(), "STOLEN"); i++ {
				cmd := exec.Command(binary, "docker", "--image", img, "--network", network, "--secret", "ci", "--namespace", f.ns,
					"--server", f.s.ArgoServer, "--secure=false", "--", "wait", "-n", f.ns, "secret-plans")
				cmd.Dir = t.TempDir()
				must(t, os.Chmod(cmd.Dir, 0o755))
				cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "ARGO_HTTP1=" + strconv.FormatBool(proto == "http1")}, f.kube...)
				cmd.Stderr = &stderr
				must(t, cmd.Start())
				deadline := time.Now().Add(window)
				for time.Now().Before(deadline) && !strings.Contains(logs(), "STOLEN") {
					time.Sleep(200 * time.Millisecond)
				}
				if strings.Contains(logs(), "STOLEN") {
					testenv.Eventually(t, 10*time.Second, "the neighbour's own request", func() bool { return strings.Contains(logs(), "RODE") })
				}
				_ = cmd.Process.Signal(syscall.SIGTERM)
				_ = cmd.Wait()
			}
			l := logs()
			t.Logf("the neighbour:\n%s\nargo-cred:\n%s", l, stderr.String())
			if strings.Contains(l, "STOLEN") {
				t.Errorf("a neighbour container read the relay's per-run value off the bridge")
			}
			if strings.Contains(l, "RODE 200") && strings.Contains(l, "secret-plans") {
				t.Errorf("a neighbour container listed the job's workflows through the relay, with the job's credential")
			}
		})
	}
}
