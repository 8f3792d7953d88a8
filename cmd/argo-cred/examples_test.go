package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// jenkinsStep is one sh step of a Jenkinsfile.
type jenkinsStep struct {
	body  string
	creds bool // inside withCredentials: KUBECONFIG is the bound file
	post  bool // in the post section: runs even after a failed stage
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
	starts := regexp.MustCompile(`stage\(|post \{`).FindAllStringIndex(text, -1)
	for i, at := range starts {
		end := len(text)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		seg := text[at[0]:end]
		for _, m := range shRe.FindAllStringSubmatch(seg, -1) {
			steps = append(steps, jenkinsStep{body: m[1] + m[2], creds: strings.Contains(seg, "withCredentials("),
				post: strings.HasPrefix(seg, "post")})
		}
	}
	if len(steps) == 0 {
		t.Fatalf("%s: no sh steps", path)
	}
	return env, steps
}

// Each sh step of the example Jenkinsfiles that do without the shared
// library (test/jenkins runs the others), run in the environment Jenkins
// gives it (the kubeconfig bound as a file, WORKSPACE, WORKSPACE_TMP,
// BUILD_TAG, the environment block) against the real stack, as Jenkins
// runs it (sh -xe: bash and dash) and as a #!/bin/bash first line makes it
// run (no -e; here with -x, which is stricter): with a good credential
// every step succeeds, argo runs, and the trace shows no form of the
// token; with a bad one (a Secret that does not exist) the first step
// stops with argo-cred's exit code 3 and argo never runs, and only the post
// section runs after it, as in Jenkins. Each file's token has exactly the
// grants of the profiles its --for names (internal/profile), so its argo
// commands prove those grants enough. What differs from the files: the
// stack's server, the token Secret's name, and the workflow's annotation
// for the stand-in controller (so --wait ends). Not parallel: the examples
// name namespace ci.
func TestIntegrationJenkinsfiles(t *testing.T) {
	e := newRecipeEnv(t)
	dir := filepath.Join(testenv.Root(), "examples", "jenkins")
	for _, name := range []string{"Jenkinsfile.plain", "Jenkinsfile.docker"} {
		jenv, steps := jenkinsfile(t, filepath.Join(dir, name))
		secret := e.profileToken(t, name, steps)
		for _, bad := range []bool{false, true} {
			for _, sh := range []string{"bash -xe", "dash -xe", "bash -x", "dash -x"} {
				kind := map[bool]string{false: "good", true: "bad"}[bad]
				t.Run(fmt.Sprintf("%s/%s/%s", name, kind, sh), func(t *testing.T) {
					e.jenkinsRun(t, name, secret, jenv, steps, bad, strings.Fields(sh))
				})
			}
		}
	}
}

func (e *recipeEnv) jenkinsRun(t *testing.T, name, secret string, jenv map[string]string, steps []jenkinsStep, bad bool, shell []string) {
	ws := t.TempDir()
	must(t, os.Chmod(ws, 0o755)) // the argocli image's uid reads it
	wf, _ := os.ReadFile(filepath.Join(testenv.Root(), "examples", "jenkins", "workflow.yaml"))
	wf = []byte(strings.Replace(string(wf), "  generateName: hello-\n", "  generateName: hello-\n  annotations: {argo-cred.test/duration: 1s}\n", 1))
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
	failed := -1 // the step that failed
	for i, st := range steps {
		if failed >= 0 && !st.post {
			continue // Jenkins skips the stages after a failed one
		}
		env := base
		if st.creds {
			env = append(env, "KUBECONFIG="+e.s.Kubeconfig)
		}
		body := strings.ReplaceAll(st.body, "--secret jenkins-token", "--secret "+secret)
		if bad {
			body = strings.ReplaceAll(st.body, "--secret jenkins-token", "--secret no-such-token")
		}
		cmd := exec.Command(shell[0], append(shell[1:], "-c", body)...)
		cmd.Dir, cmd.Env = ws, env
		out, err := cmd.CombinedOutput()
		all += string(out)
		switch code := exitCode(t, shell[0], err); {
		case code == 0:
		case bad && failed < 0 && code == 3:
			failed = i
		default:
			t.Fatalf("step %d: exit %d\n%s", i+1, code, out)
		}
	}
	_, serr := os.Stat(marker)
	ran := serr == nil
	switch {
	case bad && (failed != 0 || ran):
		t.Errorf("bad credential: step %d failed, argo ran: %t; want the first step to stop with exit 3, and no argo\n%s", failed+1, ran, all)
	case !bad && !strings.Contains(all, "hello-"):
		t.Errorf("no workflow submitted:\n%s", all)
	case !bad && !ran && name != "Jenkinsfile.docker":
		t.Errorf("argo did not run")
	}
	if !strings.Contains(all, "+ argo-cred ") {
		t.Errorf("want the trace of %s in the build log:\n%s", strings.Join(shell, " "), all)
	}
	e.noTokenForm(t, all)
}

// profileToken makes, in namespace ci, a token Secret whose identity holds
// exactly the grants of the profiles the Jenkinsfile's --for names, which
// must be the profiles of the argo commands its steps run, and returns its
// name.
func (e *recipeEnv) profileToken(t *testing.T, name string, steps []jenkinsStep) string {
	t.Helper()
	var all string
	for _, st := range steps {
		all += st.body + "\n"
	}
	return e.profileIdentity(t, name, all)
}

// The Jenkinsfiles and the shared library's steps (vars/) parse as Groovy
// (Jenkins' CPS is Groovy 2.4, as Debian's groovy package), with
// @Library and @NonCPS known as Jenkins knows them. What cannot be checked
// without a Jenkins server: the declarative syntax's own rules, steps and
// plugins (withCredentials); test/jenkins runs the step under a harness.
func TestJenkinsfileSyntax(t *testing.T) {
	groovy := testenv.Command(t, "groovy", "groovy")
	java := testenv.Command(t, "java", "default-jre-headless")
	java, _ = filepath.EvalSymlinks(java)
	files, _ := filepath.Glob(filepath.Join(testenv.Root(), "examples", "jenkins", "Jenkinsfile*"))
	vars, _ := filepath.Glob(filepath.Join(testenv.Root(), "vars", "*.groovy"))
	files = append(files, vars...)
	if len(vars) == 0 {
		t.Fatal("no vars/*.groovy")
	}
	broken := filepath.Join(t.TempDir(), "Jenkinsfile.broken")
	must(t, os.WriteFile(broken, []byte("pipeline { stages { stage('x') { steps { sh '''echo } } }\n"), 0o644))
	parse := func(f string) error {
		cmd := exec.Command(groovy, "-e", `def gcl = new GroovyClassLoader()
gcl.parseClass('@interface Library { String[] value() }')
gcl.parseClass('@java.lang.annotation.Retention(java.lang.annotation.RetentionPolicy.RUNTIME) @interface NonCPS {}')
new GroovyShell(gcl).parse(new File(args[0]))`, f)
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

// Every example asks for exactly the job profiles of the argo commands it
// runs (testenv.ArgoProfiles): its --for (for:, ARGO_CRED_FOR) names those
// and no other, in each GitHub Actions job, each Jenkinsfile, the
// documents' recipes and make demo (whose provision and job lines the
// README quotes). The integration tests then run them with exactly those
// grants (TestIntegrationReadmeRecipes, TestIntegrationJenkinsfiles,
// TestIntegrationActRunsExample, TestIntegrationActLongJob).
func TestExamplesGrantsAreTheirCommands(t *testing.T) {
	root := testenv.Root()
	texts := map[string]string{}
	ymls, _ := filepath.Glob(filepath.Join(root, "examples", "github-actions", "*.yml"))
	for _, f := range ymls {
		b, err := os.ReadFile(f)
		must(t, err)
		var wf struct {
			Jobs map[string]any `json:"jobs"`
		}
		must(t, yaml.Unmarshal(b, &wf))
		for name, job := range wf.Jobs {
			y, err := yaml.Marshal(job) // without the comments
			must(t, err)
			texts[filepath.Base(f)+"/"+name] = string(y)
		}
	}
	jfs, _ := filepath.Glob(filepath.Join(root, "examples", "jenkins", "Jenkinsfile*"))
	for _, f := range append(jfs, filepath.Join(root, "test", "demo.sh")) {
		b, err := os.ReadFile(f)
		must(t, err)
		texts[filepath.Base(f)] = string(b)
	}
	for _, name := range []string{"shell", "docker", "jenkins", "github"} {
		texts["recipe "+name] = docRecipes(t)[name]
	}
	if len(texts) < 12 {
		t.Fatalf("only %d examples found", len(texts))
	}
	for name, text := range texts {
		want := testenv.ArgoProfiles(text)
		got, err := testenv.ForProfiles(text)
		switch {
		case len(want) == 0:
			t.Errorf("%s: no argo command found", name)
		case err != nil:
			t.Errorf("%s: %v (want --for %s)", name, err, strings.Join(want, ","))
		default:
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: --for against the profiles of its argo commands (-commands +for):\n%s", name, diff)
			}
		}
	}
	// The README quotes make demo's provision and job lines as they run.
	demo, readme := texts["demo.sh"], readDoc(t, "README.md")
	for _, m := range regexp.MustCompile(`(?m)^(?:job)?\$ (argo-cred (?:provision|exec) .*)$`).FindAllStringSubmatch(readme, -1) {
		if !strings.Contains(demo, m[1]) {
			t.Errorf("the README quotes a line make demo does not run:\n%s", m[1])
		}
	}
}

// TestArgoProfiles: what testenv.ArgoProfiles reads as argo commands.
func TestArgoProfiles(t *testing.T) {
	for text, want := range map[string][]string{
		"argo submit -n ci workflow.yaml":                                      {"submit"},
		"argo submit --wait workflow.yaml && argo logs @latest":                {"logs", "submit", "wait"},
		"argo-cred exec --for submit -- argo submit -w x.yaml":                 {"submit", "wait"},
		"argo-cred docker --network host -- submit --from cronwf/nightly":      {"submit-from"},
		"quay.io/argoproj/argocli:v3.7.9 submit -n ci workflow.yaml":           {"submit"},
		"  args: submit --wait -n ci workflow.yaml":                            {"submit", "wait"},
		"sh -c 'wf=$(argo submit -o name x.yaml) && argo get -n demo \"$wf\"'": {"read", "submit"},
		"argo list; argo cron list":                                            {"cron", "read"},
		"# argo delete x\n- name: argo submit\nargo-cred env --wait 30s":       nil,
		"argo-cred env --for submit # argo logs":                               nil,
	} {
		if diff := cmp.Diff(want, testenv.ArgoProfiles(text)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", text, diff)
		}
	}
}
