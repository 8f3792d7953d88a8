package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// objectState is what tells one object from a changed or new one.
func objectState(t *testing.T, s *testenv.Stack, ns string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	add := func(what string, m metav1.Object, err error) {
		if err == nil {
			out[what] = string(m.GetUID()) + "@" + m.GetResourceVersion()
		}
	}
	r, err := s.Client.RbacV1().Roles(ns).Get(ctx, "seed", metav1.GetOptions{})
	add("role/seed", r, err)
	b, err := s.Client.RbacV1().RoleBindings(ns).Get(ctx, "seed", metav1.GetOptions{})
	add("rolebinding/seed", b, err)
	for _, name := range []string{"seed", "default"} {
		sa, err := s.Client.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
		add("serviceaccount/"+name, sa, err)
	}
	for _, name := range []string{"seed", "seed-token"} {
		sec, err := s.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		add("secret/"+name, sec, err)
	}
	return out
}

// provision and revoke --purge touch only what argo-cred made: objects
// made by hand (as with kubectl) of a client's name are refused, not
// replaced or deleted, and the namespace's default ServiceAccount is
// reserved; --adopt takes such objects over, saying so.
func TestIntegrationOnlyItsOwn(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	s.Identity(t, ns, "seed", testenv.WorkflowsListUpdate)
	s.TokenSecret(t, ns, "seed-token", "seed")
	s.WaitToken(t, ns, "seed-token")
	before := objectState(t, s, ns)
	if len(before) != 6 {
		t.Fatalf("made by hand: %v", before)
	}
	wantCode(t, run(t, env, "provision", "--client", "seed", "--namespace", ns, "--allow", "workflows:list,create"), 2,
		"role "+ns+"/seed exists and is not argo-cred's")
	wantCode(t, run(t, env, "revoke", "--client", "seed", "--namespace", ns, "--purge"), 2,
		"rolebinding "+ns+"/seed exists and is not argo-cred's")
	wantCode(t, run(t, env, "provision", "--client", "default", "--namespace", ns), 2, "reserved")
	wantCode(t, run(t, env, "revoke", "--client", "default", "--namespace", ns, "--purge"), 2, "reserved")
	if diff := diffMaps(before, objectState(t, s, ns)); diff != "" {
		t.Fatalf("objects argo-cred did not make were changed: %s", diff)
	}
	r := run(t, env, "provision", "--client", "seed", "--namespace", ns, "--adopt")
	for _, want := range []string{"role/seed adopted", "serviceaccount/seed adopted", "rolebinding/seed adopted", "secret/seed-token adopted", "verified"} {
		if r.code != 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("provision --adopt: exit %d, want %q in:\n%s", r.code, want, r.stderr)
		}
	}
	// Once adopted they are argo-cred's: revoke --purge removes them.
	wantCode(t, run(t, env, "revoke", "--client", "seed", "--namespace", ns, "--purge"), 0, "deleted the rolebinding, role and serviceaccount seed")
	after := objectState(t, s, ns)
	for _, k := range []string{"role/seed", "rolebinding/seed", "serviceaccount/seed", "secret/seed-token"} {
		if _, ok := after[k]; ok {
			t.Errorf("%s still there after revoke --purge of the adopted client", k)
		}
	}
	if after["serviceaccount/default"] != before["serviceaccount/default"] {
		t.Errorf("the default ServiceAccount changed")
	}

	// Labels can be copied onto anything: a token Secret of another
	// ServiceAccount, labelled as a client's, is neither read, probed,
	// deleted by rotate, nor taken over by provision.
	ctx := context.Background()
	s.ServiceAccount(t, ns, "bystander", testenv.WorkflowsListUpdate...)
	labelled := func(name, client string) {
		_, err := s.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "argo-cred", "argo-cred/client": client},
			Annotations: map[string]string{corev1.ServiceAccountNameKey: "bystander"}}, Type: corev1.SecretTypeServiceAccountToken}, metav1.CreateOptions{})
		must(t, err)
		s.WaitToken(t, ns, name)
	}
	wantCode(t, run(t, env, "provision", "--client", "c1", "--namespace", ns), 0, "verified")
	labelled("planted", "c1")
	r = run(t, env, "rotate", "--client", "c1", "--namespace", ns)
	if r.code != 0 || strings.Contains(r.stderr, "planted") || strings.Contains(r.stderr, "bystander") {
		t.Errorf("rotate with a planted Secret: exit %d\n%s", r.code, r.stderr)
	}
	labelled("c4-token", "c4")
	wantCode(t, run(t, env, "provision", "--client", "c4", "--namespace", ns), 2, "is not a token Secret of ServiceAccount c4")
	for _, name := range []string{"planted", "c4-token"} {
		if _, err := s.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("secret %s: %v", name, err)
		}
	}
	// Text a cluster holds, printed by clients: a Role's verbs and a
	// binding's annotation, chosen by whoever can write them.
	_, err := s.Client.RbacV1().Roles(ns).Patch(ctx, "c1", types.MergePatchType,
		[]byte(`{"rules":[{"apiGroups":["argoproj.io"],"resources":["workflows"],"verbs":["list","##[save-state name=binding;]victim"]}]}`), metav1.PatchOptions{})
	must(t, err)
	_, err = s.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "c1-run-x",
		Labels:      map[string]string{"app.kubernetes.io/managed-by": "argo-cred", "argo-cred/client": "c1", "argo-cred/binding": "x"},
		Annotations: map[string]string{"argo-cred/token-expires-at": "##[set-output name=pwned]yes"}}, Type: corev1.SecretTypeOpaque}, metav1.CreateOptions{})
	must(t, err)
	for _, out := range []string{"table", "json"} {
		r := run(t, env, "clients", "--namespace", ns, "-o", out)
		if cmds := testenv.RunnerCommands(r.stdout + r.stderr); r.code != 0 || len(cmds) > 0 {
			t.Errorf("clients -o %s: exit %d, runner commands %v:\n%s", out, r.code, cmds, r.stdout)
		}
	}
}

func diffMaps(a, b map[string]string) string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, k+": "+v+" -> "+b[k])
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			d = append(d, k+": new "+v)
		}
	}
	return strings.Join(d, "; ")
}

// The action's post stage, run as the runner runs it (STATE_* from
// $GITHUB_STATE, which a runner command in any log line could also have
// set): it deletes only a per-run Secret that carries argo-cred's binding
// labels and the UID the main stage recorded, with only the kubeconfig
// file the main stage wrote under RUNNER_TEMP.
func TestIntegrationPostStage(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	secret := func(name string, labels map[string]string) types.UID {
		sec, err := s.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Type: corev1.SecretTypeOpaque}, metav1.CreateOptions{})
		must(t, err)
		return sec.UID
	}
	exists := func(name string) bool {
		_, err := s.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil
	}
	runLabels := map[string]string{"app.kubernetes.io/managed-by": "argo-cred", "argo-cred/client": "ci", "argo-cred/binding": "20261130T000000Z-0123abcd"}
	victim := secret("victim", nil)
	secret("ci-run-other", runLabels)
	own := secret("ci-run-own", runLabels)
	kc, err := os.ReadFile(s.Kubeconfig)
	must(t, err)
	temp := t.TempDir()
	written := filepath.Join(temp, "argo-cred-kubeconfig-0123456789abcdef")
	elsewhere := filepath.Join(t.TempDir(), "argo-cred-kubeconfig-0123456789abcdef")
	for _, p := range []string{written, elsewhere} {
		must(t, os.WriteFile(p, kc, 0o600))
	}
	// temp/x/.. is temp to filepath.Clean, but elsewhere's directory to the
	// kernel.
	sub := filepath.Join(filepath.Dir(elsewhere), "sub")
	must(t, os.Mkdir(sub, 0o700))
	must(t, os.Symlink(sub, filepath.Join(temp, "x")))
	post := func(name, uid, kubeconfig string, extra ...string) result {
		must(t, os.WriteFile(written, kc, 0o600)) // each post stage removes it
		return run(t, append([]string{"GITHUB_ACTIONS=true", "RUNNER_TEMP=" + temp, "STATE_binding=" + name, "STATE_binding-namespace=" + ns,
			"STATE_binding-uid=" + uid, "STATE_kubeconfig=" + kubeconfig}, extra...), "action", "--post")
	}
	tests := map[string]struct {
		r    result
		want string
	}{
		"a Secret argo-cred did not make":    {post("victim", string(victim), written), "is not a token binding of argo-cred's"},
		"another run's binding":              {post("ci-run-other", string(own), written), "is not a token binding of argo-cred's"},
		"a kubeconfig the stage never wrote": {post("ci-run-own", string(own), elsewhere), "not a file the main stage wrote"},
		"a namespace that is not one":        {post("ci-run-own", string(own), written, "STATE_binding-namespace=../kube-system"), "is not what the main stage writes"},
		"no UID":                             {post("ci-run-own", "", written), "is not what the main stage writes"},
		"a path out through a symlink":       {post("ci-run-own", string(own), temp+"/x/../"+filepath.Base(elsewhere)), "not a file the main stage wrote"},
	}
	for name, tc := range tests {
		if tc.r.code == 0 || !strings.Contains(tc.r.stderr, tc.want) {
			t.Errorf("%s: exit %d, want %q in:\n%s", name, tc.r.code, tc.want, tc.r.stderr)
		}
	}
	for _, name := range []string{"victim", "ci-run-other", "ci-run-own"} {
		if !exists(name) {
			t.Fatalf("secret %s was deleted", name)
		}
	}
	if _, err := os.Stat(elsewhere); err != nil {
		t.Errorf("a file the main stage never wrote was removed: %v", err)
	}
	// The main stage's own state: the binding goes, so does the file.
	r := post("ci-run-own", string(own), written)
	if r.code != 0 || !strings.Contains(r.stderr, "revoked: deleted secret "+ns+"/ci-run-own") || !strings.Contains(r.stderr, "post: removed the kubeconfig file") || exists("ci-run-own") {
		t.Errorf("post with the main stage's state: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(written); err == nil {
		t.Errorf("the kubeconfig file the main stage wrote is still there")
	}
}

// A run that could not clean up (argo-cred and its guard both killed)
// leaves a per-run Secret: clients shows it, of any ServiceAccount, with
// its token's expiry, and revoke --stale-bindings deletes it, which
// revokes the token.
func TestIntegrationStaleBindings(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	s.ServiceAccount(t, ns, "fetcher", testenv.WorkflowsListUpdate...)
	r := run(t, env, "env", "--service-account", "fetcher", "--namespace", ns, "--bind", "--format", "json")
	if r.code != 0 || !strings.Contains(r.stderr, "note: the token expires at") {
		t.Fatalf("env --bind: exit %d\n%s", r.code, r.stderr)
	}
	tok := between(r.stdout, `"ARGO_TOKEN": "Bearer `, `"`)
	// The default lifetime of a bound token is short: 15 minutes.
	if claims := decodeClaims(t, tok); claims.Exp-claims.Iat > 16*60 || claims.Exp-claims.Iat < 14*60 {
		t.Errorf("a --bind token lives %ds; want 15m by default", claims.Exp-claims.Iat)
	}
	r = run(t, env, "clients", "--namespace", ns)
	if r.code != 0 || !strings.Contains(r.stdout, "fetcher (not provisioned)") || !strings.Contains(r.stdout, "(per-run, token until 20") {
		t.Errorf("clients: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	wantCode(t, run(t, env, "revoke", "--namespace", ns, "--stale-bindings", "1h"), 0, "deleted 0 per-run secret(s) older than 1h0m0s")
	time.Sleep(1100 * time.Millisecond) // the Secret's age, to the second
	wantCode(t, run(t, env, "revoke", "--namespace", ns, "--stale-bindings", "1s"), 0, "deleted 1 per-run secret(s) older than 1s")
	testenv.Eventually(t, 20*time.Second, "the bound token rejected", func() bool {
		return run(t, append(env, "ARGO_TOKEN="+tok, "ARGO_NAMESPACE="+ns), "probe").code == 5
	})
	wantCode(t, run(t, env, "revoke", "--namespace", ns, "--stale-bindings", "1s", "--client", "x"), 2, "--stale-bindings goes with neither")
}

type jwtTimes struct{ Iat, Exp int64 }

// decodeClaims reads a JWT's iat and exp (unverified: the test's own token).
func decodeClaims(t *testing.T, tok string) jwtTimes {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	must(t, err)
	var c jwtTimes
	must(t, json.Unmarshal(b, &c))
	return c
}
