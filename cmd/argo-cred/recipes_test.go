package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/redact"
	"github.com/argo-cred/argo-cred/internal/testenv"
)

// readmeRecipes returns the recipes of the README and docs/*.md (the code
// blocks marked <!-- recipe: NAME -->), by name; see docRecipes.
func readmeRecipes(t *testing.T) map[string]string {
	return docRecipes(t)
}

// recipeEnv is a namespace "ci" as the recipes name it, with an identity
// per list of job profiles the recipes name (profileIdentity: exactly
// those profiles' grants, in place of the Secrets and ServiceAccounts the
// recipes name), and a PATH holding argo-cred, argo (a shim that
// records that it ran) and docker (a stand-in that runs argo with the
// --env-file settings, as the argocli image would: no image can be pulled
// here).
type recipeEnv struct {
	s        *testenv.Stack
	dir, bin string
	realBin  string // argo-cred and the argo shim only: docker is the real one
	env      []string
	tokens   []string
	made     map[string]bool // the profile identities made
}

// ciNamespace is held by the test that uses namespace ci, the one the
// README's recipes name: parallel tests take turns instead of deleting it
// under each other.
var ciNamespace sync.Mutex

// namespaceCI gives t namespace ci, made afresh, its alone until t ends.
func namespaceCI(t *testing.T, s *testenv.Stack) {
	t.Helper()
	ciNamespace.Lock()
	t.Cleanup(ciNamespace.Unlock) // after the deletion below (cleanups run last first)
	ctx := context.Background()
	nss := s.Client.CoreV1().Namespaces()
	_ = nss.Delete(ctx, "ci", metav1.DeleteOptions{})
	testenv.Eventually(t, 60*time.Second, "namespace ci gone", func() bool {
		_, err := nss.Get(ctx, "ci", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if _, err := nss.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ci"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nss.Delete(context.Background(), "ci", metav1.DeleteOptions{}) })
}

func newRecipeEnv(t *testing.T) *recipeEnv {
	s := testenv.Get(t)
	namespaceCI(t, s)
	e := &recipeEnv{s: s, dir: t.TempDir(), bin: t.TempDir(), realBin: t.TempDir(), made: map[string]bool{}}
	for _, dir := range []string{e.bin, e.realBin} {
		must(t, os.Symlink(binary, filepath.Join(dir, "argo-cred")))
		must(t, os.WriteFile(filepath.Join(dir, "argo"), []byte("#!/bin/sh\ntouch \"$SHIM_RAN\"\nexec "+s.ArgoBin+" \"$@\"\n"), 0o755))
	}
	must(t, os.WriteFile(filepath.Join(e.bin, "docker"), []byte(`#!/bin/sh
# docker run --rm --env-file FILE [-v X] [-w D] IMAGE ARGS...: runs argo with FILE's settings only.
[ "$1" = run ] || exit 125; shift
envfile=
while [ $# -gt 0 ]; do
	case $1 in
	--rm) shift ;;
	--env-file) envfile=$2; shift 2 ;;
	-v|-w|--user) shift 2 ;;
	*) break ;;
	esac
done
shift # the image
exec env -i PATH="$PATH" SHIM_RAN="$SHIM_RAN" HOME="$HOME" sh -c 'while IFS= read -r l; do export "$l"; done <"$0"; exec argo "$@"' "$envfile" "$@"
`), 0o755))
	must(t, os.WriteFile(filepath.Join(e.dir, "workflow.yaml"), []byte(`apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: recipe-}
spec:
  entrypoint: main
  templates: [{name: main, container: {image: busybox, command: ["true"]}}]
`), 0o644))
	e.env = []string{"PATH=" + e.bin + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "KUBECONFIG=" + s.Kubeconfig,
		"ARGO_CRED_CA_FILE=" + s.CAFile}
	return e
}

// asWritten swaps the stack's TLS server in for the README's, and for
// every token source's name id, or for a bad credential a name that does
// not exist.
func (e *recipeEnv) asWritten(recipe, id string, bad bool) string {
	recipe = strings.ReplaceAll(recipe, "argo.example.com:443", e.s.ArgoServerTLS)
	if bad {
		return regexp.MustCompile(`--secret [a-z-]+|--service-account [a-z-]+`).ReplaceAllString(recipe, "--secret no-such-token")
	}
	return regexp.MustCompile(`(--secret|--service-account) [a-z-]+`).ReplaceAllString(recipe, "$1 "+id)
}

// profileIdentity makes, in namespace ci, an identity (ServiceAccount,
// token Secret, Role, RoleBinding of one name) whose Role holds exactly the
// grants of the job profiles an example's --for names, after checking they
// are the profiles of the argo commands it runs (testenv.ArgoProfiles); it
// returns its name.
func (e *recipeEnv) profileIdentity(t *testing.T, name, example string) string {
	t.Helper()
	names, err := testenv.ForProfiles(example)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if diff := cmp.Diff(testenv.ArgoProfiles(example), names); diff != "" {
		t.Fatalf("%s: --for against the profiles of its argo commands (-commands +for):\n%s", name, diff)
	}
	rules := testenv.ProfileRules(t, names...)
	id := "for-" + strings.Join(names, "-")
	if !e.made[id] { // two examples may name the same profiles
		e.s.Identity(t, "ci", id, rules)
		e.tokens = append(e.tokens, e.s.WaitToken(t, "ci", id))
		e.made[id] = true
	}
	return id
}

type recipeRun struct {
	out  string
	code int
	ran  bool // argo ran
}

func (e *recipeEnv) run(t *testing.T, env []string, shell ...string) recipeRun {
	t.Helper()
	marker := filepath.Join(t.TempDir(), "argo-ran")
	cmd := exec.Command(shell[0], shell[1:]...)
	cmd.Dir = e.dir
	cmd.Env = append(append([]string{"SHIM_RAN=" + marker}, e.env...), env...)
	out, err := cmd.CombinedOutput()
	r := recipeRun{out: string(out), code: exitCode(t, shell[0], err)}
	_, serr := os.Stat(marker)
	r.ran = serr == nil
	return r
}

// judge: with a good credential the recipe submits a workflow; with a bad
// one it stops with argo-cred's exit code and argo never runs. Either way
// no form of any token (raw, Bearer, base64, URL encodings) is in the
// output, the trace of sh -x included.
func (e *recipeEnv) judge(t *testing.T, r recipeRun, bad bool, extra ...string) {
	t.Helper()
	switch {
	case bad && (r.code != 3 || r.ran):
		t.Errorf("bad credential: exit %d, argo ran: %t; want exit 3 from argo-cred and no argo\n%s", r.code, r.ran, r.out)
	case !bad && (r.code != 0 || !r.ran || !strings.Contains(r.out, "recipe-")):
		t.Errorf("good credential: exit %d, argo ran: %t; want argo submit to create a workflow\n%s", r.code, r.ran, r.out)
	}
	e.noTokenForm(t, r.out, extra...)
}

// noTokenForm fails if output, but for ::add-mask:: lines, holds a form of
// a token: of the identities' and those in extra, or anything shaped like a
// JWT.
func (e *recipeEnv) noTokenForm(t *testing.T, output string, extra ...string) {
	t.Helper()
	out := nonMaskOut(output)
	for _, tok := range append(slices.Clone(e.tokens), extra...) {
		for _, form := range append(redact.Forms(tok), tok[len(tok)-20:]) {
			if strings.Contains(out, form) {
				t.Errorf("a form of a token is in the recipe's output:\n%s", out)
				break
			}
		}
	}
	if jwtShape.MatchString(out) {
		t.Errorf("something shaped like a JWT is in the recipe's output:\n%s", out)
	}
}

var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.`)

// helpRecipes are the recipes argo-cred's own help prints: the indented
// lines of env's description, and the root command's examples.
func helpRecipes(t *testing.T) map[string]string {
	help := func(args ...string) string {
		out, err := exec.Command(binary, append(args, "--help")...).CombinedOutput()
		if err != nil {
			t.Fatalf("argo-cred %s --help: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	indented := func(text string) string {
		var b strings.Builder
		for _, l := range strings.Split(text, "\n") {
			if rest, ok := strings.CutPrefix(l, "  "); ok {
				b.WriteString(rest + "\n")
			}
		}
		return b.String()
	}
	envHelp, _, _ := strings.Cut(help("env"), "\nUsage:")
	_, examples, _ := strings.Cut(help(), "\nExamples:\n")
	examples, _, _ = strings.Cut(examples, "\n\n")
	out := map[string]string{"help-env": indented(envHelp), "help-root": indented(examples)}
	for name, r := range out {
		if !strings.Contains(r, "argo-cred ") {
			t.Fatalf("no recipe in the help (%s):\n%s", name, r)
		}
	}
	return out
}

// The recipes of the README and of --help, as written, against the real
// stack, in bash and dash, with and without -e, with and without -x: each
// succeeds with a good credential whose grants are exactly the job
// profiles its --for names, which are those of the argo commands it runs
// (profileIdentity); with a bad one each stops with
// argo-cred's exit code and argo never runs; no form of the token is
// printed, the trace of -x included. The Jenkins recipe is its sh step
// (Jenkins runs it with sh -xe, or as the script's #! line says, without
// -e); the GitHub recipe's steps run as the runner runs them, one script
// per step, the job stopping at a failed step. Not parallel: the recipes
// name namespace ci.
func TestIntegrationReadmeRecipes(t *testing.T) {
	e := newRecipeEnv(t)
	readme := readmeRecipes(t)
	body := regexp.MustCompile(`(?s)sh '''\n(.*?)'''`).FindStringSubmatch(readme["jenkins"])
	if body == nil {
		t.Fatal("no sh ''' step in the Jenkins recipe")
	}
	scripts := map[string]string{"shell": readme["shell"], "docker": readme["docker"], "jenkins": body[1]}
	for name, r := range helpRecipes(t) {
		scripts[name] = r
	}
	ids := map[string]string{"github": e.profileIdentity(t, "github", readme["github"])}
	for name, script := range scripts {
		ids[name] = e.profileIdentity(t, name, script)
	}
	for _, bad := range []bool{false, true} {
		kind := map[bool]string{false: "good", true: "bad"}[bad]
		for _, shell := range []string{"bash", "dash"} {
			for _, flags := range []string{"", "-e", "-x", "-ex"} {
				for _, name := range []string{"shell", "docker", "jenkins", "help-env", "help-root"} {
					t.Run(fmt.Sprintf("%s/%s/%s%s", kind, name, shell, flags), func(t *testing.T) {
						args := []string{shell}
						if flags != "" {
							args = append(args, flags)
						}
						r := e.run(t, []string{"WORKSPACE_TMP=" + t.TempDir()}, append(args, "-c", e.asWritten(scripts[name], ids[name], bad))...)
						e.judge(t, r, bad)
						if strings.Contains(flags, "x") && !strings.Contains(r.out, "+ argo-cred ") {
							t.Errorf("want the trace of %s %s in the output:\n%s", shell, flags, r.out)
						}
					})
				}
				t.Run(fmt.Sprintf("%s/github/%s%s", kind, shell, flags), func(t *testing.T) {
					e.github(t, e.asWritten(readme["github"], ids["github"], bad), bad, shell, flags)
				})
			}
		}
	}
}

// github runs the steps as the runner does: each run: as a script file
// (the runner's bash is bash --noprofile --norc -eo pipefail {0}, its sh is
// sh -e {0}; here with the flags given), with the step's env,
// GITHUB_ACTIONS=true, and what earlier steps appended to $GITHUB_ENV.
func (e *recipeEnv) github(t *testing.T, steps string, bad bool, shell, flags string) {
	var parsed []struct {
		Env map[string]string `json:"env"`
		Run string            `json:"run"`
	}
	if err := yaml.Unmarshal([]byte(steps), &parsed); err != nil {
		t.Fatal(err)
	}
	temp := t.TempDir()
	kc, _ := os.ReadFile(e.s.Kubeconfig)
	must(t, os.WriteFile(filepath.Join(temp, "kubeconfig"), kc, 0o600))
	githubEnv := filepath.Join(temp, "github_env")
	var all recipeRun
	var exported []string
	for i, step := range parsed {
		env := []string{"GITHUB_ACTIONS=true", "GITHUB_ENV=" + githubEnv, "GITHUB_STEP_SUMMARY=" + filepath.Join(temp, "summary")}
		for k, v := range step.Env {
			env = append(env, k+"="+strings.ReplaceAll(v, "${{ runner.temp }}", temp))
		}
		if _, err := os.Stat(githubEnv); err == nil {
			for k, v := range parseGitHubEnv(t, githubEnv) {
				env = append(env, k+"="+v)
				if k == "ARGO_TOKEN" {
					exported = append(exported, v)
				}
			}
		}
		script := filepath.Join(temp, fmt.Sprintf("step%d.sh", i))
		must(t, os.WriteFile(script, []byte(step.Run), 0o700))
		args := []string{shell}
		if shell == "bash" {
			args = append(args, "--noprofile", "--norc")
		}
		if flags != "" {
			args = append(args, flags)
		}
		if shell == "bash" && strings.Contains(flags, "e") {
			args = append(args, "-o", "pipefail")
		}
		r := e.run(t, env, append(args, script)...)
		all.out += r.out
		all.ran = all.ran || r.ran
		if all.code = r.code; r.code != 0 {
			break // the job stops at a failed step
		}
	}
	e.judge(t, all, bad, exported...)
}

// The documents' table of the action's inputs (docs/github-actions.md)
// names every input of action.yml, and nothing else.
func TestReadmeActionInputs(t *testing.T) {
	manifest, err := os.ReadFile(filepath.Join(testenv.Root(), "action.yml"))
	must(t, err)
	var action struct {
		Inputs map[string]any `json:"inputs"`
	}
	must(t, yaml.Unmarshal(manifest, &action))
	var want []string
	for name := range action.Inputs {
		want = append(want, name)
	}
	slices.Sort(want)
	file, table := docWith(t, regexp.MustCompile("(?s)\\| input \\| meaning[^\n]*\n\\|[-|]+\n(.*?)\n\n"), "the table of the action's inputs")
	var got []string
	for _, row := range strings.Split(table[1], "\n") {
		first, _, _ := strings.Cut(strings.TrimPrefix(row, "| "), " | ")
		for _, m := range regexp.MustCompile("`([a-z0-9-]+)`").FindAllStringSubmatch(first, -1) {
			got = append(got, m[1])
		}
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the inputs table of %s against action.yml (-want +got):\n%s", file, diff)
	}
}
