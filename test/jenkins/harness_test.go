// Package jenkins runs the shared library's argoCred step (vars/) under
// harness.groovy, a small Jenkins Pipeline harness on Debian's Groovy 2.4,
// with the real argo-cred and, against the local stack, the real argo CLI.
package jenkins

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/argo-cred/argo-cred/internal/redact"
	"github.com/argo-cred/argo-cred/internal/testenv"
)

// binary is argo-cred, built once for the tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "argo-cred-jenkins")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "argo-cred")
	build := exec.Command("go", "build", "-o", binary, "./cmd/argo-cred")
	build.Dir = testenv.Root()
	if out, err := build.CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// pipeline is one build for the harness.
type pipeline struct {
	jenkinsfile string            // its text
	env         []string          // the agent's environment, besides PATH, HOME and JAVA_HOME
	bin         map[string]string // programs put first in PATH: name → the program it runs
	credentials []string          // ID=file:PATH or ID=string:VALUE
	files       map[string]string // written into the workspace first
	// abortWhen, polled every 50 ms while the build runs, aborts it once it
	// holds (it gets the workspace).
	abortWhen func(ws string) bool
	shell     string // the sh steps' shell, default sh
}

// build is what the harness made of a pipeline.
type build struct {
	ws      string        // the workspace; ws+"@tmp" is WORKSPACE_TMP
	console string        // as Jenkins shows it, masked
	raw     string        // the same lines before masking
	result  string        // SUCCESS, FAILURE or ABORTED
	aborted time.Duration // from the abort to the build's end
}

// groovy needs Debian's groovy and a JRE, failing under CI=true when either
// is missing, and returns the groovy command's environment entry for Java.
func groovy(t *testing.T) (string, string) {
	t.Helper()
	g := testenv.Command(t, "groovy", "groovy")
	java, err := filepath.EvalSymlinks(testenv.Command(t, "java", "default-jre-headless"))
	if err != nil {
		testenv.Need(t, "java", err)
	}
	return g, "JAVA_HOME=" + filepath.Dir(filepath.Dir(java))
}

// run runs p under the harness with the repository root as the library.
func run(t *testing.T, p pipeline) build {
	t.Helper()
	g, javaHome := groovy(t)
	dir := t.TempDir()
	b := build{ws: filepath.Join(dir, "ws")}
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{b.ws, bin} {
		must(t, os.MkdirAll(d, 0o755))
	}
	must(t, os.Symlink(binary, filepath.Join(bin, "argo-cred")))
	for name, target := range p.bin {
		must(t, os.Symlink(target, filepath.Join(bin, name)))
	}
	for name, text := range p.files {
		must(t, os.WriteFile(filepath.Join(b.ws, name), []byte(text), 0o644))
	}
	jf, rawLog, abort := filepath.Join(dir, "Jenkinsfile"), filepath.Join(dir, "raw.log"), filepath.Join(dir, "abort")
	must(t, os.WriteFile(jf, []byte(p.jenkinsfile), 0o644))
	args := []string{filepath.Join(testenv.Root(), "test", "jenkins", "harness.groovy"), "--library", testenv.Root(),
		"--workspace", b.ws, "--jenkinsfile", jf, "--raw-log", rawLog, "--abort-file", abort}
	for _, c := range p.credentials {
		args = append(args, "--credential", c)
	}
	if p.shell != "" {
		args = append(args, "--sh", p.shell)
	}
	cmd := exec.Command(g, args...)
	cmd.Env = append([]string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(), javaHome}, p.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	must(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var abortedAt time.Time
	limit := time.After(3 * time.Minute)
wait:
	for {
		select {
		case err := <-done:
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatal(err)
			}
			break wait
		case <-limit:
			_ = cmd.Process.Kill()
			t.Fatalf("the build did not end within 3 minutes:\n%s", out.String())
		case <-time.After(50 * time.Millisecond):
			if p.abortWhen != nil && abortedAt.IsZero() && p.abortWhen(b.ws) {
				abortedAt = time.Now()
				must(t, os.WriteFile(abort, nil, 0o644))
			}
		}
	}
	if !abortedAt.IsZero() {
		b.aborted = time.Since(abortedAt)
	}
	b.console = out.String()
	raw, err := os.ReadFile(rawLog)
	must(t, err)
	b.raw = string(raw)
	m := regexp.MustCompile(`(?m)^Finished: (\w+)$`).FindStringSubmatch(b.console)
	if m == nil {
		t.Fatalf("the harness printed no result:\n%s", b.console)
	}
	b.result = m[1]
	return b
}

// leftovers are the directories argoCred made under WORKSPACE_TMP that are
// still there.
func (b build) leftovers(t *testing.T) []string {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(b.ws+"@tmp", "argo-cred-*"))
	must(t, err)
	return left
}

// noTokenForm fails if the console, masked or not, holds any form of a
// token (redact.Forms: raw, "Bearer "+token, base64 and URL encodings), its
// last 20 characters, or anything shaped like a JWT.
func noTokenForm(t *testing.T, b build, tokens ...string) {
	t.Helper()
	for name, log := range map[string]string{"console": b.console, "raw log": b.raw} {
		for _, tok := range tokens {
			for _, form := range append(redact.Forms(tok), tok[len(tok)-20:]) {
				if strings.Contains(log, form) {
					t.Errorf("a form of the token is in the %s:\n%s", name, log)
					break
				}
			}
		}
		if jwtShape.MatchString(log) {
			t.Errorf("something shaped like a JWT is in the %s:\n%s", name, log)
		}
	}
}

var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.`)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
