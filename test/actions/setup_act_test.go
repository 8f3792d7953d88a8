package actions

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// A second, independent runner for the setup action: nektos/act in host
// mode (-P ubuntu-latest=-self-hosted: the steps run on this machine, as
// on a runner without Docker) runs a job of two steps, `uses: ./setup`
// against the local release on 127.0.0.1, then `argo-cred exec -- argo
// list` against the stack with the argo-cred that GITHUB_PATH put first on
// PATH. With one bit of the archive changed, the job fails at the setup
// step with its one annotation, nothing is added to PATH and the next step
// never runs. act in container mode would need a job image with bash, curl
// and tar; host mode is the Docker-less runner the action is for.
func TestIntegrationActSetupAction(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	act := actBinary(t)
	releases, version, pins := localRelease(t)
	name := "argo-cred_" + version + "_linux_amd64.tar.gz"
	good, err := os.ReadFile(filepath.Join(releases, version, name))
	must(t, err)

	ns := s.Namespace(t)
	rules := testenv.ProfileRules(t, "read")
	s.Identity(t, ns, "gha", rules)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	must(t, os.WriteFile(kubeconfig, []byte(kubeconfigJSON(t, s, ns, "minter",
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}})), 0o600))

	run := func(t *testing.T, archive []byte) (string, error) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/"+version+"/"+name {
				http.NotFound(w, r)
				return
			}
			_, _ = w.Write(archive)
		}))
		defer srv.Close()
		dir := t.TempDir()
		action := setupCopy(t, pins)
		must(t, os.Rename(action, filepath.Join(dir, "setup")))
		wf := `name: setup
on: workflow_dispatch
jobs:
  setup:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4 # act copies the working directory
      - id: setup
        uses: ./setup
        with:
          base-url: ` + srv.URL + `
      - name: argo list
        env:
          KUBECONFIG: ` + kubeconfig + `
          ARGO_SERVER: ` + s.ArgoServer + `
          ARGO_SECURE: "false"
          ARGO_NAMESPACE: ` + ns + `
          SETUP_PATH: ${{ steps.setup.outputs.path }}
          SETUP_VERSION: ${{ steps.setup.outputs.version }}
        run: |
          test "$(command -v argo-cred)" = "$SETUP_PATH/argo-cred"
          test "$SETUP_VERSION" = ` + version + `
          argo-cred exec --service-account gha --duration 10m --for read -- argo list
`
		must(t, os.WriteFile(filepath.Join(dir, "setup.yml"), []byte(wf), 0o644))
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, act, "workflow_dispatch", "-W", filepath.Join(dir, "setup.yml"),
			"-P", "ubuntu-latest=-self-hosted", "--action-offline-mode",
			"--action-cache-path", t.TempDir()) // host mode's job directory, which act leaves when a job fails
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(s.ArgoBin)+":/usr/local/bin:/usr/bin:/bin")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		t.Logf("act: %s", time.Since(start).Round(100*time.Millisecond))
		return out.String(), err
	}

	t.Run("installs, then exec", func(t *testing.T) {
		log, err := run(t, good)
		if err != nil {
			t.Fatalf("act: %v\n%s", err, log)
		}
		for _, want := range []string{name + " verified (SHA-256 " + pins[:64] + ")", "verified: " + s.ArgoServer, "No workflows found", "Job succeeded"} {
			if !strings.Contains(log, want) {
				t.Errorf("act's log lacks %q:\n%s", want, log)
			}
		}
	})
	t.Run("tampered", func(t *testing.T) {
		bad := bytes.Clone(good)
		bad[len(bad)/3] ^= 0x80
		log, err := run(t, bad)
		if err == nil || strings.Count(log, "::error title=argo-cred setup::") != 1 || !strings.Contains(log, "refused, nothing installed") ||
			strings.Contains(log, "::add-path::") || strings.Contains(log, "verified: ") || !strings.Contains(log, "Job failed") {
			t.Errorf("act with a tampered archive: %v; want the job to fail at setup, argo list never run\n%s", err, log)
		}
	})
}
