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

// slots reads the client's token Secrets: name to argo-cred's state
// ("current", "retiring", or "-" for none).
func slots(t *testing.T, s *testenv.Stack, ns, client string) map[string]string {
	t.Helper()
	l, err := s.Client.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "argo-cred/client=" + client})
	must(t, err)
	out := map[string]string{}
	for _, sec := range l.Items {
		out[sec.Name] = cmpOr(sec.Annotations["argo-cred/state"], "-")
	}
	return out
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func wantSlots(t *testing.T, s *testenv.Stack, ns, client string, want map[string]string) {
	t.Helper()
	if diff := cmp.Diff(want, slots(t, s, ns, client)); diff != "" {
		t.Errorf("the client's token Secrets, name: state (-want +got):\n%s", diff)
	}
}

// slotReaderKubeconfig is a kubeconfig of a ServiceAccount that may get and
// watch exactly the two slots of client, by resourceNames, and nothing else.
func slotReaderKubeconfig(t *testing.T, s *testenv.Stack, ns, client string) string {
	t.Helper()
	return serviceAccountKubeconfig(t, s, ns, client+"-reader", []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"},
		ResourceNames: []string{client + "-token-a", client + "-token-b"}, Verbs: []string{"get", "watch"}}})
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

// provision makes slot a current; a job whose identity may only get and
// watch the two slots gets its token with --client (env and exec); rotate
// --grace makes slot b current at once while the old token stays valid;
// clients shows the grace; rotate --finish deletes the old Secret and the
// Argo Server rejects its token.
func TestIntegrationRotateGrace(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	wantCode(t, run(t, env, "provision", "--client", "ci", "--namespace", ns), 0, "secret/ci-token-a created")
	wantSlots(t, s, ns, "ci", map[string]string{"ci-token-a": "current"})
	a := s.WaitToken(t, ns, "ci-token-a")

	job := []string{"KUBECONFIG=" + slotReaderKubeconfig(t, s, ns, "ci"), "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false"}
	if got := clientToken(t, job, ns, "ci"); got != a {
		t.Fatalf("env --client ci gave another token than slot a's")
	}
	// Another client's slots are not the reader's: the hint names the two.
	wantCode(t, run(t, job, "env", "--client", "cd", "--namespace", ns), 3, "needs get and watch on secrets cd-token-a and cd-token-b")

	r := run(t, env, "rotate", "--client", "ci", "--namespace", ns, "--grace", "30s")
	wantCode(t, r, 0, "rotate: rotated (")
	for _, want := range []string{"rotate: created secret " + ns + "/ci-token-b", "marked 1 old secret(s) retiring until ",
		"secret " + ns + "/ci-token-b is current; the old token (secret ci-token-a) stays valid until "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("rotate --grace: stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "rejects") {
		t.Errorf("rotate --grace waited for a rejection:\n%s", r.stderr)
	}
	wantSlots(t, s, ns, "ci", map[string]string{"ci-token-a": "retiring", "ci-token-b": "current"})
	sec, err := s.Client.CoreV1().Secrets(ns).Get(context.Background(), "ci-token-a", metav1.GetOptions{})
	must(t, err)
	if end, err := time.Parse(time.RFC3339, sec.Annotations["argo-cred/retire-after"]); err != nil || time.Until(end) < 10*time.Second || time.Until(end) > 31*time.Second {
		t.Errorf("retire-after %q; want about 30s from now", sec.Annotations["argo-cred/retire-after"])
	}
	b := s.WaitToken(t, ns, "ci-token-b")
	if code := accepted(t, s, ns, a); code != 0 {
		t.Errorf("the old token within its grace: probe exit %d; want 0", code)
	}
	if got := clientToken(t, job, ns, "ci"); got != b {
		t.Errorf("env --client ci after rotate gave another token than slot b's")
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	r = run(t, job, "exec", "--client", "ci", "--namespace", ns, "--", "sh", "-c", `printf %s "$ARGO_TOKEN" >"$0"`, tokenFile)
	got, _ := os.ReadFile(tokenFile)
	if r.code != 0 || string(got) != "Bearer "+b {
		t.Errorf("exec --client ci: exit %d, not slot b's token\n%s", r.code, r.stderr)
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
		if (sc.Name == "ci-token-a") != (sc.State == "retiring" && sc.RetireAfter != "" && !sc.Overdue) || (sc.Name == "ci-token-b") != (sc.State == "current") {
			t.Errorf("clients -o json: %+v", sc)
		}
	}
	r = run(t, env, "clients", "--namespace", ns)
	if r.code != 0 || !strings.Contains(r.stdout, "ci-token-a  retiring until ") || !strings.Contains(r.stdout, "ci-token-b  current ") {
		t.Errorf("clients: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = run(t, env, "rotate", "--client", "ci", "--namespace", ns, "--finish")
	wantCode(t, r, 0, "rejects 1 token(s) with 401")
	if !strings.Contains(r.stderr, "rotate: finishing the rotation: deleting secret "+ns+"/ci-token-a (retiring until ") {
		t.Errorf("rotate --finish:\n%s", r.stderr)
	}
	if code := accepted(t, s, ns, a); code != 5 {
		t.Errorf("the old token after rotate --finish: probe exit %d; want 5", code)
	}
	wantSlots(t, s, ns, "ci", map[string]string{"ci-token-b": "current"})
	wantCode(t, run(t, env, "rotate", "--client", "ci", "--namespace", ns, "--finish"), 0, "rotate: client ci has no retiring token in "+ns+": nothing to finish")
	for _, tok := range []string{a, b} {
		noLeak(t, tok, "stderr", r.stderr)
	}
}

// Rotating twice within a grace deletes the retiring token first, saying
// so, and proves it rejected: one old token at most stays valid. Once a
// grace has ended, clients without an Argo Server flags it; the next
// lifecycle command (provision, then clients with one) finishes it.
func TestIntegrationRotateGraceTwice(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	wantCode(t, run(t, env, "provision", "--client", "ci", "--namespace", ns), 0, "verified")
	first := s.WaitToken(t, ns, "ci-token-a")
	wantCode(t, run(t, env, "rotate", "--client", "ci", "--namespace", ns, "--grace", "1h"), 0, "ci-token-b is current")
	second := s.WaitToken(t, ns, "ci-token-b")

	r := run(t, env, "rotate", "--client", "ci", "--namespace", ns, "--grace", "1h")
	wantCode(t, r, 0, "secret "+ns+"/ci-token-a is current; the old token (secret ci-token-b) stays valid until ")
	line := "rotate: the new token takes slot ci-token-a and at most one old token stays valid: deleting secret " + ns + "/ci-token-a (retiring until "
	if i, j := strings.Index(r.stderr, line), strings.Index(r.stderr, "rotate: created secret"); i < 0 || j < i {
		t.Errorf("rotate within the grace: want %q before the new Secret:\n%s", line, r.stderr)
	}
	if code := accepted(t, s, ns, first); code != 5 {
		t.Errorf("the oldest token: probe exit %d; want 5", code)
	}
	if code := accepted(t, s, ns, second); code != 0 {
		t.Errorf("the token retiring now: probe exit %d; want 0", code)
	}
	wantSlots(t, s, ns, "ci", map[string]string{"ci-token-a": "current", "ci-token-b": "retiring"})

	// The grace ends; nothing runs by itself. clients without an Argo
	// Server flags it, in the table, in JSON and on stderr.
	overdueNow(t, s, ns, "ci-token-b")
	kubeOnly := []string{"KUBECONFIG=" + s.Kubeconfig}
	r = run(t, kubeOnly, "clients", "--namespace", ns)
	if r.code != 0 || !strings.Contains(r.stdout, "ci-token-b  retiring, OVERDUE since 2020-01-02T03:04:05Z") ||
		!strings.Contains(r.stderr, "warning: the grace of client ci's old token ended, and it is still valid: secret "+ns+"/ci-token-b") {
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
	for _, want := range []string{"provision: the grace of client ci's old token ended: deleting secret " + ns + "/ci-token-b (retiring until 2020-01-02T03:04:05Z)",
		"secret/ci-token-a unchanged", "verified"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("provision: stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if code := accepted(t, s, ns, second); code != 5 {
		t.Errorf("the finished token: probe exit %d; want 5", code)
	}
	wantSlots(t, s, ns, "ci", map[string]string{"ci-token-a": "current"})

	// clients, given an Argo Server, finishes an overdue grace too.
	wantCode(t, run(t, env, "rotate", "--client", "ci", "--namespace", ns, "--grace", "1h"), 0, "ci-token-b is current")
	third := s.WaitToken(t, ns, "ci-token-a")
	overdueNow(t, s, ns, "ci-token-a")
	r = run(t, env, "clients", "--namespace", ns)
	if r.code != 0 || !strings.Contains(r.stderr, "clients: the grace of client ci's old token ended: deleting secret "+ns+"/ci-token-a") ||
		!strings.Contains(r.stderr, "rejects 1 token(s) with 401") || strings.Contains(r.stdout, "ci-token-a") {
		t.Errorf("clients with an Argo Server and an overdue grace: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if code := accepted(t, s, ns, third); code != 5 {
		t.Errorf("the token clients finished: probe exit %d; want 5", code)
	}
}

// A client from before slots (its token Secret named at random by an
// earlier rotate) keeps working with --secret, and provision keeps its
// Secret; --client says how to move it; rotate moves it to slot a, the old
// name retiring; --finish ends it.
func TestIntegrationRotateLegacy(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	ctx := context.Background()
	wantCode(t, run(t, env, "provision", "--client", "old", "--namespace", ns), 0, "verified")
	// As an earlier argo-cred left it: one token Secret, a random name, no state.
	must(t, s.Client.CoreV1().Secrets(ns).Delete(ctx, "old-token-a", metav1.DeleteOptions{}))
	_, err := s.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "old-token-7z7kz",
		Labels:      map[string]string{"app.kubernetes.io/managed-by": "argo-cred", "argo-cred/client": "old"},
		Annotations: map[string]string{corev1.ServiceAccountNameKey: "old"}}, Type: corev1.SecretTypeServiceAccountToken}, metav1.CreateOptions{})
	must(t, err)
	legacy := s.WaitToken(t, ns, "old-token-7z7kz")

	r := run(t, env, "env", "--client", "old", "--namespace", ns)
	wantCode(t, r, 3, "client old has no token secret old-token-a or old-token-b of argo-cred's in namespace "+ns)
	if !strings.Contains(r.stderr, "argo-cred rotate --client old moves it to slots, or use --secret") {
		t.Errorf("env --client of a client from before slots: no hint to move it:\n%s", r.stderr)
	}
	wantCode(t, run(t, env, "env", "--secret", "old-token-7z7kz", "--namespace", ns), 0, "verified")
	r = run(t, env, "provision", "--client", "old", "--namespace", ns)
	wantCode(t, r, 0, "secret/old-token-7z7kz unchanged")
	if !strings.Contains(r.stderr, "note: client old's token is in secret old-token-7z7kz, which --client does not read") {
		t.Errorf("provision of a client from before slots:\n%s", r.stderr)
	}
	wantSlots(t, s, ns, "old", map[string]string{"old-token-7z7kz": "-"})

	r = run(t, env, "rotate", "--client", "old", "--namespace", ns, "--grace", "1h")
	wantCode(t, r, 0, "secret "+ns+"/old-token-a is current; the old token (secret old-token-7z7kz) stays valid until ")
	wantSlots(t, s, ns, "old", map[string]string{"old-token-a": "current", "old-token-7z7kz": "retiring"})
	if got, want := clientToken(t, env, ns, "old"), s.WaitToken(t, ns, "old-token-a"); got != want {
		t.Errorf("env --client old after the move gave another token than slot a's")
	}
	if code := accepted(t, s, ns, legacy); code != 0 {
		t.Errorf("the old name's token within its grace: probe exit %d; want 0", code)
	}
	r = run(t, env, "rotate", "--client", "old", "--namespace", ns, "--finish")
	wantCode(t, r, 0, "rejects 1 token(s) with 401")
	if code := accepted(t, s, ns, legacy); code != 5 {
		t.Errorf("the old name's token after --finish: probe exit %d; want 5", code)
	}
	wantSlots(t, s, ns, "old", map[string]string{"old-token-a": "current"})
}
