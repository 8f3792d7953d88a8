package jenkins

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/testenv"
)

// The step's parameters are argo-cred env's flags, one each, but for
// --bind (the step does not revoke), --format and --output-file (the
// step's own) and --help; docs/jenkins.md's table says the same.
func TestStepParametersMirrorFlags(t *testing.T) {
	help, err := exec.Command(binary, "env", "--help").CombinedOutput()
	must(t, err)
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)`).FindAllStringSubmatch(string(help), -1) {
		flags["--"+m[1]] = true
	}
	for _, f := range []string{"--bind", "--format", "--output-file", "--help"} {
		if !flags[f] {
			t.Errorf("argo-cred env has no %s any more: update the step's exclusions", f)
		}
		delete(flags, f)
	}
	src, err := os.ReadFile(filepath.Join(testenv.Root(), "vars", "argoCred.groovy"))
	must(t, err)
	step, mapped := map[string]string{}, map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+'?(\w+)'?\s*: \['(--[a-z0-9-]+)', '\w+'\],$`).FindAllStringSubmatch(string(src), -1) {
		step[m[1]] = m[2]
		mapped[m[2]] = true
	}
	if len(flags) < 20 || len(step) < 20 {
		t.Fatalf("read %d flags from the help and %d parameters from the step: the patterns no longer match", len(flags), len(step))
	}
	if diff := cmp.Diff(flags, mapped); diff != "" {
		t.Errorf("argo-cred env's flags against the step's (-flags +step):\n%s", diff)
	}
	doc, err := os.ReadFile(filepath.Join(testenv.Root(), "docs", "jenkins.md"))
	must(t, err)
	documented := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(\\w+)`(?: \\(or `(\\w+)`\\))? \\| `(--[a-z0-9-]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = m[3]
		if m[2] != "" {
			documented[m[2]] = m[3]
		}
	}
	if diff := cmp.Diff(step, documented); diff != "" {
		t.Errorf("the step's parameters against docs/jenkins.md's table (-step +docs):\n%s", diff)
	}
}

// The step names argo-cred's exit codes as argo-cred's help does.
func TestStepExitClasses(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "vars", "argoCred.groovy"))
	must(t, err)
	got := map[int]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s*(\d+)\s*: '([^']+)',$`).FindAllStringSubmatch(string(src), -1) {
		code, _ := strconv.Atoi(m[1])
		got[code] = m[2]
	}
	want := map[int]string{126: "argo-cred not executable", 127: "argo-cred not found"}
	for _, c := range []exitcode.Code{exitcode.Unexpected, exitcode.Usage, exitcode.TokenUnavailable, exitcode.Unreachable,
		exitcode.TokenRejected, exitcode.MissingAccess, exitcode.ExcessAccess, exitcode.Interrupted} {
		want[int(c)] = c.String()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("exit classes (-argo-cred +vars/argoCred.groovy):\n%s", diff)
	}
}

// The step without the stack: the real argo-cred reads a token file and
// does not probe (probe: false), so what is checked is the step itself.
// The body's argo is the step's wrapper, which finds the next argo in PATH
// (here a program that records a hash of the ARGO_TOKEN it got); the body's
// own environment holds the other settings but not the token, and argo
// auth token is refused. A value that tries to break out of its shell
// quotes reaches argo-cred as one argument (refused, exit 2), a parameter
// the step does not know fails the build before argo-cred runs, and a
// failing body fails the build, and so does an abort while argo-cred waits
// for a server that never answers (ABORTED, the body never runs). The
// step's directory is 0700, its files 0600; every run removes what the step
// wrote, and no console shows a form of the token.
func TestStepUnit(t *testing.T) {
	t.Parallel()
	tokenFile := filepath.Join(t.TempDir(), "token")
	buf := make([]byte, 24)
	_, _ = rand.Read(buf)
	token := "tok." + hex.EncodeToString(buf)
	must(t, os.WriteFile(tokenFile, []byte(token), 0o600))
	fakeArgo := filepath.Join(t.TempDir(), "argo")
	must(t, os.WriteFile(fakeArgo, []byte("#!/bin/sh\nprintf %s \"$ARGO_TOKEN\" | sha256sum | cut -c1-64 >\"$WORKSPACE/seen\"\necho \"argo $* on $ARGO_SERVER\"\n"), 0o755))
	// The wrapper runs argo through argo-cred exec; without its relay
	// (ARGO_CRED_RELAY=never, as below but in "relay") argo gets the token
	// itself and the server as given.
	step := func(params, body string) string {
		return "@Library('argo-cred') _\nnode {\n  env.ARGO_CRED_RELAY = 'never'\n  argoCred(source: 'file', tokenFile: '" + tokenFile + "', server: 'argo.example.com:2746', " +
			params + "probe: false, skipIdentityCheck: true) {\n" + body + "\n  }\n}\n"
	}
	type stepCase struct {
		jenkinsfile string
		result      string
		console     []string // each must appear in the console
		check       func(t *testing.T, b build)
		abortWhen   func(ws string) bool
		shell       string // durable-task's sh: dash here, bash on many agents, busybox on Alpine
	}
	cases := map[string]stepCase{
		"binds": {
			jenkinsfile: step("namespace: 'ci', ", `    sh 'argo submit -n "$ARGO_NAMESPACE" workflow.yaml'
    sh 'env | sort'
    sh 'argo auth token || echo "auth token: exit $?"'
    sh 'cd "${ARGO_CRED_ENV%/*}" && stat -c "mode %a %n" . * bin bin/*'`),
			result: "SUCCESS",
			console: []string{"argo submit -n ci workflow.yaml on argo.example.com:2746", "ARGO_NAMESPACE=ci", "ARGO_SERVER=argo.example.com:2746",
				"ARGO_SECURE=true", "argoCred: argo auth token would print the token; not run", "auth token: exit 2"},
			check: func(t *testing.T, b build) {
				seen, err := os.ReadFile(filepath.Join(b.ws, "seen"))
				must(t, err)
				if want := sha256.Sum256([]byte("Bearer " + token)); strings.TrimSpace(string(seen)) != hex.EncodeToString(want[:]) {
					t.Errorf("argo got another ARGO_TOKEN than Bearer and the token file's")
				}
				if regexp.MustCompile(`(?m)^ARGO_TOKEN=`).MatchString(b.console) {
					t.Errorf("the body's environment holds ARGO_TOKEN:\n%s", b.console)
				}
				modes := regexp.MustCompile(`(?m)^mode (\d+) (.*)$`).FindAllStringSubmatch(b.console, -1)
				if len(modes) != 8 {
					t.Errorf("want the modes of 8 files and directories, got %d:\n%s", len(modes), b.console)
				}
				for _, m := range modes {
					if want := map[bool]string{true: "700", false: "600"}[m[2] == "." || m[2] == "bin" || m[2] == "bin/argo"]; m[1] != want {
						t.Errorf("%s: mode %s; want %s", m[2], m[1], want)
					}
				}
			},
		},
		"relay": {
			jenkinsfile: strings.Replace(step("namespace: 'ci', ", `    sh 'argo list'`), "env.ARGO_CRED_RELAY = 'never'", "", 1),
			result:      "SUCCESS",
			check: func(t *testing.T, b build) {
				if !regexp.MustCompile(`argo list on 127\.0\.0\.1:\d+`).MatchString(b.console) {
					t.Errorf("argo did not run behind exec's relay:\n%s", b.console)
				}
				seen, err := os.ReadFile(filepath.Join(b.ws, "seen"))
				must(t, err)
				if want := sha256.Sum256([]byte("Bearer " + token)); strings.TrimSpace(string(seen)) == hex.EncodeToString(want[:]) {
					t.Errorf("argo behind the relay got the token itself, not the per-run value")
				}
			},
		},
		"quotes": {
			jenkinsfile: step(`namespace: 'ci\'$(touch pwned)', `, `    sh 'touch body-ran'`),
			result:      "FAILURE",
			console:     []string{`ERROR: argoCred: argo-cred exit 2 (usage or configuration error): error: invalid --namespace "ci'$(touch pwned)"`},
			check: func(t *testing.T, b build) {
				for _, f := range []string{"pwned", "body-ran"} {
					if _, err := os.Stat(filepath.Join(b.ws, f)); err == nil {
						t.Errorf("%s exists", f)
					}
				}
			},
		},
		"unknown parameter": {
			jenkinsfile: step("namespace: 'ci', secrett: 'x', ", `    sh 'touch body-ran'`),
			result:      "FAILURE",
			console:     []string{"ERROR: argoCred: unknown parameter secrett; known: source, secret,"},
			check: func(t *testing.T, b build) {
				if strings.Contains(b.console, "argo-cred env") {
					t.Errorf("argo-cred ran:\n%s", b.console)
				}
			},
		},
		"nested": {
			jenkinsfile: step("namespace: 'ci', ", `    argoCred(source: 'file', tokenFile: '`+tokenFile+`', server: 'inner.example:2746', namespace: 'inner', probe: false, skipIdentityCheck: true) {
      sh 'argo list'
    }
    sh 'argo get x'`),
			result:  "SUCCESS",
			console: []string{"argo list on inner.example:2746", "argo get x on argo.example.com:2746"},
		},
		"abort while argo-cred waits": {
			jenkinsfile: strings.NewReplacer("'argo.example.com:2746'", "'http://"+testenv.Hang(t).Addr+"'", "probe: false", "timeout: '60s'").
				Replace(step("namespace: 'ci', ", `    sh 'touch body-ran'`)),
			abortWhen: func(ws string) bool {
				started, _ := filepath.Glob(filepath.Join(ws+"@tmp", "argo-cred-*", "stderr"))
				return len(started) > 0
			},
			result:  "ABORTED",
			console: []string{"+ argo-cred env --source=file", "--timeout=60s", "Sending interrupt signal to process", "+ rm -rf "},
			check: func(t *testing.T, b build) {
				// The tree is killed children first (as durable-task does),
				// so the script may go on to print argo-cred's stderr before
				// its own SIGTERM; that stderr must then say argo-cred was
				// interrupted, not that it ended on its own.
				if strings.Contains(b.console, "+ cat ") && !strings.Contains(b.console, "error: interrupted") {
					t.Errorf("argo-cred ended before the abort:\n%s", b.console)
				}
				if b.aborted > 10*time.Second {
					t.Errorf("the build ended %s after the abort", b.aborted)
				}
				if _, err := os.Stat(filepath.Join(b.ws, "body-ran")); err == nil {
					t.Error("the body ran")
				}
			},
		},
		"no parameters": {
			jenkinsfile: "@Library('argo-cred') _\nnode {\n  env.ARGO_CRED_RELAY = 'never'\n  env.ARGO_CRED_TOKEN_FILE = '" + tokenFile + "'\n  env.ARGO_SERVER = 'env.example:2746'\n" +
				"  env.ARGO_NAMESPACE = 'ci'\n  env.ARGO_CRED_PROBE = 'false'\n  argoCred {\n    sh 'argo list'\n  }\n}\n",
			result:  "SUCCESS",
			console: []string{"argo list on env.example:2746"},
		},
		"no argo-cred": {
			jenkinsfile: step("namespace: 'ci', binary: '/nonexistent/argo-cred', ", `    sh 'touch body-ran'`),
			result:      "FAILURE",
			console:     []string{"ERROR: argoCred: argo-cred exit 127 (argo-cred not found): ", "/nonexistent/argo-cred: not found"},
		},
		"body fails": {
			jenkinsfile: step("namespace: 'ci', ", `    sh 'exit 3'`),
			result:      "FAILURE",
			console:     []string{"ERROR: script returned exit code 3"},
		},
	}
	for _, sh := range []string{"bash", "busybox sh"} {
		for _, name := range []string{"binds", "quotes"} {
			c := cases[name]
			c.shell = sh
			cases[name+"/"+sh] = c
		}
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := run(t, pipeline{jenkinsfile: tc.jenkinsfile, bin: map[string]string{"argo": fakeArgo}, abortWhen: tc.abortWhen, shell: tc.shell})
			if b.result != tc.result {
				t.Errorf("result %s; want %s\n%s", b.result, tc.result, b.console)
			}
			for _, s := range tc.console {
				if !strings.Contains(b.console, s) {
					t.Errorf("the console lacks %q:\n%s", s, b.console)
				}
			}
			if left := b.leftovers(t); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
			if tc.check != nil {
				tc.check(t, b)
			}
			noTokenForm(t, b, token)
		})
	}
}

// The harness masks as credentials-binding does: a bound string and its
// base64 forms (here at two alignments) show as **** in the console, and
// are in the raw log. Without this the console's cleanliness would prove
// nothing about a harness that masks nothing, or everything.
func TestHarnessMasks(t *testing.T) {
	t.Parallel()
	secret := "s3cr3t-" + hex.EncodeToString([]byte("harness-masking"))
	b := run(t, pipeline{credentials: []string{"s=string:" + secret}, jenkinsfile: `node {
  withCredentials([string(credentialsId: 's', variable: 'S')]) {
    sh 'echo "plain $S"; printf %s "$S" | base64 -w0; echo; printf x%s "$S" | base64 -w0; echo'
  }
}
`})
	if b.result != "SUCCESS" {
		t.Fatalf("result %s\n%s", b.result, b.console)
	}
	forms := []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), base64.StdEncoding.EncodeToString([]byte("x" + secret))[4:]}
	for _, f := range forms {
		f = strings.TrimRight(f, "=")
		if strings.Contains(b.console, f) {
			t.Errorf("the console shows %q:\n%s", f, b.console)
		}
		if !strings.Contains(b.raw, f) {
			t.Errorf("the raw log lacks %q:\n%s", f, b.raw)
		}
	}
	if !strings.Contains(b.console, "plain ****") {
		t.Errorf("the console lacks the masked value:\n%s", b.console)
	}
}
