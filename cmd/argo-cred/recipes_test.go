package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// readmeRecipes returns the code blocks of README.md marked
// <!-- recipe: NAME -->, by name.
func readmeRecipes(t *testing.T) map[string]string {
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- recipe: ([a-z]+) -->\n```[a-z]*\n(.*?)```")
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = m[2]
	}
	for _, name := range []string{"shell", "docker", "github", "jenkins"} {
		if out[name] == "" {
			t.Fatalf("README.md has no recipe %q", name)
		}
	}
	return out
}

// recipeEnv is a namespace "ci" as the recipes name it, with the
// identities they use, and a PATH holding argo-cred, argo (a shim that
// records that it ran) and docker (a stand-in that runs argo with the
// --env-file settings, as the argocli image would: no image can be pulled
// here).
type recipeEnv struct {
	s        *testenv.Stack
	dir, bin string
	realBin  string // argo-cred and the argo shim only: docker is the real one
	env      []string
	tokens   []string
}

func newRecipeEnv(t *testing.T) *recipeEnv {
	s := testenv.Get(t)
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
	submit := []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"list", "get", "create"}}}
	e := &recipeEnv{s: s, dir: t.TempDir(), bin: t.TempDir(), realBin: t.TempDir()}
	for _, id := range []string{"ci-token", "jenkins-token", "gha"} {
		s.Identity(t, "ci", id, submit)
		e.tokens = append(e.tokens, s.WaitToken(t, "ci", id))
	}
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
	-v|-w) shift 2 ;;
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

// asWritten swaps the stack's TLS server in for the README's, and for a bad
// credential a name that does not exist for every token source.
func (e *recipeEnv) asWritten(recipe string, bad bool) string {
	recipe = strings.ReplaceAll(recipe, "argo.example.com:443", e.s.ArgoServerTLS)
	if bad {
		recipe = regexp.MustCompile(`--secret [a-z-]+|--service-account [a-z-]+`).ReplaceAllString(recipe, "--secret no-such-token")
	}
	return recipe
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

func (e *recipeEnv) judge(t *testing.T, r recipeRun, bad bool) {
	t.Helper()
	switch {
	case bad && (r.code != 3 || r.ran):
		t.Errorf("bad credential: exit %d, argo ran: %t; want exit 3 from argo-cred and no argo\n%s", r.code, r.ran, r.out)
	case !bad && (r.code != 0 || !r.ran || !strings.Contains(r.out, "recipe-")):
		t.Errorf("good credential: exit %d, argo ran: %t; want argo submit to create a workflow\n%s", r.code, r.ran, r.out)
	}
	for _, tok := range e.tokens {
		noLeak(t, tok, "the recipe's output", nonMaskOut(r.out))
	}
}

// The README's recipes, as written, against the real stack: each succeeds
// with a good credential; with a bad one each stops with argo-cred's exit
// code and argo never runs; no form of the token is printed (under
// Jenkins' `sh -xe` either). Not parallel: the recipes name namespace ci.
func TestIntegrationReadmeRecipes(t *testing.T) {
	e := newRecipeEnv(t)
	recipes := readmeRecipes(t)
	for _, bad := range []bool{false, true} {
		kind := map[bool]string{false: "good", true: "bad"}[bad]
		for _, name := range []string{"shell", "docker"} {
			for _, shell := range []string{"bash", "dash"} {
				for _, prefix := range []string{"", "set -e\n"} {
					t.Run(fmt.Sprintf("%s/%s/%s/set-e=%t", kind, name, shell, prefix != ""), func(t *testing.T) {
						e.judge(t, e.run(t, nil, shell, "-c", prefix+e.asWritten(recipes[name], bad)), bad)
					})
				}
			}
		}
		t.Run(kind+"/jenkins/sh -xe", func(t *testing.T) {
			body := regexp.MustCompile(`(?s)sh '''\n(.*?)'''`).FindStringSubmatch(recipes["jenkins"])
			if body == nil {
				t.Fatal("no sh ''' step in the Jenkins recipe")
			}
			r := e.run(t, []string{"WORKSPACE_TMP=" + t.TempDir()}, "sh", "-xe", "-c", e.asWritten(body[1], bad))
			e.judge(t, r, bad)
			if !strings.Contains(r.out, "+ argo-cred env") {
				t.Errorf("want the trace of sh -x in the output:\n%s", r.out)
			}
		})
		t.Run(kind+"/github", func(t *testing.T) {
			e.github(t, e.asWritten(recipes["github"], bad), bad)
		})
	}
}

// github runs the steps as the runner does: each run: with bash -eo
// pipefail, the step's env, GITHUB_ACTIONS=true, and what earlier steps
// appended to $GITHUB_ENV.
func (e *recipeEnv) github(t *testing.T, steps string, bad bool) {
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
	for i, step := range parsed {
		env := []string{"GITHUB_ACTIONS=true", "GITHUB_ENV=" + githubEnv, "GITHUB_STEP_SUMMARY=" + filepath.Join(temp, "summary")}
		for k, v := range step.Env {
			env = append(env, k+"="+strings.ReplaceAll(v, "${{ runner.temp }}", temp))
		}
		if _, err := os.Stat(githubEnv); err == nil {
			for k, v := range parseGitHubEnv(t, githubEnv) {
				env = append(env, k+"="+v)
			}
		}
		script := filepath.Join(temp, fmt.Sprintf("step%d.sh", i))
		must(t, os.WriteFile(script, []byte(step.Run), 0o700))
		r := e.run(t, env, "bash", "--noprofile", "--norc", "-eo", "pipefail", script)
		all.out += r.out
		all.ran = all.ran || r.ran
		if all.code = r.code; r.code != 0 {
			break // the job stops at a failed step
		}
	}
	e.judge(t, all, bad)
}
