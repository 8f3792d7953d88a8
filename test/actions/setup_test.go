package actions

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// The setup action's platform mapping, for every runner GitHub has
// (runner.os × runner.arch): each supported one names an archive make dist
// builds (test/dist/dist.sh's platforms), each other is refused with one
// ::error annotation and one plain line, exit 1.
func TestSetupArchiveNames(t *testing.T) {
	root := testenv.Root()
	dist, err := os.ReadFile(filepath.Join(root, "test", "dist", "dist.sh"))
	must(t, err)
	m := regexp.MustCompile(`(?m)^platforms=\$\{PLATFORMS:-([^}]*)\}$`).FindSubmatch(dist)
	if m == nil {
		t.Fatal("dist.sh has no platforms=${PLATFORMS:-…} line")
	}
	built := map[string]bool{}
	for _, p := range strings.Fields(string(m[1])) {
		os, arch, _ := strings.Cut(p, "/")
		ext := "tar.gz"
		if os == "windows" {
			ext = "zip"
		}
		built[fmt.Sprintf("argo-cred_v1.2.3_%s_%s.%s", os, arch, ext)] = true
	}
	for _, tc := range []struct{ os, arch, want, refusal string }{
		{"Linux", "X64", "argo-cred_v1.2.3_linux_amd64.tar.gz", ""},
		{"Linux", "ARM64", "argo-cred_v1.2.3_linux_arm64.tar.gz", ""},
		{"macOS", "X64", "argo-cred_v1.2.3_darwin_amd64.tar.gz", ""},
		{"macOS", "ARM64", "argo-cred_v1.2.3_darwin_arm64.tar.gz", ""},
		{"Windows", "X64", "argo-cred_v1.2.3_windows_amd64.zip", ""},
		{"Windows", "ARM64", "argo-cred_v1.2.3_windows_arm64.zip", ""},
		{"Linux", "X86", "", "no argo-cred release for runner architecture 'X86' on Linux (there are for X64 and ARM64)"},
		{"Linux", "ARM", "", "no argo-cred release for runner architecture 'ARM' on Linux (there are for X64 and ARM64)"},
		{"Windows", "X86", "", "no argo-cred release for runner architecture 'X86' on Windows (there are for X64 and ARM64)"},
		{"linux", "X64", "", "no argo-cred release for runner OS 'linux' (there are for Linux, macOS and Windows)"},
		{"", "", "", "no argo-cred release for runner OS '' (there are for Linux, macOS and Windows)"},
	} {
		t.Run(tc.os+"/"+tc.arch, func(t *testing.T) {
			cmd := exec.Command("bash", filepath.Join(root, "setup", "install.sh"), "archive", tc.os, tc.arch, "v1.2.3")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if tc.refusal == "" {
				if err != nil || stdout.String() != tc.want+"\n" || stderr.Len() > 0 {
					t.Fatalf("%v: %q %q; want %s", err, stdout.String(), stderr.String(), tc.want)
				}
				if !built[tc.want] {
					t.Errorf("%s is not an archive make dist builds (%s)", tc.want, m[1])
				}
				return
			}
			want := []string{"::error title=argo-cred setup::" + tc.refusal, "argo-cred setup: " + tc.refusal}
			got := []string{strings.TrimSuffix(stdout.String(), "\n"), strings.TrimSuffix(stderr.String(), "\n")}
			if diff := cmp.Diff(want, got); diff != "" || cmd.ProcessState.ExitCode() != 1 {
				t.Errorf("exit %d; stdout, stderr (-want +got):\n%s", cmd.ProcessState.ExitCode(), diff)
			}
		})
	}
}

// setup/install.sh passes shellcheck, as bash (macOS runners have bash
// 3.2, Windows runners Git bash).
func TestSetupScriptLint(t *testing.T) {
	sc := testenv.Command(t, "shellcheck", "shellcheck")
	out, err := exec.Command(sc, "--shell=bash", "--severity=info", filepath.Join(testenv.Root(), "setup", "install.sh")).CombinedOutput()
	if err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// compositeAction is setup/action.yml, as far as the runner reads a
// composite action.
type compositeAction struct {
	Inputs  map[string]struct{ Default string } `json:"inputs"`
	Outputs map[string]struct{ Value string }   `json:"outputs"`
	Runs    struct {
		Using string `json:"using"`
		Steps []struct {
			ID    string            `json:"id"`
			Shell string            `json:"shell"`
			Env   map[string]string `json:"env"`
			Run   string            `json:"run"`
			If    string            `json:"if"`
			Uses  string            `json:"uses"`
		} `json:"steps"`
	} `json:"runs"`
}

// composite is what a composite action's run left: its exit code and log,
// the directories it added to PATH, its outputs.
type composite struct {
	code    int
	log     string // stdout then stderr
	stderr  string
	paths   []string
	outputs map[string]string
}

var expression = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// runComposite runs the composite action in dir as actions/runner runs
// one for a job on runner os/arch: each step's ${{ }} expressions from the
// inputs (given or defaulted), runner, github and steps contexts (any other
// fails the test: the emulation models no more), its `shell: bash` as
// `bash --noprofile --norc -eo pipefail FILE`, GITHUB_ACTION_PATH, and
// fresh file-command files per step, read back with the runner's parser
// (GITHUB_PATH: one directory a line, prepended). A step that fails ends
// the action.
func runComposite(t *testing.T, dir, temp, basePath, runnerOS, runnerArch string, with map[string]string) composite {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "action.yml"))
	must(t, err)
	var a compositeAction
	must(t, yaml.Unmarshal(b, &a))
	if a.Runs.Using != "composite" {
		t.Fatalf("runs.using %q", a.Runs.Using)
	}
	ctx := map[string]string{"runner.os": runnerOS, "runner.arch": runnerArch, "runner.temp": temp, "github.action_path": dir}
	for name, in := range a.Inputs {
		v, ok := with[name]
		if !ok {
			v = in.Default
		}
		ctx["inputs."+name] = v
	}
	for name := range with {
		if _, ok := a.Inputs[name]; !ok {
			t.Fatalf("with: %s is no input of the action", name)
		}
	}
	expand := func(s string) string {
		return expression.ReplaceAllStringFunc(s, func(e string) string {
			k := expression.FindStringSubmatch(e)[1]
			v, ok := ctx[k]
			if !ok && !strings.HasPrefix(k, "steps.") {
				t.Fatalf("the emulation does not model ${{ %s }}", k)
			}
			return v
		})
	}
	res := composite{outputs: map[string]string{}}
	var logs, stderrs strings.Builder
	for i, st := range a.Runs.Steps {
		if st.Shell != "bash" || st.If != "" || st.Uses != "" {
			t.Fatalf("step %d: shell %q, if %q, uses %q; the emulation runs bash run steps, always", i, st.Shell, st.If, st.Uses)
		}
		id := randHex(8)
		files := map[string]string{}
		env := []string{"PATH=" + strings.Join(append(slicesReversed(res.paths), basePath), ":"), "HOME=" + filepath.Join(temp, "_github_home"),
			"GITHUB_ACTIONS=true", "CI=true", "RUNNER_OS=" + runnerOS, "RUNNER_ARCH=" + runnerArch, "RUNNER_TEMP=" + temp, "GITHUB_ACTION_PATH=" + dir}
		for kind, name := range map[string]string{"add_path_": "GITHUB_PATH", "set_env_": "GITHUB_ENV", "set_output_": "GITHUB_OUTPUT", "save_state_": "GITHUB_STATE", "step_summary_": "GITHUB_STEP_SUMMARY"} {
			p := filepath.Join(temp, "_runner_file_commands", kind+id)
			must(t, os.MkdirAll(filepath.Dir(p), 0o755))
			must(t, os.WriteFile(p, nil, 0o644))
			files[name] = p
			env = append(env, name+"="+p)
		}
		for k, v := range st.Env {
			env = append(env, k+"="+expand(v))
		}
		script := filepath.Join(temp, id+".sh")
		must(t, os.WriteFile(script, []byte(expand(st.Run)), 0o644))
		c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(c, "bash", "--noprofile", "--norc", "-eo", "pipefail", script)
		cmd.Dir, cmd.Env = temp, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		logs.WriteString(stdout.String() + stderr.String())
		stderrs.WriteString(stderr.String())
		if ee, ok := err.(*exec.ExitError); ok {
			res.code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		added, _ := os.ReadFile(files["GITHUB_PATH"])
		for _, l := range strings.Split(string(added), "\n") {
			if l != "" {
				res.paths = append(res.paths, l)
			}
		}
		out, _ := os.ReadFile(files["GITHUB_OUTPUT"])
		for k, v := range pairs(t, string(out)) {
			ctx["steps."+st.ID+".outputs."+k] = v
		}
		if res.code != 0 {
			break
		}
	}
	for name, o := range a.Outputs {
		if v := expand(o.Value); v != "" {
			res.outputs[name] = v
		}
	}
	res.log, res.stderr = logs.String(), stderrs.String()
	return res
}

// slicesReversed: the runner prepends each GITHUB_PATH line, so the last
// added comes first.
func slicesReversed(s []string) []string {
	r := make([]string, 0, len(s))
	for i := len(s) - 1; i >= 0; i-- {
		r = append(r, s[i])
	}
	return r
}
