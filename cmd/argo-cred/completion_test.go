package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// completions runs the hidden command the shells' completion scripts call
// (argo-cred __complete ARGS… WORD) and returns the values offered, without
// their descriptions. It must exit 0 and end with the directive line.
func completions(t *testing.T, env []string, args ...string) []string {
	t.Helper()
	r := run(t, env, append([]string{"__complete"}, args...)...)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
		t.Fatalf("__complete %q: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
	}
	var values []string
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		values = append(values, v)
	}
	return values
}

// The formats complete from the built binary, as the shells ask for them.
func TestCompletionFormats(t *testing.T) {
	got := completions(t, nil, "env", "--format", "")
	if diff := cmp.Diff([]string{"shell", "dotenv", "json", "github", "jenkins"}, got); diff != "" {
		t.Errorf("env --format '' (-want +got):\n%s", diff)
	}
}

// --client completes from the cluster of the kubeconfig at hand: the
// clients provision made and those oidc-config made (a Role, no
// ServiceAccount), in --namespace or ARGO_NAMESPACE. Without a kubeconfig,
// or with a cluster that does not answer, nothing is offered, quickly.
func TestIntegrationCompletionClients(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	wantCode(t, run(t, env, "provision", "--client", "ci", "--namespace", ns), 0, "verified")
	if r := run(t, []string{"KUBECONFIG=" + s.Kubeconfig}, append(oidcConfigArgs(s, ns), "--apply")...); r.code != 0 {
		t.Fatalf("oidc-config --apply: exit %d\n%s", r.code, r.stderr)
	}
	user := bindingName("argo-cred-test/app", stackUser(s))

	if diff := cmp.Diff([]string{"ci", user}, completions(t, env, "clients", "--namespace", ns, "--client", "")); diff != "" {
		t.Errorf("clients --client '' (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ci"}, completions(t, append(env, "ARGO_NAMESPACE="+ns), "revoke", "--client", "c")); diff != "" {
		t.Errorf("ARGO_NAMESPACE, revoke --client c (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{user}, completions(t, env, "rotate", "--namespace", ns, "--client", "gha-")); diff != "" {
		t.Errorf("rotate --client gha- (-want +got):\n%s", diff)
	}
	// env, exec, probe and docker --client: in --secret-namespace, else
	// --namespace; only clients with a token (not oidc-config's).
	if diff := cmp.Diff([]string{"ci"}, completions(t, env, "env", "--secret-namespace", ns, "--namespace", s.Namespace(t), "--client", "c")); diff != "" {
		t.Errorf("env --secret-namespace --client c (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ci"}, completions(t, env, "exec", "--namespace", ns, "--client", "")); diff != "" {
		t.Errorf("exec --client '' (-want +got):\n%s", diff)
	}
	// Another namespace has none of them.
	if got := completions(t, env, "provision", "--namespace", s.Namespace(t), "--client", ""); len(got) != 0 {
		t.Errorf("an empty namespace offers %v", got)
	}

	// No kubeconfig at hand: nothing, and no error.
	missing := []string{"KUBECONFIG=" + filepath.Join(t.TempDir(), "missing")}
	if got := completions(t, missing, "clients", "--namespace", ns, "--client", ""); len(got) != 0 {
		t.Errorf("without a kubeconfig: %v", got)
	}
	// A cluster that accepts connections and never answers: nothing, within
	// the completion's own limit (3 s), not the 30 s of --timeout.
	hang := testenv.Hang(t)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	must(t, os.WriteFile(kc, []byte(`{"apiVersion":"v1","kind":"Config","clusters":[{"name":"h","cluster":{"server":"`+hang.URL+`"}}],`+
		`"users":[{"name":"u","user":{"token":"x"}}],"contexts":[{"name":"h","context":{"cluster":"h","user":"u","namespace":"ci"}}],"current-context":"h"}`), 0o600))
	start := time.Now()
	if got := completions(t, []string{"KUBECONFIG=" + kc}, "clients", "--client", ""); len(got) != 0 {
		t.Errorf("a hanging cluster: %v", got)
	}
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("a hanging cluster held completion for %s", took.Round(time.Millisecond))
	}
}

// The bash recipe of the docs, in a real bash with the bash-completion
// package: what <TAB> offers for --format and, from the stack, --client.
func TestIntegrationCompletionBash(t *testing.T) {
	t.Parallel()
	testenv.Prereq(t, "bash-completion")
	const bashCompletion = "/usr/share/bash-completion/bash_completion"
	_, err := os.Stat(bashCompletion)
	testenv.Need(t, "bash-completion (apt-get install bash-completion)", err)
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	wantCode(t, run(t, env, "provision", "--client", "ci", "--namespace", ns), 0, "verified")

	// complete LINE prints what <TAB> at the end of LINE offers, one a line.
	script := `source ` + bashCompletion + `
source <(argo-cred completion bash)
complete() {
	COMP_LINE=$1 COMP_POINT=${#1}
	read -ra COMP_WORDS <<<"$1"
	[[ $1 == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	__start_argo-cred 2>/dev/null
	printf '%s\n' "${COMPREPLY[@]}"
	echo --
}
complete "argo-cred env --format "
complete "argo-cred env --format js"
complete "argo-cred clients --namespace ` + ns + ` --client "
`
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c", script)
	cmd.Env = append([]string{"PATH=" + filepath.Dir(binary) + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "--\n"), "--\n")
	want := []string{"shell\ndotenv\njson\ngithub\njenkins\n", "json\n", "ci\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bash completion (-want +got):\n%s", diff)
	}
}

// The zsh and fish scripts load in their shells (zsh: with compinit, as
// the docs say); fish only where it is installed.
func TestIntegrationCompletionScriptsLoad(t *testing.T) {
	t.Parallel()
	zsh := testenv.Command(t, "zsh", "zsh")
	path := "PATH=" + filepath.Dir(binary) + ":" + os.Getenv("PATH")
	cmd := exec.Command(zsh, "-f", "-c", `autoload -U compinit && compinit -u -D && source <(argo-cred completion zsh) && (( $+functions[_argo-cred] )) && echo ${_comps[argo-cred]}`)
	cmd.Env = []string{path, "HOME=" + t.TempDir()}
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "_argo-cred" {
		t.Errorf("zsh: %v\n%s", err, out)
	}
	if fish, err := exec.LookPath("fish"); err == nil {
		cmd := exec.Command(fish, "--no-config", "-c", `argo-cred completion fish | source; complete -C "argo-cred env --format j"`)
		cmd.Env = []string{path, "HOME=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		if err != nil || !slices.Contains(strings.Fields(string(out)), "json") {
			t.Errorf("fish: %v\n%s", err, out)
		}
	}
}
