package actions

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/github"
	"github.com/argo-cred/argo-cred/internal/testenv"
)

// runnerUID owns the file-command files, as the runner's user does: an
// action image with a USER cannot write them, as on GitHub.
const runnerUID = 1001

// actionYAML is action.yml, as far as the runner reads it.
type actionYAML struct {
	Inputs  map[string]struct{ Default string } `json:"inputs"`
	Outputs map[string]struct{}                 `json:"outputs"`
	Runs    struct {
		Using          string   `json:"using"`
		Image          string   `json:"image"`
		Entrypoint     string   `json:"entrypoint"`
		PostEntrypoint string   `json:"post-entrypoint"`
		Args           []string `json:"args"`
	} `json:"runs"`
}

func readAction(t *testing.T) actionYAML {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionYAML
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// The inputs and outputs action.yml declares are exactly those argo-cred
// reads and writes.
func TestActionYAML(t *testing.T) {
	a := readAction(t)
	var inputs, outputs []string
	for k := range a.Inputs {
		inputs = append(inputs, k)
	}
	for k := range a.Outputs {
		outputs = append(outputs, k)
	}
	slices.Sort(inputs)
	slices.Sort(outputs)
	if diff := cmp.Diff(slices.Sorted(slices.Values(github.Inputs)), inputs); diff != "" {
		t.Errorf("inputs: action.yml (+) vs argo-cred (-):\n%s", diff)
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values(github.Outputs)), outputs); diff != "" {
		t.Errorf("outputs: action.yml (+) vs argo-cred (-):\n%s", diff)
	}
	if a.Runs.Using != "docker" || !strings.HasPrefix(a.Runs.Image, "docker://") || a.Runs.PostEntrypoint != "/bin/argo-cred-post" || strings.Contains(a.Runs.PostEntrypoint, " ") {
		t.Errorf("runs: %+v; want a docker image and a post-entrypoint that is one path", a.Runs)
	}
}

var (
	buildOnce sync.Once
	buildErr  error
	imageTag  string // the argo-cred image (argo-cred:dev), as build.sh prints it
)

// actionImage builds the images (test/image/build.sh) once and returns the
// action's image as action.yml names it.
func actionImage(t *testing.T) string {
	t.Helper()
	testenv.Get(t)
	testenv.Docker(t) // fails in CI without an engine, skips elsewhere, saying so
	buildOnce.Do(func() {
		cmd := exec.Command(filepath.Join(testenv.Root(), "test", "image", "build.sh"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		imageTag = strings.TrimSpace(string(out))
		if err != nil {
			buildErr = fmt.Errorf("test/image/build.sh: %v\n%s", err, stderr.String())
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return strings.TrimPrefix(readAction(t).Runs.Image, "docker://")
}

// argoCredImage is the argo-cred image (argo exec'd by argo-cred), built
// with the action's by actionImage.
func argoCredImage(t *testing.T) string {
	t.Helper()
	actionImage(t)
	return imageTag
}

// runner lays out a runner's directories for one job and runs steps of a
// container action the way actions/runner does.
type runner struct {
	t                    *testing.T
	temp, workspace, env string // temp is RUNNER_TEMP on the host
	label                string
	jobEnv               map[string]string // the env context: earlier $GITHUB_ENV writes
	scanFor              []string          // secrets no process's command line may hold while a stage runs
}

func newRunner(t *testing.T) *runner {
	root := t.TempDir()
	r := &runner{t: t, temp: filepath.Join(root, "_temp"), workspace: filepath.Join(root, "work"), label: randHex(3), jobEnv: map[string]string{}}
	for _, d := range []string{r.temp, r.workspace, filepath.Join(r.temp, "_github_home"), filepath.Join(r.temp, "_github_workflow"), filepath.Join(r.temp, "_runner_file_commands")} {
		must(t, os.MkdirAll(d, 0o755))
		must(t, os.Chown(d, runnerUID, runnerUID))
	}
	must(t, os.WriteFile(filepath.Join(r.temp, "_github_workflow", "event.json"), []byte("{}"), 0o644))
	return r
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// step is what one stage of the action left behind.
type step struct {
	code                       int
	log                        string // stdout and stderr, as the runner read them
	env, output, state, summry string // the file-command files' contents
}

// run runs one stage: entrypoint "" is the image's (main), else the
// post-entrypoint. with are the step's inputs; state the STATE_* values.
func (r *runner) run(image, entrypoint string, with, state map[string]string) step {
	t := r.t
	t.Helper()
	a := readAction(t)
	id := randHex(16)
	fc := filepath.Join(r.temp, "_runner_file_commands")
	files := map[string]string{}
	for _, kind := range []string{"add_path_", "set_env_", "set_output_", "save_state_", "step_summary_"} {
		p := filepath.Join(fc, kind+id)
		must(t, os.WriteFile(p, nil, 0o644))
		must(t, os.Chown(p, runnerUID, runnerUID))
		files[kind] = p
	}
	// The environment: the env context, the inputs (every declared one,
	// defaulted or empty), STATE_*, and the runner's own variables, with
	// host paths as the container sees them.
	env := map[string]string{}
	for k, v := range r.jobEnv {
		env[k] = v
	}
	for name, in := range a.Inputs {
		v, ok := with[name]
		if !ok {
			v = in.Default
		}
		env["INPUT_"+strings.ToUpper(strings.ReplaceAll(name, " ", "_"))] = v
	}
	for k, v := range state {
		env["STATE_"+k] = v
	}
	for k, v := range map[string]string{
		"HOME": "/github/home", "GITHUB_WORKSPACE": "/github/workspace", "RUNNER_TEMP": "/github/runner_temp",
		"GITHUB_EVENT_PATH": "/github/workflow/event.json", "GITHUB_ENV": "/github/file_commands/set_env_" + id,
		"GITHUB_OUTPUT": "/github/file_commands/set_output_" + id, "GITHUB_STATE": "/github/file_commands/save_state_" + id,
		"GITHUB_STEP_SUMMARY": "/github/file_commands/step_summary_" + id, "GITHUB_PATH": "/github/file_commands/add_path_" + id,
		"GITHUB_ACTION": "__self", "RUNNER_OS": "Linux",
	} {
		env[k] = v
	}
	args := []string{"run", "--name", strings.NewReplacer("/", "_", ":", "_", ".", "_").Replace(image) + "_" + randHex(3), "--label", r.label,
		"--workdir", "/github/workspace", "--rm"}
	var names []string
	for k := range env {
		names = append(names, k)
	}
	slices.Sort(names)
	var docker []string // the docker CLI's own environment
	for _, k := range names {
		args = append(args, "-e", k) // by name only; the value is in docker's environment
		docker = append(docker, k+"="+env[k])
	}
	args = append(args, "-e", "GITHUB_ACTIONS=true", "-e", "CI=true")
	if entrypoint != "" {
		args = append(args, "--entrypoint", entrypoint)
	}
	// GitHub adds --network only for job containers; the emulation uses
	// host so that the container reaches the stack on 127.0.0.1.
	args = append(args, "--network", "host",
		"-v", "/var/run/docker.sock:/var/run/docker.sock", "-v", r.temp+":/github/runner_temp",
		"-v", filepath.Join(r.temp, "_github_home")+":/github/home", "-v", filepath.Join(r.temp, "_github_workflow")+":/github/workflow",
		"-v", fc+":/github/file_commands", "-v", r.workspace+":/github/workspace", image)
	args = append(args, a.Runs.Args...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), docker...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	stop := make(chan struct{})
	scanned := make(chan int)
	go func() { scanned <- scanProcesses(t, r.scanFor, stop) }()
	err := cmd.Run()
	close(stop)
	if n := <-scanned; len(r.scanFor) > 0 && n == 0 {
		t.Error("the process scan read no command line")
	}
	s := step{log: log.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		s.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	read := func(p string) string { b, _ := os.ReadFile(p); return string(b) }
	s.env, s.output, s.state, s.summry = read(files["set_env_"]), read(files["set_output_"]), read(files["save_state_"]), read(files["step_summary_"])
	return s
}

// scanProcesses reads every /proc/*/cmdline every 20 ms until stop, and
// fails the test if one holds a secret; it returns how many it read.
func scanProcesses(t *testing.T, secrets []string, stop chan struct{}) int {
	n := 0
	for len(secrets) > 0 {
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			n++
			for _, s := range secrets {
				if strings.Contains(string(b), s) {
					t.Errorf("%s holds a secret while the action runs", p)
					return n
				}
			}
		}
		select {
		case <-stop:
			return n
		case <-time.After(20 * time.Millisecond):
		}
	}
	<-stop
	return n
}

func pairs(t *testing.T, contents string) map[string]string {
	t.Helper()
	m := map[string]string{}
	ps, err := parseFileCommand(contents)
	if err != nil {
		t.Errorf("the runner could not parse %q: %v", contents, err)
	}
	for _, p := range ps {
		m[p.Key] = p.Value
	}
	return m
}

// tokenForms are the forms of a token that must appear nowhere but in
// $GITHUB_ENV.
func tokenForms(tok string) []string {
	return []string{tok, tok[len(tok)-24:], base64.StdEncoding.EncodeToString([]byte(tok)), base64.StdEncoding.EncodeToString([]byte("Bearer " + tok))}
}

// The action, run as GitHub's runner runs it, against the real stack: it
// masks first, exports settings a later step's real argo uses (list
// allowed, templates refused), sets every output, writes the summary,
// leaks no form of the token, and its post stage removes the kubeconfig.
func TestIntegrationActionInRunner(t *testing.T) {
	t.Parallel()
	img := actionImage(t)
	s := testenv.Get(t)
	ns, tok := s.SeedIdentity(t)
	kubeconfig := readerKubeconfig(t, s, ns)
	r := newRunner(t)
	r.scanFor = []string{tok, between(kubeconfig, `"token":"`, `"`)}
	with := map[string]string{"server": s.ArgoServer, "secure": "false", "namespace": ns, "secret": "ci", "kubeconfig": kubeconfig,
		"expect": "allow:workflows/list\ndeny:cronworkflows/list"}

	main := r.run(img, "", with, nil)
	m := &masker{}
	log := processLog(main.log, m)
	if main.code != 0 {
		t.Fatalf("main stage: exit %d\n%s", main.code, log)
	}
	if first := strings.SplitN(main.log, "\n", 2)[0]; !strings.HasPrefix(first, "::add-mask::") {
		t.Errorf("first log line %q; want the masks before anything else", first)
	}
	summary := processSummary(main.summry, m)
	for _, form := range tokenForms(tok) {
		for where, text := range map[string]string{"the log": log, "the summary": summary, "the outputs": main.output, "the state": main.state} {
			if strings.Contains(text, form) {
				t.Errorf("a form of the token is in %s:\n%s", where, text)
			}
		}
	}
	// Only $GITHUB_ENV holds it, and a later step gets exactly the settings.
	env := map[string]string{}
	if err := applyEnv(main.env, env); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ARGO_SERVER": s.ArgoServer, "ARGO_TOKEN": "Bearer " + tok, "ARGO_HTTP1": "false", "ARGO_SECURE": "false",
		"ARGO_INSECURE_SKIP_VERIFY": "false", "ARGO_NAMESPACE": ns}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Errorf("$GITHUB_ENV (-want +got):\n%s", diff)
	}
	outputs := pairs(t, main.output)
	for _, o := range github.Outputs {
		if _, ok := outputs[o]; !ok {
			t.Errorf("output %s not set; outputs: %v", o, outputs)
		}
	}
	var result struct {
		OK     bool `json:"ok"`
		Checks []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(outputs["probe-result"]), &result); err != nil || !result.OK || len(result.Checks) != 5 {
		t.Errorf("probe-result %q: %v", outputs["probe-result"], err)
	}
	if outputs["server"] != s.ArgoServer || outputs["namespace"] != ns || outputs["token-expires-at"] != "" {
		t.Errorf("outputs %v", outputs)
	}
	if !strings.Contains(summary, "| ✅ cronworkflows/list | denied | denied |") {
		t.Errorf("step summary:\n%s", summary)
	}
	// The kubeconfig input was written under RUNNER_TEMP, 0600, and the
	// post stage (STATE_*) removes it.
	state := pairs(t, main.state)
	host := filepath.Join(r.temp, strings.TrimPrefix(state["kubeconfig"], "/github/runner_temp/"))
	if st, err := os.Stat(host); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("kubeconfig file %s after main: %v, %v; want 0600", host, st, err)
	}
	post := r.run(img, readAction(t).Runs.PostEntrypoint, with, state)
	if post.code != 0 {
		t.Errorf("post stage: exit %d\n%s", post.code, post.log)
	}
	if _, err := os.Stat(host); !os.IsNotExist(err) {
		t.Errorf("the kubeconfig file is still there after the post stage: %v", err)
	}
	// The next step: the real argo with only what $GITHUB_ENV gave it.
	for args, wantOK := range map[string]bool{"list": true, "template list": false} {
		cmd := exec.Command(s.ArgoBin, strings.Fields(args)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		if (err == nil) != wantOK || (!wantOK && !strings.Contains(string(out), "PermissionDenied")) {
			t.Errorf("argo %s: %v\n%s", args, err, out)
		}
	}
}

// processSummary is what the runner uploads: each line masked.
func processSummary(s string, m *masker) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		b.WriteString(m.mask(l) + "\n")
	}
	return b.String()
}

// A failing main stage: one ::error annotation naming the fix, argo-cred's
// exit code, nothing in $GITHUB_ENV; the post stage still cleans up. An
// action image with a USER cannot write the runner's files.
func TestIntegrationActionFailures(t *testing.T) {
	t.Parallel()
	img := actionImage(t)
	s := testenv.Get(t)
	ns, _ := s.SeedIdentity(t)
	r := newRunner(t)
	with := map[string]string{"server": s.ArgoServer, "secure": "false", "namespace": ns, "secret": "nope", "kubeconfig": readerKubeconfig(t, s, ns)}
	main := r.run(img, "", with, nil)
	var annotations []string
	for _, l := range strings.Split(main.log, "\n") {
		if strings.HasPrefix(l, "::error ") {
			annotations = append(annotations, l)
		}
	}
	if main.code != 3 || len(annotations) != 1 || !strings.Contains(annotations[0], "title=argo-cred token unavailable (exit 3)::") || main.env != "" {
		t.Errorf("exit %d, annotations %q, GITHUB_ENV %q\n%s", main.code, annotations, main.env, main.log)
	}
	// A failure before the probe writes a step summary too.
	if !strings.HasPrefix(main.summry, "### ❌ argo-cred: token unavailable (exit 3)\n") || !strings.Contains(main.summry, `secrets "nope" not found`) {
		t.Errorf("step summary:\n%s\nwant the failure, its error and hint", main.summry)
	}
	post := r.run(img, readAction(t).Runs.PostEntrypoint, with, pairs(t, main.state))
	if entries, _ := filepath.Glob(filepath.Join(r.temp, "argo-cred-kubeconfig-*")); post.code != 0 || len(entries) != 0 {
		t.Errorf("post: exit %d, left %v\n%s", post.code, entries, post.log)
	}

	// Inputs crafted to end a heredoc change nothing: argo-cred refuses them
	// before writing.
	for input, value := range map[string]string{"namespace": "ci\nARGO_SERVER=evil:1", "server": "a:1\nghadelimiter_x\nB=1", "secret": "ci\rNODE_OPTIONS=x"} {
		crafted := map[string]string{"server": s.ArgoServer, "secure": "false", "namespace": ns, "secret": "ci", "kubeconfig": with["kubeconfig"]}
		crafted[input] = value
		st := r.run(img, "", crafted, nil)
		if st.code != 2 || st.env != "" || strings.Contains(st.output, "evil") {
			t.Errorf("%s=%q: exit %d, GITHUB_ENV %q, outputs %q\n%s", input, value, st.code, st.env, st.output, st.log)
		}
	}

	// The same image with a USER, as the argocli-based image has: on
	// GitHub it cannot write the runner's files.
	withUser := "argo-cred/action-with-user:test"
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+img+"\nUSER 8737\n"), 0o644))
	if out, err := exec.Command("docker", "build", "-q", "-t", withUser, dir).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	with["secret"] = "ci"
	if st := r.run(withUser, "", with, nil); st.code == 0 || !strings.Contains(st.log, "permission denied") {
		t.Errorf("an image with a USER: exit %d\n%s\nwant a failure to write the runner's files", st.code, st.log)
	}
}

// readerKubeconfig is a kubeconfig's content for a ServiceAccount that may
// get and watch Secrets in ns, reaching the stack's kube-apiserver from a
// container on the host network.
func readerKubeconfig(t *testing.T, s *testenv.Stack, ns string) string {
	t.Helper()
	return kubeconfigJSON(t, s, ns, "reader", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "watch"}})
}

// bind: the action's token is bound to a per-run Secret, which its post
// stage deletes: the token works in a following step, and after the post
// stage the Argo Server rejects it (401), though it has an hour left.
func TestIntegrationActionBind(t *testing.T) {
	t.Parallel()
	img := actionImage(t)
	s := testenv.Get(t)
	ns := s.Namespace(t)
	s.Identity(t, ns, "gha", testenv.WorkflowsListUpdate)
	kubeconfig := kubeconfigJSON(t, s, ns, "minter",
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create", "get", "delete"}})
	r := newRunner(t)
	with := map[string]string{"server": s.ArgoServer, "secure": "false", "namespace": ns, "service-account": "gha", "duration": "1h",
		"bind": "true", "kubeconfig": kubeconfig}
	main := r.run(img, "", with, nil)
	if main.code != 0 {
		t.Fatalf("main: exit %d\n%s", main.code, processLog(main.log, &masker{}))
	}
	env := map[string]string{}
	if err := applyEnv(main.env, env); err != nil {
		t.Fatal(err)
	}
	argoList := func() (string, error) {
		cmd := exec.Command(s.ArgoBin, "list")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := argoList(); err != nil {
		t.Fatalf("argo list with the bound token: %v\n%s", err, out)
	}
	state := pairs(t, main.state)
	if !strings.HasPrefix(state["binding"], "gha-run-") || state["binding-namespace"] != ns {
		t.Fatalf("state %v; want the binding", state)
	}
	post := r.run(img, readAction(t).Runs.PostEntrypoint, with, state)
	if post.code != 0 || !strings.Contains(post.log, "revoked: deleted secret "+ns+"/"+state["binding"]) {
		t.Fatalf("post: exit %d\n%s", post.code, post.log)
	}
	start := time.Now()
	testenv.Eventually(t, 20*time.Second, "the job's token rejected after the post stage", func() bool {
		out, err := argoList()
		return err != nil && strings.Contains(out, "Unauthenticated")
	})
	t.Logf("the job's token was rejected %s after the post stage", time.Since(start).Round(100*time.Millisecond))
}

// job-timeout: a token that expires before the job's timeout gets one
// ::warning on the job's page (the step still succeeds); one that outlives
// it, none.
func TestIntegrationActionJobTimeout(t *testing.T) {
	t.Parallel()
	img := actionImage(t)
	s := testenv.Get(t)
	ns := s.Namespace(t)
	s.Identity(t, ns, "gha", testenv.WorkflowsListUpdate)
	kubeconfig := kubeconfigJSON(t, s, ns, "minter",
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}})
	r := newRunner(t)
	for jobTimeout, warned := range map[string]bool{"60": true, "5": false, "": true} {
		with := map[string]string{"server": s.ArgoServer, "secure": "false", "namespace": ns, "service-account": "gha", "duration": "10m",
			"kubeconfig": kubeconfig, "job-timeout": jobTimeout}
		main := r.run(img, "", with, nil)
		var warnings []testenv.RunnerCommand
		for _, c := range testenv.RunnerCommands(main.log) {
			if c.Name == "warning" {
				warnings = append(warnings, c)
			}
		}
		if main.code != 0 || (len(warnings) == 1) != warned || (warned && !strings.Contains(warnings[0].Data, "before the job's timeout")) {
			t.Errorf("job-timeout %q, a 10m token: exit %d, warnings %+v; want exit 0 and a warning: %t\n%s", jobTimeout, main.code, warnings, warned, processLog(main.log, &masker{}))
		}
	}
}

// Keyless through the action: the job's own OIDC token (the runner passes
// ACTIONS_ID_TOKEN_REQUEST_* to container actions) becomes the Argo
// credential; no kubeconfig, no Secret. The cluster side is oidc-config's.
func TestIntegrationActionKeyless(t *testing.T) {
	t.Parallel()
	img := actionImage(t)
	s := testenv.Get(t)
	ns := s.Namespace(t)
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "keyless"}, Rules: testenv.WorkflowsListUpdate}
	if _, err := s.Client.RbacV1().Roles(ns).Create(context.Background(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "keyless"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "keyless"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "gha:repo:argo-cred-test/app:ref:refs/heads/main:repository_id:" + s.OIDCRepoID}}}
	if _, err := s.Client.RbacV1().RoleBindings(ns).Create(context.Background(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := newRunner(t)
	r.jobEnv["ACTIONS_ID_TOKEN_REQUEST_URL"] = s.OIDCTokenURL
	r.jobEnv["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = testenv.OIDCRequestToken(nil)
	main := r.run(img, "", map[string]string{"server": s.ArgoServer, "secure": "false", "namespace": ns, "source": "github-oidc", "audience": s.OIDCAudience}, nil)
	m := &masker{}
	log := processLog(main.log, m)
	if main.code != 0 || !strings.Contains(log, "repository argo-cred-test/app") {
		t.Fatalf("main: exit %d\n%s", main.code, log)
	}
	env := map[string]string{}
	if err := applyEnv(main.env, env); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log, strings.TrimPrefix(env["ARGO_TOKEN"], "Bearer ")) || strings.Contains(log, "req-") {
		t.Errorf("a token is in the log:\n%s", log)
	}
	cmd := exec.Command(s.ArgoBin, "list")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("argo list with the job's own token: %v\n%s", err, out)
	}
	if outputs := pairs(t, main.output); outputs["token-expires-at"] == "" {
		t.Errorf("token-expires-at not set for a token that expires: %v", outputs)
	}
}

func between(s, from, to string) string {
	_, after, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, to)
	return v
}

// annotations are the ::error lines of a stage's log.
func annotations(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "::error ") {
			out = append(out, l)
		}
	}
	return out
}

// A misspelt repository secret (kubeconfig: ${{ secrets.ARGO_CRED_KUBECONFG }})
// reaches the action as an empty kubeconfig input, exactly like an input
// not given: the one annotation says so and what usually causes it, and
// the step summary holds the same.
func TestIntegrationActionEmptyKubeconfig(t *testing.T) {
	t.Parallel()
	img := actionImage(t)
	s := testenv.Get(t)
	ns := "ci" // never reached: the step fails before any request
	r := newRunner(t)
	for name, with := range map[string]map[string]string{
		"secret":          {"server": s.ArgoServer, "secure": "false", "namespace": ns, "secret": "ci", "kubeconfig": ""},
		"service-account": {"server": s.ArgoServer, "secure": "false", "namespace": ns, "service-account": "ci"},
	} {
		main := r.run(img, "", with, nil)
		msg := "the kubeconfig input is empty: a secret that is not set (a misspelt name, or a fork's pull request, which gets no secrets) gives an empty value, and the " +
			name + " input needs a kubeconfig"
		hint := "check the name in kubeconfig: ${{ secrets.NAME }} against the repository's (or organization's, or the job environment's) Actions secrets; " +
			"a pull request from a fork gets no secrets: skip the step there, or use source: github-oidc, which needs none"
		want := []string{"::error title=argo-cred usage or configuration error (exit 2)::" + msg + "; " + hint}
		if diff := cmp.Diff(want, annotations(main.log)); diff != "" || main.code != 2 {
			t.Errorf("%s: exit %d; annotations (-want +got):\n%s\n%s", name, main.code, diff, main.log)
		}
		if strings.Contains(main.log, "KUBERNETES_MASTER") || strings.Contains(main.log, "\nerror: ") || main.env != "" {
			t.Errorf("%s: client-go's message, a plain error line or GITHUB_ENV %q:\n%s", name, main.env, main.log)
		}
		wantSummary := "### ❌ argo-cred: usage or configuration error (exit 2)\n\n| error | what to do |\n|---|---|\n| `" + msg + "` | `" + hint + "` |\n"
		if diff := cmp.Diff(wantSummary, main.summry); diff != "" {
			t.Errorf("%s: step summary (-want +got):\n%s", name, diff)
		}
	}
}

// Hints follow the source in use: a TokenRequest in a namespace where the
// kubeconfig's identity may not create tokens names create on
// serviceaccounts/token (not get and watch on secrets) and where the
// namespace came from; a token requested for an audience the cluster does
// not accept shows why in the identity row of the summary.
func TestIntegrationActionSourceHints(t *testing.T) {
	t.Parallel()
	img := actionImage(t)
	s := testenv.Get(t)
	ns := s.Namespace(t)
	s.Identity(t, ns, "gha", testenv.WorkflowsListUpdate)
	kubeconfig := kubeconfigJSON(t, s, ns, "minter", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}})
	other := s.Namespace(t)
	r := newRunner(t)

	main := r.run(img, "", map[string]string{"server": s.ArgoServer, "secure": "false", "namespace": other, "service-account": "gha", "kubeconfig": kubeconfig}, nil)
	hint := "the Kubernetes identity in use needs create on serviceaccounts/token in namespace " + other +
		" (from --namespace, ARGO_NAMESPACE or the action's namespace input): check the namespace, or grant it"
	a := annotations(main.log)
	if main.code != 3 || len(a) != 1 || !strings.HasSuffix(a[0], "; "+hint) || strings.Contains(main.log, "get and watch") {
		t.Errorf("wrong namespace: exit %d, annotations %q\n%s\nwant exit 3 and the hint %q", main.code, a, main.log, hint)
	}
	if !strings.HasPrefix(main.summry, "### ❌ argo-cred: token unavailable (exit 3)\n") || !strings.Contains(main.summry, "`"+hint+"`") {
		t.Errorf("wrong namespace: step summary:\n%s", main.summry)
	}

	main = r.run(img, "", map[string]string{"server": s.ArgoServer, "secure": "false", "namespace": ns, "service-account": "gha", "audience": "not-the-cluster",
		"kubeconfig": kubeconfig}, nil)
	m := &masker{}
	summary := processSummary(main.summry, m)
	row := "| ❌ identity | `system:serviceaccount:" + ns + ":gha` | `rejected (401): audience not-the-cluster not accepted by the cluster` |"
	if main.code != 5 || len(annotations(main.log)) != 1 || !strings.Contains(summary, row) ||
		!strings.Contains(summary, "`the token was requested for audience not-the-cluster, which the API server behind the Argo Server does not accept") {
		t.Errorf("wrong audience: exit %d, step summary:\n%s\nwant the row %q and the hint\n%s", main.code, summary, row, processLog(main.log, m))
	}
	var result struct{ Hint string }
	if err := json.Unmarshal([]byte(pairs(t, main.output)["probe-result"]), &result); err != nil || !strings.Contains(result.Hint, "audience not-the-cluster") {
		t.Errorf("probe-result hint %q (%v); want the audience's", result.Hint, err)
	}
}
