package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// jenkinsStep is one sh step of a Jenkinsfile.
type jenkinsStep struct {
	body  string
	creds bool // inside withCredentials: KUBECONFIG is the bound file
}

// jenkinsfile reads a Jenkinsfile's environment block and its sh steps, in
// order (stages, then post).
func jenkinsfile(t *testing.T, path string) (env map[string]string, steps []jenkinsStep) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	env = map[string]string{}
	if m := regexp.MustCompile(`(?s)environment \{\n(.*?)\n\s*\}`).FindStringSubmatch(text); m != nil {
		for _, kv := range regexp.MustCompile(`(\w+) = '([^']*)'`).FindAllStringSubmatch(m[1], -1) {
			env[kv[1]] = kv[2]
		}
	}
	shRe := regexp.MustCompile(`(?s)sh '''\n(.*?)'''|sh '([^'\n]*)'`)
	for _, seg := range regexp.MustCompile(`stage\(|post \{`).Split(text, -1)[1:] {
		for _, m := range shRe.FindAllStringSubmatch(seg, -1) {
			steps = append(steps, jenkinsStep{body: m[1] + m[2], creds: strings.Contains(seg, "withCredentials(")})
		}
	}
	if len(steps) == 0 {
		t.Fatalf("%s: no sh steps", path)
	}
	return env, steps
}

// Each sh step of the example Jenkinsfiles, run with bash -xe in the
// environment Jenkins gives it (the kubeconfig bound as a file, WORKSPACE,
// WORKSPACE_TMP, BUILD_TAG, the environment block) against the real stack:
// it succeeds, argo runs, and the trace shows no form of the token. What
// differs from the files: the stack's server, and no --wait (the stack runs
// no workflow controller, so no workflow ever finishes). Not parallel: the
// examples name namespace ci.
func TestIntegrationJenkinsfiles(t *testing.T) {
	e := newRecipeEnv(t)
	dir := filepath.Join(testenv.Root(), "examples", "jenkins")
	for _, name := range []string{"Jenkinsfile", "Jenkinsfile.docker", "Jenkinsfile.multistep"} {
		t.Run(name, func(t *testing.T) {
			jenv, steps := jenkinsfile(t, filepath.Join(dir, name))
			ws := t.TempDir()
			must(t, os.Chmod(ws, 0o755)) // the argocli image's uid reads it
			wf, _ := os.ReadFile(filepath.Join(dir, "workflow.yaml"))
			must(t, os.WriteFile(filepath.Join(ws, "workflow.yaml"), wf, 0o644))
			marker := filepath.Join(t.TempDir(), "argo-ran")
			base := []string{"PATH=" + e.realBin + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "WORKSPACE=" + ws,
				"WORKSPACE_TMP=" + t.TempDir(), "BUILD_TAG=jenkins-argo-submit-1", "SHIM_RAN=" + marker, "ARGO_SECURE=false"}
			if name == "Jenkinsfile.docker" {
				base = append(base, "ARGO_CRED_IMAGE="+argocliImage(t), "ARGO_CRED_DOCKER_NETWORK=host")
			}
			for k, v := range jenv {
				base = append(base, k+"="+strings.ReplaceAll(v, "argo.example.com:443", e.s.ArgoServer))
			}
			var all string
			for i, st := range steps {
				env := base
				if st.creds {
					env = append(env, "KUBECONFIG="+e.s.Kubeconfig)
				}
				body := strings.ReplaceAll(st.body, "--wait ", "")
				cmd := exec.Command("bash", "-xe", "-c", body)
				cmd.Dir, cmd.Env = ws, env
				out, err := cmd.CombinedOutput()
				all += string(out)
				if err != nil {
					t.Fatalf("step %d: %v\n%s", i+1, err, out)
				}
			}
			if !strings.Contains(all, "hello-") {
				t.Errorf("no workflow submitted:\n%s", all)
			}
			if _, err := os.Stat(marker); err != nil && name != "Jenkinsfile.docker" {
				t.Errorf("argo did not run")
			}
			for _, tok := range e.tokens {
				noLeak(t, tok, "the build log", all)
			}
		})
	}
}

// The Jenkinsfiles parse as Groovy (Jenkins' CPS is Groovy 2.4, as Debian's
// groovy package). What cannot be checked without a Jenkins server: the
// declarative syntax's own rules, steps and plugins (withCredentials).
func TestJenkinsfileSyntax(t *testing.T) {
	groovy := testenv.Command(t, "groovy", "groovy")
	java := testenv.Command(t, "java", "default-jre-headless")
	java, _ = filepath.EvalSymlinks(java)
	files, _ := filepath.Glob(filepath.Join(testenv.Root(), "examples", "jenkins", "Jenkinsfile*"))
	broken := filepath.Join(t.TempDir(), "Jenkinsfile.broken")
	must(t, os.WriteFile(broken, []byte("pipeline { stages { stage('x') { steps { sh '''echo } } }\n"), 0o644))
	parse := func(f string) error {
		cmd := exec.Command(groovy, "-e", "new GroovyShell().parse(new File(args[0]))", f)
		cmd.Env = append(os.Environ(), "JAVA_HOME="+filepath.Dir(filepath.Dir(java)))
		out, err := cmd.CombinedOutput()
		if err != nil {
			return &exec.ExitError{ProcessState: cmd.ProcessState, Stderr: out}
		}
		return nil
	}
	for _, f := range files {
		if err := parse(f); err != nil {
			t.Errorf("%s does not parse: %s", f, err.(*exec.ExitError).Stderr)
		}
	}
	if parse(broken) == nil {
		t.Error("a broken Jenkinsfile parses: the check proves nothing")
	}
}
