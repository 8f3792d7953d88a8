package actions

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// release is the local release both setup tests serve, made once.
var release struct {
	once               sync.Once
	dir, version, pins string
	err                error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if release.dir != "" {
		_ = os.RemoveAll(release.dir)
	}
	os.Exit(code)
}

// localRelease makes, once, the linux/amd64 release of VERSION with make
// dist's script (test/dist/dist.sh) under DIR/VERSION/, as GitHub serves a
// release's assets, and returns DIR, the version and the archive line of
// its checksums.txt, the line make setup-checksums pins.
func localRelease(t *testing.T) (dir, version, pins string) {
	t.Helper()
	release.once.Do(func() { release.dir, release.version, release.pins, release.err = buildRelease() })
	if release.err != nil {
		t.Fatal(release.err)
	}
	return release.dir, release.version, release.pins
}

func buildRelease() (dir, version, pins string, err error) {
	root := testenv.Root()
	v, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		return "", "", "", err
	}
	version = strings.TrimSpace(string(v))
	if dir, err = os.MkdirTemp("", "argo-cred-release-"); err != nil {
		return "", "", "", err
	}
	start := time.Now()
	cmd := exec.Command(filepath.Join(root, "test", "dist", "dist.sh"))
	cmd.Env = append(os.Environ(), "DIST_DIR="+filepath.Join(dir, version), "PLATFORMS=linux/amd64", "VERSION=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return dir, "", "", fmt.Errorf("dist.sh: %v\n%s", err, out)
	}
	fmt.Fprintf(os.Stderr, "make dist for linux/amd64: %s\n", time.Since(start).Round(time.Second))
	sums, err := os.ReadFile(filepath.Join(dir, version, "checksums.txt"))
	if err != nil {
		return dir, "", "", err
	}
	archive := regexp.MustCompile(`(?m)^[0-9a-f]{64}  argo-cred_` + regexp.QuoteMeta(version) + `_[a-z]+_[a-z0-9]+\.(tar\.gz|zip)$`)
	lines := archive.FindAllString(string(sums), -1)
	if len(lines) != 1 {
		return dir, "", "", fmt.Errorf("checksums.txt: %d archive lines; want 1\n%s", len(lines), sums)
	}
	return dir, version, lines[0] + "\n", nil
}

// setupCopy is setup/ with checksums.txt pinning pins, as make
// release-prep leaves it in a release's tag.
func setupCopy(t *testing.T, pins string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "setup")
	for _, f := range []string{"action.yml", "install.sh", "checksums.txt"} {
		b, err := os.ReadFile(filepath.Join(testenv.Root(), "setup", f))
		must(t, err)
		if f == "checksums.txt" {
			b = append(b, pins...)
		}
		must(t, os.MkdirAll(dir, 0o755))
		must(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	return dir
}

// The setup action, run as the runner runs a composite action for a
// linux/amd64 job, against a release make dist built and an HTTP server on
// 127.0.0.1 serves in GitHub's layout, with the checksums pinned as make
// release-prep pins them: it verifies the archive, puts argo-cred on PATH
// through GITHUB_PATH, and the job's next step runs `argo-cred exec --
// argo list` against the stack with it. A tampered archive (one byte), an
// unsupported architecture and a version the action does not pin are
// refused with one annotation and one plain line, nothing on PATH, no
// directory left in RUNNER_TEMP.
func TestIntegrationSetupAction(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	releases, version, pins := localRelease(t)
	action := setupCopy(t, pins)
	name := "argo-cred_" + version + "_linux_amd64.tar.gz"
	good, err := os.ReadFile(filepath.Join(releases, version, name))
	must(t, err)
	var tamper atomic.Bool
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/"+version+"/"+name {
			http.NotFound(w, r)
			return
		}
		b := bytes.Clone(good)
		if tamper.Load() {
			b[len(b)/2] ^= 0x01
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("server at %s", srv.URL)
	}
	// The runner's tools, and argo; argo-cred is on no directory of it.
	basePath := filepath.Dir(s.ArgoBin) + ":/usr/local/bin:/usr/bin:/bin"
	if p, err := exec.LookPath("argo-cred"); err == nil {
		t.Fatalf("argo-cred is on PATH already (%s): the test could not tell the action's from it", p)
	}

	t.Run("install then exec", func(t *testing.T) {
		temp := t.TempDir()
		start := time.Now()
		res := runComposite(t, action, temp, basePath, "Linux", "X64", map[string]string{"base-url": srv.URL})
		t.Logf("setup: %s", time.Since(start).Round(10*time.Millisecond))
		if res.code != 0 || len(res.paths) != 1 || res.outputs["version"] != version || res.outputs["path"] != res.paths[0] ||
			!strings.HasPrefix(res.paths[0], filepath.Join(temp, "argo-cred-setup.")) {
			t.Fatalf("exit %d, PATH added %q, outputs %v\n%s", res.code, res.paths, res.outputs, res.log)
		}
		if want := "argo-cred " + version + ": " + name + " verified (SHA-256 " + pins[:64] + ")"; !strings.Contains(res.log, want) {
			t.Errorf("log lacks %q:\n%s", want, res.log)
		}
		// The next step: argo-cred from GITHUB_PATH, a TokenRequest token
		// for a ServiceAccount holding the read profile, argo list.
		ns := s.Namespace(t)
		rules := testenv.ProfileRules(t, "read")
		s.Identity(t, ns, "gha", rules)
		kubeconfig := filepath.Join(temp, "kubeconfig")
		must(t, os.WriteFile(kubeconfig, []byte(kubeconfigJSON(t, s, ns, "minter",
			rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}})), 0o600))
		step := `command -v argo-cred
argo-cred exec --service-account gha --duration 10m --for read -- argo list`
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step)
		cmd.Env = []string{"PATH=" + strings.Join(append(slicesReversed(res.paths), basePath), ":"), "HOME=" + t.TempDir(),
			"KUBECONFIG=" + kubeconfig, "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false", "ARGO_NAMESPACE=" + ns}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), filepath.Join(res.paths[0], "argo-cred")+"\n") {
			t.Fatalf("the next step: %v\n%s", err, out)
		}
		t.Logf("argo-cred exec -- argo list:\n%s", out)
	})

	refused := func(t *testing.T, os, arch string, with map[string]string, want string, fetched bool) {
		t.Helper()
		temp := t.TempDir()
		before := requests.Load()
		res := runComposite(t, action, temp, basePath, os, arch, with)
		var errs []string
		for _, l := range strings.Split(res.log, "\n") {
			if strings.HasPrefix(l, "::error") {
				errs = append(errs, l)
			}
		}
		plain := strings.Split(strings.TrimSuffix(res.stderr, "\n"), "\n")
		if res.code != 1 || len(errs) != 1 || !strings.Contains(errs[0], want) || len(plain) != 1 || plain[0] != "argo-cred setup: "+strings.SplitN(errs[0], "::", 3)[2] {
			t.Errorf("exit %d, annotations %q, stderr %q; want exit 1, one annotation and the same plain line saying %q", res.code, errs, res.stderr, want)
		}
		if len(errs) == 1 {
			t.Logf("refused: %s", errs[0])
		}
		left, _ := filepath.Glob(filepath.Join(temp, "argo-cred-setup.*"))
		if len(res.paths) != 0 || len(res.outputs) != 0 || len(left) != 0 {
			t.Errorf("PATH added %q, outputs %v, left %q; want none", res.paths, res.outputs, left)
		}
		if n := requests.Load() - before; (n > 0) != fetched {
			t.Errorf("%d requests to the release server; want some: %t", n, fetched)
		}
	}
	t.Run("tampered", func(t *testing.T) {
		tamper.Store(true)
		defer tamper.Store(false)
		refused(t, "Linux", "X64", map[string]string{"base-url": srv.URL}, name+" from "+srv.URL+"/"+version+"/"+name+" has SHA-256 ", true)
	})
	t.Run("unsupported arch", func(t *testing.T) {
		refused(t, "Linux", "X86", map[string]string{"base-url": srv.URL}, "no argo-cred release for runner architecture 'X86' on Linux", false)
	})
	t.Run("unpinned version", func(t *testing.T) {
		refused(t, "Linux", "X64", map[string]string{"base-url": srv.URL, "version": "v99.0.0"},
			fmt.Sprintf("this action pins %s, not v99.0.0", version), false)
	})
	t.Run("plain http elsewhere", func(t *testing.T) {
		refused(t, "Linux", "X64", map[string]string{"base-url": "http://mirror.example.com/releases"}, "want https://", false)
	})
}
