package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// tokenSecrets reads the client's token Secrets (not its copy of the
// current token): argo-cred's state ("current", "retiring" or "-") to
// their names.
func tokenSecrets(t *testing.T, s *testenv.Stack, ns, client string) map[string][]string {
	t.Helper()
	l, err := s.Client.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "argo-cred/client=" + client + ",!argo-cred/current-token"})
	must(t, err)
	out := map[string][]string{}
	for _, sec := range l.Items {
		state := sec.Annotations["argo-cred/state"]
		if state == "" {
			state = "-"
		}
		out[state] = append(out[state], sec.Name)
	}
	return out
}

// wantStates checks how many token Secrets the client has in each state,
// and returns them.
func wantStates(t *testing.T, s *testenv.Stack, ns, client string, want map[string]int) map[string][]string {
	t.Helper()
	got := tokenSecrets(t, s, ns, client)
	n := map[string]int{}
	for state, names := range got {
		n[state] = len(names)
	}
	if diff := cmp.Diff(want, n); diff != "" {
		t.Errorf("the client's token Secrets by state (-want +got):\n%s\n%v", diff, got)
	}
	return got
}

// copied is the token Secret the client's CLIENT-token-current copies, and
// its token, which must be that Secret's.
func copied(t *testing.T, s *testenv.Stack, ns, client string) (source, tok string) {
	t.Helper()
	c, err := s.Client.CoreV1().Secrets(ns).Get(context.Background(), client+"-token-current", metav1.GetOptions{})
	must(t, err)
	source = c.Annotations["argo-cred/source"]
	if tok = string(c.Data["token"]); tok == "" || tok != s.WaitToken(t, ns, source) {
		t.Errorf("%s-token-current does not hold the token of %q, its source", client, source)
	}
	return source, tok
}

// currentReaderKubeconfig is a kubeconfig of a ServiceAccount that may
// get exactly the client's CLIENT-token-current, by resourceNames, and nothing
// else.
func currentReaderKubeconfig(t *testing.T, s *testenv.Stack, ns, client string) string {
	t.Helper()
	return serviceAccountKubeconfig(t, s, ns, client+"-reader", []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"},
		ResourceNames: []string{client + "-token-current"}, Verbs: []string{"get"}}})
}

// clientToken is the token `env --client` exports.
func clientToken(t *testing.T, env []string, ns, client string) string {
	t.Helper()
	r := run(t, env, "env", "--client", client, "--namespace", ns, "--format", "json")
	if r.code != 0 {
		t.Fatalf("env --client %s: exit %d\n%s", client, r.code, r.stderr)
	}
	return between(r.stdout, `"ARGO_TOKEN": "Bearer `, `"`)
}

// accepted probes with tok: 0 when the Argo Server accepts it, 5 when it
// rejects it (401).
func accepted(t *testing.T, s *testenv.Stack, ns, tok string) int {
	t.Helper()
	return run(t, append(lifecycleEnv(s), "ARGO_TOKEN="+tok, "ARGO_NAMESPACE="+ns), "probe").code
}

// overdueNow moves a retiring Secret's end of grace into the past, as if
// the grace had ended.
func overdueNow(t *testing.T, s *testenv.Stack, ns, name string) {
	t.Helper()
	_, err := s.Client.CoreV1().Secrets(ns).Patch(context.Background(), name, types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"argo-cred/retire-after":"2020-01-02T03:04:05Z"}}}`), metav1.PatchOptions{})
	must(t, err)
}

// provision makes a token Secret current and copies its token to
// CLIENT-token-current; a job whose identity may get only that Secret gets
// the token with --client (env and exec); rotate --grace makes a new token
// current at once while the old one stays valid; clients shows the grace;
// rotate --finish deletes the old Secret and the Argo Server rejects its
// token.
func TestIntegrationRotateGrace(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	r := run(t, env, "provision", "--client", "ci", "--namespace", ns)
	wantCode(t, r, 0, "provision: copied its token to secret "+ns+"/ci-token-current: it is current")
	first := wantStates(t, s, ns, "ci", map[string]int{"current": 1})["current"][0]
	if !strings.Contains(r.stderr, "provision: created secret "+ns+"/"+first) {
		t.Errorf("provision does not say it created %s:\n%s", first, r.stderr)
	}
	source, a := copied(t, s, ns, "ci")
	if source != first {
		t.Errorf("ci-token-current copies %q; want %q", source, first)
	}

	job := []string{"KUBECONFIG=" + currentReaderKubeconfig(t, s, ns, "ci"), "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false"}
	if got := clientToken(t, job, ns, "ci"); got != a {
		t.Fatalf("env --client ci gave another token than the current one")
	}
	// Another client's copy is not the reader's: the hint names it.
	wantCode(t, run(t, job, "env", "--client", "cd", "--namespace", ns), 3, "needs get on secret cd-token-current")

	r = run(t, env, "rotate", "--client", "ci", "--namespace", ns, "--grace", "30s")
	wantCode(t, r, 0, "rotate: rotated (")
	states := wantStates(t, s, ns, "ci", map[string]int{"current": 1, "retiring": 1})
	second := states["current"][0]
	for _, want := range []string{"rotate: created secret " + ns + "/" + second, "marked 1 old secret(s) retiring until ",
		"secret " + ns + "/" + second + " is current (its token in ci-token-current); the old token (secret " + first + ") stays valid until "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("rotate --grace: stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "rejects") || states["retiring"][0] != first {
		t.Errorf("rotate --grace waited for a rejection, or retires another Secret than %s:\n%s", first, r.stderr)
	}
	sec, err := s.Client.CoreV1().Secrets(ns).Get(context.Background(), first, metav1.GetOptions{})
	must(t, err)
	if end, err := time.Parse(time.RFC3339, sec.Annotations["argo-cred/retire-after"]); err != nil || time.Until(end) < 10*time.Second || time.Until(end) > 31*time.Second {
		t.Errorf("retire-after %q; want about 30s from now", sec.Annotations["argo-cred/retire-after"])
	}
	source, b := copied(t, s, ns, "ci")
	if source != second || b == a {
		t.Errorf("after rotate ci-token-current copies %q; want the new %q, a new token", source, second)
	}
	if code := accepted(t, s, ns, a); code != 0 {
		t.Errorf("the old token within its grace: probe exit %d; want 0", code)
	}
	if got := clientToken(t, job, ns, "ci"); got != b {
		t.Errorf("env --client ci after rotate gave another token than the new one")
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	r = run(t, job, "exec", "--client", "ci", "--namespace", ns, "--relay", "never", "--", "sh", "-c", `printf %s "$ARGO_TOKEN" >"$0"`, tokenFile)
	got, _ := os.ReadFile(tokenFile)
	if r.code != 0 || string(got) != "Bearer "+b {
		t.Errorf("exec --client ci: exit %d, not the new token\n%s", r.code, r.stderr)
	}

	// clients shows the grace, in JSON and the table.
	r = run(t, env, "clients", "--namespace", ns, "-o", "json")
	var rows []struct {
		Client  string
		Secrets []struct {
			Name, State, RetireAfter string
			Overdue                  bool
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rows); r.code != 0 || err != nil || len(rows) != 1 || len(rows[0].Secrets) != 2 {
		t.Fatalf("clients -o json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	for _, sc := range rows[0].Secrets {
		if (sc.Name == first) != (sc.State == "retiring" && sc.RetireAfter != "" && !sc.Overdue) || (sc.Name == second) != (sc.State == "current") {
			t.Errorf("clients -o json: %+v", sc)
		}
	}
	r = run(t, env, "clients", "--namespace", ns)
	if r.code != 0 || !strings.Contains(r.stdout, first+"  retiring until ") || !strings.Contains(r.stdout, second+"  current ") {
		t.Errorf("clients: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = run(t, env, "rotate", "--client", "ci", "--namespace", ns, "--finish")
	wantCode(t, r, 0, "rejects 1 token(s) with 401")
	if !strings.Contains(r.stderr, "rotate: finishing the rotation: deleting secret "+ns+"/"+first+" (retiring until ") {
		t.Errorf("rotate --finish:\n%s", r.stderr)
	}
	if code := accepted(t, s, ns, a); code != 5 {
		t.Errorf("the old token after rotate --finish: probe exit %d; want 5", code)
	}
	wantStates(t, s, ns, "ci", map[string]int{"current": 1})
	wantCode(t, run(t, env, "rotate", "--client", "ci", "--namespace", ns, "--finish"), 0, "rotate: client ci has no retiring token in "+ns+": nothing to finish")
	for _, tok := range []string{a, b} {
		noLeak(t, tok, "stderr", r.stderr)
	}
}

// Rotating twice within a grace deletes the retiring token first, saying
// so, and proves it rejected: one old token at most stays valid. No token
// comes back: each rotation's is new. Once a grace has ended, clients
// without an Argo Server flags it; the next lifecycle command (provision,
// then clients with one) finishes it.
func TestIntegrationRotateGraceTwice(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	wantCode(t, run(t, env, "provision", "--client", "ci", "--namespace", ns), 0, "verified")
	firstName, first := copied(t, s, ns, "ci")
	wantCode(t, run(t, env, "rotate", "--client", "ci", "--namespace", ns, "--grace", "1h"), 0, "stays valid until")
	secondName, second := copied(t, s, ns, "ci")

	r := run(t, env, "rotate", "--client", "ci", "--namespace", ns, "--grace", "1h")
	wantCode(t, r, 0, "the old token (secret "+secondName+") stays valid until ")
	line := "rotate: rotating again within a grace, so that at most one old token stays valid: deleting secret " + ns + "/" + firstName + " (retiring until "
	if i, j := strings.Index(r.stderr, line), strings.Index(r.stderr, "rotate: created secret"); i < 0 || j < i {
		t.Errorf("rotate within the grace: want %q before the new Secret:\n%s", line, r.stderr)
	}
	_, third := copied(t, s, ns, "ci")
	if third == first || third == second {
		t.Errorf("the third rotation's token is an earlier one")
	}
	if code := accepted(t, s, ns, first); code != 5 {
		t.Errorf("the oldest token: probe exit %d; want 5\n%s", code, r.stderr)
	}
	if code := accepted(t, s, ns, second); code != 0 {
		t.Errorf("the token retiring now: probe exit %d; want 0", code)
	}
	wantStates(t, s, ns, "ci", map[string]int{"current": 1, "retiring": 1})

	// The grace ends; nothing runs by itself. clients without an Argo
	// Server flags it, in the table, in JSON and on stderr.
	overdueNow(t, s, ns, secondName)
	kubeOnly := []string{"KUBECONFIG=" + s.Kubeconfig}
	r = run(t, kubeOnly, "clients", "--namespace", ns)
	if r.code != 0 || !strings.Contains(r.stdout, secondName+"  retiring, OVERDUE since 2020-01-02T03:04:05Z") ||
		!strings.Contains(r.stderr, "warning: the grace of client ci's old token ended, and it is still valid: secret "+ns+"/"+secondName) {
		t.Errorf("clients with an overdue grace: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r = run(t, kubeOnly, "clients", "--namespace", ns, "-o", "json"); !strings.Contains(r.stdout, `"overdue": true`) {
		t.Errorf("clients -o json with an overdue grace:\n%s", r.stdout)
	}
	if code := accepted(t, s, ns, second); code != 0 {
		t.Errorf("an overdue token nothing finished: probe exit %d; want 0 (still valid)", code)
	}
	// The next lifecycle command that touches the client finishes it.
	r = run(t, env, "provision", "--client", "ci", "--namespace", ns)
	wantCode(t, r, 0, "rejects 1 token(s) with 401")
	for _, want := range []string{"provision: the grace of client ci's old token ended: deleting secret " + ns + "/" + secondName + " (retiring until 2020-01-02T03:04:05Z)",
		" unchanged", "verified"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("provision: stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if code := accepted(t, s, ns, second); code != 5 {
		t.Errorf("the finished token: probe exit %d; want 5", code)
	}
	wantStates(t, s, ns, "ci", map[string]int{"current": 1})

	// clients, given an Argo Server, finishes an overdue grace too.
	thirdName, _ := copied(t, s, ns, "ci")
	wantCode(t, run(t, env, "rotate", "--client", "ci", "--namespace", ns, "--grace", "1h"), 0, "stays valid until")
	overdueNow(t, s, ns, thirdName)
	r = run(t, env, "clients", "--namespace", ns)
	if r.code != 0 || !strings.Contains(r.stderr, "clients: the grace of client ci's old token ended: deleting secret "+ns+"/"+thirdName) ||
		!strings.Contains(r.stderr, "rejects 1 token(s) with 401") || strings.Contains(r.stdout, thirdName) {
		t.Errorf("clients with an Argo Server and an overdue grace: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if code := accepted(t, s, ns, third); code != 5 {
		t.Errorf("the token clients finished: probe exit %d; want 5", code)
	}
}

// A client from before CLIENT-token-current (its token Secret named at
// random by an earlier rotate) keeps working with --secret, and provision
// keeps its Secret; --client says how to move it; rotate moves it, the old
// Secret retiring; --finish ends it.
func TestIntegrationRotateLegacy(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	ctx := context.Background()
	wantCode(t, run(t, env, "provision", "--client", "old", "--namespace", ns), 0, "verified")
	// As an earlier argo-cred left it: one token Secret, no state, no copy.
	made, _ := copied(t, s, ns, "old")
	for _, name := range []string{made, "old-token-current"} {
		must(t, s.Client.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{}))
	}
	_, err := s.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "old-token-7z7kz",
		Labels:      map[string]string{"app.kubernetes.io/managed-by": "argo-cred", "argo-cred/client": "old"},
		Annotations: map[string]string{corev1.ServiceAccountNameKey: "old"}}, Type: corev1.SecretTypeServiceAccountToken}, metav1.CreateOptions{})
	must(t, err)
	legacy := s.WaitToken(t, ns, "old-token-7z7kz")

	r := run(t, env, "env", "--client", "old", "--namespace", ns)
	wantCode(t, r, 3, "client old has no current token: no secret "+ns+"/old-token-current")
	if !strings.Contains(r.stderr, "argo-cred rotate --client old makes it, or use --secret") {
		t.Errorf("env --client of a client from before: no hint to move it:\n%s", r.stderr)
	}
	wantCode(t, run(t, env, "env", "--secret", "old-token-7z7kz", "--namespace", ns), 0, "verified")
	r = run(t, env, "provision", "--client", "old", "--namespace", ns)
	wantCode(t, r, 0, "secret/old-token-7z7kz unchanged")
	if !strings.Contains(r.stderr, "note: client old's token is in secret old-token-7z7kz, and --client finds it only in old-token-current") {
		t.Errorf("provision of a client from before:\n%s", r.stderr)
	}
	wantStates(t, s, ns, "old", map[string]int{"-": 1})

	r = run(t, env, "rotate", "--client", "old", "--namespace", ns, "--grace", "1h")
	wantCode(t, r, 0, "the old token (secret old-token-7z7kz) stays valid until ")
	states := wantStates(t, s, ns, "old", map[string]int{"current": 1, "retiring": 1})
	if states["retiring"][0] != "old-token-7z7kz" {
		t.Errorf("retiring: %v; want old-token-7z7kz", states["retiring"])
	}
	if _, tok := copied(t, s, ns, "old"); clientToken(t, env, ns, "old") != tok {
		t.Errorf("env --client old after the move gave another token than the current one")
	}
	if code := accepted(t, s, ns, legacy); code != 0 {
		t.Errorf("the old Secret's token within its grace: probe exit %d; want 0", code)
	}
	r = run(t, env, "rotate", "--client", "old", "--namespace", ns, "--finish")
	wantCode(t, r, 0, "rejects 1 token(s) with 401")
	if code := accepted(t, s, ns, legacy); code != 5 {
		t.Errorf("the old Secret's token after --finish: probe exit %d; want 5", code)
	}
	wantStates(t, s, ns, "old", map[string]int{"current": 1})
	// revoke deletes the copy with the token Secrets.
	r = run(t, env, "revoke", "--client", "old", "--namespace", ns)
	wantCode(t, r, 0, "rejects 1 token(s) with 401")
	if !strings.Contains(r.stderr, "revoke: deleted 2 secret(s) of client old: old-token-current, old-token-") {
		t.Errorf("revoke:\n%s", r.stderr)
	}
	wantCode(t, run(t, env, "env", "--client", "old", "--namespace", ns), 3, "no secret "+ns+"/old-token-current")
}

// Why every token Secret argo-cred makes has a fresh name: Kubernetes makes
// a legacy token from its ServiceAccount and Secret name alone, so a token
// Secret made again under a name holds the very token revoked with the
// first. provision after revoke (without --purge) keeps the old token
// revoked.
func TestIntegrationTokenNamesNeverReused(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	s.Identity(t, ns, "same", testenv.WorkflowsListUpdate)
	again := func() string {
		s.TokenSecret(t, ns, "same-token", "same")
		return s.WaitToken(t, ns, "same-token")
	}
	first := again()
	must(t, s.Client.CoreV1().Secrets(ns).Delete(ctx, "same-token", metav1.DeleteOptions{}))
	if again() != first {
		t.Fatalf("kube-apiserver made another token for a token Secret made again: fresh names would not be needed")
	}

	env := lifecycleEnv(s)
	wantCode(t, run(t, env, "provision", "--client", "ci", "--namespace", ns), 0, "verified")
	_, old := copied(t, s, ns, "ci")
	wantCode(t, run(t, env, "revoke", "--client", "ci", "--namespace", ns), 0, "rejects 1 token(s) with 401")
	wantCode(t, run(t, env, "provision", "--client", "ci", "--namespace", ns), 0, "verified")
	if _, tok := copied(t, s, ns, "ci"); tok == old {
		t.Errorf("provision after revoke made the revoked token again")
	}
	if code := accepted(t, s, ns, old); code != 5 {
		t.Errorf("the revoked token after provision: probe exit %d; want 5", code)
	}
}
