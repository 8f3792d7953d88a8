package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// lifecycleEnv is what the lifecycle commands need: the stack's kubeconfig
// and the plain Argo Server.
func lifecycleEnv(s *testenv.Stack) []string {
	return []string{"KUBECONFIG=" + s.Kubeconfig, "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false"}
}

// resourceVersions reads the client's four objects' resourceVersions.
func resourceVersions(t *testing.T, s *testenv.Stack, ns, client string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	if r, err := s.Client.RbacV1().Roles(ns).Get(ctx, client, metav1.GetOptions{}); err == nil {
		out["role"] = r.ResourceVersion
	}
	if r, err := s.Client.CoreV1().ServiceAccounts(ns).Get(ctx, client, metav1.GetOptions{}); err == nil {
		out["serviceaccount"] = r.ResourceVersion
	}
	if r, err := s.Client.RbacV1().RoleBindings(ns).Get(ctx, client, metav1.GetOptions{}); err == nil {
		out["rolebinding"] = r.ResourceVersion
	}
	if r, err := s.Client.CoreV1().Secrets(ns).Get(ctx, client+"-token", metav1.GetOptions{}); err == nil {
		out["secret"] = r.ResourceVersion
	}
	return out
}

// provision creates the seed's identity and checks it; again changes no
// object; with more verbs only the Role; granting template list drops the
// default deny, while env with the defaults refuses that token (exit 7).
func TestIntegrationProvision(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	args := []string{"provision", "--client", "ci", "--namespace", ns}
	r := run(t, env, args...)
	wantCode(t, r, 0, "verified")
	for _, want := range []string{"role/ci created", "serviceaccount/ci created", "rolebinding/ci created", "secret/ci-token created"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	role, err := s.Client.RbacV1().Roles(ns).Get(context.Background(), "ci", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"list", "update"}}}
	if diff := cmp.Diff(want, role.Rules); diff != "" || role.Labels["app.kubernetes.io/managed-by"] != "argo-cred" || role.Labels["argo-cred/client"] != "ci" {
		t.Errorf("role rules (-want +got):\n%s\nlabels %v", diff, role.Labels)
	}
	before := resourceVersions(t, s, ns, "ci")
	r = run(t, env, args...)
	wantCode(t, r, 0, "verified")
	if diff := cmp.Diff(before, resourceVersions(t, s, ns, "ci")); diff != "" {
		t.Errorf("provisioning again moved resourceVersions (-before +after):\n%s", diff)
	}
	r = run(t, env, append(args, "--allow", "workflows:list,update", "--allow", "workflowtemplates:list")...)
	wantCode(t, r, 0, "workflowtemplates/list allowed")
	after := resourceVersions(t, s, ns, "ci")
	for kind := range before {
		if changed := before[kind] != after[kind]; changed != (kind == "role") {
			t.Errorf("%s changed: %t; want only the role changed", kind, changed)
		}
	}
	r = run(t, env, "env", "--secret", "ci-token", "--namespace", ns)
	wantCode(t, r, 7, "workflowtemplates/list: expected denied, got allowed")
	// --format prints the settings, as env does.
	r = run(t, env, append(args, "--allow", "workflows:list,update", "--format", "json")...)
	if r.code != 0 || !strings.Contains(r.stdout, `"ARGO_NAMESPACE": "`+ns+`"`) {
		t.Errorf("--format json: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// rotate gives a new token, deletes the old, and the Argo Server rejects
// the old one (401) while the new one works; revoke then rejects the new.
func TestIntegrationRotateRevoke(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	wantCode(t, run(t, env, "provision", "--client", "ci", "--namespace", ns), 0, "verified")
	old := s.WaitToken(t, ns, "ci-token")
	r := run(t, env, "rotate", "--client", "ci", "--namespace", ns)
	wantCode(t, r, 0, "rotate: rotated (")
	for _, want := range []string{"rotate: created secret " + ns + "/ci-token-", "rotate: deleted 1 old secret(s) ci-token", "rejects 1 token(s) with 401"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	wantCode(t, run(t, append(env, "ARGO_TOKEN="+old, "ARGO_NAMESPACE="+ns), "probe"), 5, "rejected the token (401)")
	secrets, err := s.Client.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "argo-cred/client=ci"})
	if err != nil || len(secrets.Items) != 1 {
		t.Fatalf("secrets after rotate: %v, %v", secrets, err)
	}
	fresh := string(secrets.Items[0].Data["token"])
	wantCode(t, run(t, append(env, "ARGO_TOKEN="+fresh, "ARGO_NAMESPACE="+ns), "probe"), 0, "verdict: ok")
	noLeak(t, old, "stderr", r.stderr)
	noLeak(t, fresh, "stderr", r.stderr)

	r = run(t, env, "revoke", "--client", "ci", "--namespace", ns, "--purge")
	wantCode(t, r, 0, "rejects 1 token(s) with 401")
	wantCode(t, run(t, append(env, "ARGO_TOKEN="+fresh, "ARGO_NAMESPACE="+ns), "probe"), 5, "rejected the token (401)")
	if v := resourceVersions(t, s, ns, "ci"); len(v) != 0 {
		t.Errorf("after --purge: %v remain", v)
	}
	// clients lists what is managed.
	wantCode(t, run(t, env, "provision", "--client", "other", "--namespace", ns), 0, "verified")
	r = run(t, env, "clients", "--namespace", ns, "--check")
	if r.code != 0 || !strings.Contains(r.stdout, "other   workflows:list,update  other-token") || !strings.Contains(r.stdout, " ok") {
		t.Errorf("clients: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// --bind: the token works in the child, and once the child exits it is
// rejected (401) within kube-apiserver's cache lag, though it has an hour
// left; env --bind hands the binding on, and revoke --binding proves the
// revocation with the token.
func TestIntegrationBind(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	wantCode(t, run(t, env, "provision", "--client", "gha", "--namespace", ns), 0, "verified")
	tokenFile := filepath.Join(t.TempDir(), "token")
	r := run(t, env, "exec", "--service-account", "gha", "--namespace", ns, "--bind", "--duration", "1h", "--",
		"sh", "-c", `printf %s "$ARGO_TOKEN" >"$0" && "$1" list`, tokenFile, s.ArgoBin)
	if r.code != 0 || !strings.Contains(r.stdout, "No workflows found") || !strings.Contains(r.stderr, "revoked: deleted secret "+ns+"/gha-run-") {
		t.Fatalf("exec --bind: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	b, _ := os.ReadFile(tokenFile)
	bound := strings.TrimPrefix(string(b), "Bearer ")
	start := time.Now()
	var last result
	testenv.Eventually(t, 20*time.Second, "the bound token rejected after the child exits", func() bool {
		last = run(t, append(env, "ARGO_TOKEN="+bound, "ARGO_NAMESPACE="+ns), "probe")
		return last.code == 5
	})
	t.Logf("the bound token was rejected %s after the child exited", time.Since(start).Round(100*time.Millisecond))

	r = run(t, env, "env", "--service-account", "gha", "--namespace", ns, "--bind", "--format", "json")
	if r.code != 0 || !strings.Contains(r.stderr, "argo-cred revoke --namespace "+ns+" --binding gha-run-") {
		t.Fatalf("env --bind: exit %d, stderr %q", r.code, r.stderr)
	}
	binding := strings.Fields(r.stderr[strings.Index(r.stderr, "--binding ")+len("--binding "):])[0]
	tok := between(r.stdout, `"ARGO_TOKEN": "Bearer `, `"`)
	wantCode(t, run(t, append(env, "ARGO_TOKEN="+tok, "ARGO_NAMESPACE="+ns), "probe"), 0, "verdict: ok")
	r = run(t, append(env, "ARGO_TOKEN="+tok), "revoke", "--namespace", ns, "--binding", binding)
	wantCode(t, r, 0, "rejects 1 token(s) with 401")
	noLeak(t, tok, "stderr", r.stderr)
	wantCode(t, run(t, env, "env", "--secret", "x", "--bind"), 2, "--bind binds a TokenRequest token")
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	if j := strings.Index(s, to); j >= 0 {
		return s[:j]
	}
	return s
}

// 50 clients provisioned at once, by 50 processes, end as 50 correct and
// distinct identities, with no conflicts or errors.
func TestIntegrationProvisionConcurrently(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	const n = 50
	start := time.Now()
	results := runAll(n, func(i int) result {
		return run(t, env, "provision", "--client", fmt.Sprintf("c-%02d", i), "--namespace", ns, "--timeout", "60s", "--wait", "60s")
	})
	t.Logf("%d provisions at once took %s", n, time.Since(start).Round(100*time.Millisecond))
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("client c-%02d: exit %d\n%s", i, r.code, r.stderr)
		}
	}
	ctx := context.Background()
	sas, _ := s.Client.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=argo-cred"})
	roles, _ := s.Client.RbacV1().Roles(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=argo-cred"})
	bindings, _ := s.Client.RbacV1().RoleBindings(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=argo-cred"})
	if len(sas.Items) != n || len(roles.Items) != n || len(bindings.Items) != n {
		t.Errorf("%d serviceaccounts, %d roles, %d rolebindings; want %d each", len(sas.Items), len(roles.Items), len(bindings.Items), n)
	}
	for _, b := range bindings.Items {
		if len(b.Subjects) != 1 || b.Subjects[0].Name != b.Name || b.RoleRef.Name != b.Name {
			t.Errorf("rolebinding %s binds %v to %s", b.Name, b.Subjects, b.RoleRef.Name)
		}
	}
}

// Provisioning runs as a ServiceAccount with exactly the Role
// `provision --print-rbac` prints, and fails clearly with one verb less.
func TestIntegrationProvisionerRBAC(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	r := run(t, nil, "provision", "--print-rbac", "--namespace", ns)
	var role rbacv1.Role
	if err := yaml.Unmarshal([]byte(r.stdout), &role); err != nil || len(role.Rules) == 0 {
		t.Fatalf("--print-rbac: %v\n%s", err, r.stdout)
	}
	tests := map[string]struct {
		drop      func(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule
		code      int
		stderrHas string
	}{
		"the printed Role": {drop: func(r []rbacv1.PolicyRule) []rbacv1.PolicyRule { return r }, code: 0, stderrHas: "verified"},
		"without escalate on roles": {drop: dropVerb("roles", "escalate"), code: 6,
			stderrHas: "is attempting to grant RBAC permissions not currently held"},
		"without patch on rolebindings": {drop: dropVerb("rolebindings", "patch"), code: 6,
			stderrHas: `cannot patch resource "rolebindings"`},
		"without create on secrets": {drop: dropVerb("secrets", "create"), code: 6,
			stderrHas: `cannot create resource "secrets"`},
	}
	i := 0
	for name, tc := range tests {
		i++
		sa := fmt.Sprintf("provisioner-%d", i)
		kc := serviceAccountKubeconfig(t, s, ns, sa, tc.drop(role.DeepCopy().Rules))
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := run(t, []string{"KUBECONFIG=" + kc, "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false"},
				"provision", "--client", "client-"+sa, "--namespace", ns)
			wantCode(t, r, tc.code, tc.stderrHas)
		})
	}
}

func dropVerb(resource, verb string) func([]rbacv1.PolicyRule) []rbacv1.PolicyRule {
	return func(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
		for i, r := range rules {
			if len(r.Resources) == 1 && r.Resources[0] == resource {
				var vs []string
				for _, v := range r.Verbs {
					if v != verb {
						vs = append(vs, v)
					}
				}
				rules[i].Verbs = vs
			}
		}
		return rules
	}
}

// serviceAccountKubeconfig makes a ServiceAccount bound to a Role with
// rules and writes a kubeconfig for it.
func serviceAccountKubeconfig(t *testing.T, s *testenv.Stack, ns, name string, rules []rbacv1.PolicyRule) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	must(t, os.WriteFile(path, []byte(s.TokenKubeconfig(t, s.ServiceAccount(t, ns, name, rules...), ns)), 0o600))
	return path
}
