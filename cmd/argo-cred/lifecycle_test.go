package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/profile"
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
	if r, err := s.Client.CoreV1().Secrets(ns).Get(ctx, client+"-token-current", metav1.GetOptions{}); err == nil {
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
	for _, want := range []string{"role/ci created", "serviceaccount/ci created", "rolebinding/ci created", "provision: created secret " + ns + "/ci-token-",
		"provision: copied its token to secret " + ns + "/ci-token-current: it is current"} {
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
	r = run(t, env, "env", "--client", "ci", "--namespace", ns)
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
	old := s.WaitToken(t, ns, "ci-token-current")
	r := run(t, env, "rotate", "--client", "ci", "--namespace", ns)
	wantCode(t, r, 0, "rotate: rotated (")
	for _, want := range []string{"rotate: created secret " + ns + "/ci-token-", "rotate: deleted 1 old secret(s) ci-token-",
		"is current (its token in ci-token-current); the old token is deleted and rejected", "note: waiting until the Argo Server rejects the 1 revoked token(s)", "rejects 1 token(s) with 401"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	wantCode(t, run(t, append(env, "ARGO_TOKEN="+old, "ARGO_NAMESPACE="+ns), "probe"), 5, "rejected the token (401)")
	secrets, err := s.Client.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "argo-cred/client=ci,!argo-cred/current-token"})
	if err != nil || len(secrets.Items) != 1 {
		t.Fatalf("token secrets after rotate: %v, %v", secrets, err)
	}
	fresh := string(secrets.Items[0].Data["token"])
	if _, tok := copied(t, s, ns, "ci"); tok != fresh {
		t.Errorf("ci-token-current does not hold the new token")
	}
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

// Provisioning runs as a ServiceAccount holding exactly what
// `provision --print-rbac` prints, applied as printed: provision, rotate,
// clients and revoke --purge work; each escalation the first review found
// is refused by Kubernetes (403); one verb less fails clearly.
func TestIntegrationProvisionerRBAC(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	r := run(t, nil, "provision", "--print-rbac", "--namespace", ns)
	var role rbacv1.Role
	var grantable rbacv1.ClusterRole
	for _, doc := range strings.Split(r.stdout, "\n---\n") {
		var meta struct{ Kind string }
		must(t, yaml.Unmarshal([]byte(doc), &meta))
		var err error
		switch meta.Kind {
		case "ServiceAccount":
			var o corev1.ServiceAccount
			must(t, yaml.Unmarshal([]byte(doc), &o))
			_, err = s.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &o, metav1.CreateOptions{})
		case "Role":
			must(t, yaml.Unmarshal([]byte(doc), &role))
			_, err = s.Client.RbacV1().Roles(ns).Create(ctx, &role, metav1.CreateOptions{})
		case "RoleBinding":
			var o rbacv1.RoleBinding
			must(t, yaml.Unmarshal([]byte(doc), &o))
			_, err = s.Client.RbacV1().RoleBindings(ns).Create(ctx, &o, metav1.CreateOptions{})
		case "ClusterRole":
			must(t, yaml.Unmarshal([]byte(doc), &grantable))
			_, err = s.Client.RbacV1().ClusterRoles().Create(ctx, &grantable, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) { // another run applied it
				var cur *rbacv1.ClusterRole
				if cur, err = s.Client.RbacV1().ClusterRoles().Get(ctx, grantable.Name, metav1.GetOptions{}); err == nil {
					grantable.ResourceVersion = cur.ResourceVersion
					_, err = s.Client.RbacV1().ClusterRoles().Update(ctx, &grantable, metav1.UpdateOptions{})
				}
			}
		case "ValidatingAdmissionPolicy":
			var o admissionv1.ValidatingAdmissionPolicy
			must(t, yaml.Unmarshal([]byte(doc), &o))
			c := s.Client.AdmissionregistrationV1().ValidatingAdmissionPolicies()
			if _, err = c.Create(ctx, &o, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
				var cur *admissionv1.ValidatingAdmissionPolicy
				if cur, err = c.Get(ctx, o.Name, metav1.GetOptions{}); err == nil {
					o.ResourceVersion = cur.ResourceVersion
					_, err = c.Update(ctx, &o, metav1.UpdateOptions{})
				}
			}
		case "ValidatingAdmissionPolicyBinding":
			var o admissionv1.ValidatingAdmissionPolicyBinding
			must(t, yaml.Unmarshal([]byte(doc), &o))
			if _, err = s.Client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, &o, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
				err = nil
			}
		default:
			t.Fatalf("--print-rbac prints a %q:\n%s", meta.Kind, doc)
		}
		if err != nil {
			t.Fatalf("applying what --print-rbac prints: %v\n%s", err, doc)
		}
	}
	if len(role.Rules) == 0 || len(grantable.Rules) == 0 {
		t.Fatalf("--print-rbac printed no Role or ClusterRole:\n%s", r.stdout)
	}
	for _, rule := range role.Rules {
		for _, v := range rule.Verbs {
			if v == "escalate" || v == "bind" || v == "impersonate" || v == "*" {
				t.Errorf("the provisioner's Role has %s on %v", v, rule.Resources)
			}
		}
	}
	tr, err := s.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "argo-cred-provisioner", &authv1.TokenRequest{}, metav1.CreateOptions{})
	must(t, err)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	must(t, os.WriteFile(kc, []byte(s.TokenKubeconfig(t, tr.Status.Token, ns)), 0o600))
	env := []string{"KUBECONFIG=" + kc, "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false"}

	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	must(t, err)
	as, err := kubernetes.NewForConfig(cfg)
	must(t, err)
	ours := map[string]string{"app.kubernetes.io/managed-by": "argo-cred", "argo-cred/client": "leak"}
	fetcher := map[string]string{"app.kubernetes.io/managed-by": "argo-cred", "argo-cred/client": "leak", "argo-cred/fetcher": "secret"}
	outsider := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "outsider", Namespace: "default"}}
	// kube-apiserver compiles a new policy within a few seconds: wait for
	// it with a server-side dry run, which admission sees and stores nothing.
	testenv.Eventually(t, 30*time.Second, "the admission policy in force", func() bool {
		_, err := as.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "leak", Labels: ours},
			RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "argo-cred-provisioner"}, Subjects: outsider},
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		// and this version of it (an older one refuses a fetcher's Role).
		_, ok := as.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "x-fetcher", Labels: map[string]string{
			"app.kubernetes.io/managed-by": "argo-cred", "argo-cred/client": "x", "argo-cred/fetcher": "secret"}},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"x-token-current"}, Verbs: []string{"get"}}}},
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		// and a client Role with the job profiles' core rules (an older
		// one allows argoproj.io rules only).
		_, core := as.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: map[string]string{
			"app.kubernetes.io/managed-by": "argo-cred", "argo-cred/client": "x"}},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}}}},
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return apierrors.IsForbidden(err) && ok == nil && core == nil
	})
	// The whole lifecycle works with exactly that.
	wantCode(t, run(t, env, "provision", "--client", "ci", "--namespace", ns), 0, "verified")
	wantCode(t, run(t, env, "provision", "--client", "deploy", "--namespace", ns, "--allow", "workflows:create,get,list,watch", "--allow", "cronworkflows:list"), 0, "verified")
	wantCode(t, run(t, env, "provision", "--client", "deploy", "--namespace", ns, "--allow", "workflows:create,get,list,watch,delete"), 0, "role/deploy changed")
	// Every profile, the core rules of logs and manage included.
	wantCode(t, run(t, env, "provision", "--client", "logs", "--namespace", ns, "--for", "logs,manage"), 0, "verified")
	wantCode(t, run(t, env, "provision", "--client", "all", "--namespace", ns, "--for", strings.Join(profile.Names(), ",")), 0, "verified")
	wantCode(t, run(t, env, "provision", "--client", "wide", "--namespace", ns, "--allow", "pods:create"), 2, `verb "create" cannot be granted on core pods`)
	wantCode(t, run(t, env, "rotate", "--client", "ci", "--namespace", ns), 0, "rotated")
	wantCode(t, run(t, env, "clients", "--namespace", ns), 0, "")
	wantCode(t, run(t, env, "revoke", "--client", "deploy", "--namespace", ns, "--purge"), 0, "rejects")
	// Fetchers of both models, and their purge.
	fk := filepath.Join(t.TempDir(), "fetcher")
	wantCode(t, run(t, env, "provision", "--client", "ci", "--namespace", ns, "--kubeconfig-out", fk), 0, "(secret model)")
	wantCode(t, run(t, env, "provision", "--client", "tr", "--namespace", ns, "--kubeconfig-out", fk+"-tr", "--fetcher", "tokenrequest"), 0, "(tokenrequest model)")
	wantCode(t, run(t, []string{"KUBECONFIG=" + fk + "-tr", "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false"},
		"env", "--source", "tokenrequest", "--service-account", "tr", "--namespace", ns, "--probe"), 0, "")
	wantCode(t, run(t, env, "revoke", "--client", "tr", "--namespace", ns, "--purge"), 0, "deleted the fetcher of client tr")

	// Each escalation, tried as the provisioner, is refused.
	// (The stack runs no ClusterRole aggregation, so admin is empty there:
	// cluster-admin and a Role of the namespace's own stand for it.)
	s.ServiceAccount(t, ns, "bystander-admin", rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}})
	escalations := map[string]func() error{
		"a Role with * on *.*": func() error {
			_, err := as.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "pwn"},
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}}, metav1.CreateOptions{})
			return err
		},
		"a client Role with secrets and pods/exec": func() error {
			_, err := as.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "pwn2"},
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create"}}}}, metav1.CreateOptions{})
			return err
		},
		"itself bound to ClusterRole cluster-admin": func() error {
			_, err := as.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "pwn"},
				RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "argo-cred-provisioner", Namespace: ns}}}, metav1.CreateOptions{})
			return err
		},
		"itself bound to an admin's Role": func() error {
			_, err := as.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "pwn3"},
				RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "bystander-admin"},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "argo-cred-provisioner", Namespace: ns}}}, metav1.CreateOptions{})
			return err
		},
		"a TokenRequest for an admin ServiceAccount": func() error {
			_, err := as.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "bystander-admin", &authv1.TokenRequest{}, metav1.CreateOptions{})
			return err
		},
		"its own Role bound to an outsider": func() error {
			_, err := as.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "leak"},
				RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "argo-cred-provisioner"}, Subjects: outsider}, metav1.CreateOptions{})
			return err
		},
		"the grantable verbs bound to every user, labelled as argo-cred's": func() error {
			_, err := as.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "leak", Labels: ours},
				RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "argo-cred-grantable"},
				Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: "system:authenticated"}}}, metav1.CreateOptions{})
			return err
		},
		"a token Secret of an admin ServiceAccount, labelled as a client's": func() error {
			_, err := as.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "leak", Labels: ours,
				Annotations: map[string]string{corev1.ServiceAccountNameKey: "bystander-admin"}}, Type: corev1.SecretTypeServiceAccountToken}, metav1.CreateOptions{})
			return err
		},
		"argo-cred's labels put on an admin's Role": func() error {
			r, err := as.RbacV1().Roles(ns).Get(ctx, "bystander-admin", metav1.GetOptions{})
			if err != nil {
				return err
			}
			r.Labels = ours
			_, err = as.RbacV1().Roles(ns).Update(ctx, r, metav1.UpdateOptions{})
			return err
		},
		"an admin's RoleBinding deleted": func() error {
			return as.RbacV1().RoleBindings(ns).Delete(ctx, "bystander-admin", metav1.DeleteOptions{})
		},
		"a fetcher's Role reaching every Secret": func() error {
			_, err := as.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "leak-fetcher", Labels: fetcher},
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{})
			return err
		},
		"a fetcher's Role reading another client's token": func() error {
			_, err := as.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "leak-fetcher", Labels: fetcher},
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"ci-token-current"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{})
			return err
		},
		"a TokenRequest for a client ServiceAccount": func() error {
			_, err := as.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "ci", &authv1.TokenRequest{}, metav1.CreateOptions{})
			return err
		},
		"a client Role with get on secrets": func() error {
			return clientRole(ctx, as, ns, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}})
		},
		"a client Role with create on pods": func() error {
			return clientRole(ctx, as, ns, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create", "list"}})
		},
		"a client Role with * on pods": func() error {
			return clientRole(ctx, as, ns, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"*"}})
		},
		"a client Role with pods/exec beside pods/log": func() error {
			return clientRole(ctx, as, ns, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/log", "pods/exec"}, Verbs: []string{"get"}})
		},
		"a Role in another namespace": func() error {
			_, err := as.RbacV1().Roles("default").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "pwn"}}, metav1.CreateOptions{})
			return err
		},
	}
	for name, try := range escalations {
		if err := try(); !apierrors.IsForbidden(err) {
			t.Errorf("%s: got %v; want 403 Forbidden", name, err)
		}
	}

	// One verb less fails with exit 6 and names it.
	tests := map[string]struct {
		drop      func(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule
		args      []string
		stderrHas string
	}{
		"without list on pods": {drop: dropVerb("pods", "list"), args: []string{"--for", "logs"},
			stderrHas: "is attempting to grant RBAC permissions not currently held"},
		"without create on rolebindings": {drop: dropVerb("rolebindings", "create"), stderrHas: `cannot create resource "rolebindings"`},
		"without create on secrets":      {drop: dropVerb("secrets", "create"), stderrHas: `cannot create resource "secrets"`},
		"without the grantable verbs": {drop: func(r []rbacv1.PolicyRule) []rbacv1.PolicyRule { return r[:len(r)-1] },
			stderrHas: "is attempting to grant RBAC permissions not currently held"},
	}
	i := 0
	for name, tc := range tests {
		i++
		sa := fmt.Sprintf("provisioner-%d", i)
		// The Role's rules and the grantable ones, in one Role.
		rules := append(splitRules(role.DeepCopy().Rules), grantable.Rules...)
		kc := serviceAccountKubeconfig(t, s, ns, sa, tc.drop(rules))
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := run(t, []string{"KUBECONFIG=" + kc, "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false"},
				append([]string{"provision", "--client", "client-" + sa, "--namespace", ns}, tc.args...)...)
			wantCode(t, r, 6, tc.stderrHas)
		})
	}
}

// clientRole creates, as the provisioner (as), a Role labelled as a
// client's, with rule.
func clientRole(ctx context.Context, as kubernetes.Interface, ns string, rule rbacv1.PolicyRule) error {
	_, err := as.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "wide", Labels: map[string]string{
		"app.kubernetes.io/managed-by": "argo-cred", "argo-cred/client": "wide"}}, Rules: []rbacv1.PolicyRule{rule}}, metav1.CreateOptions{})
	return err
}

// splitRules gives each resource of rules a rule of its own, so that
// dropVerb can take a verb from one.
func splitRules(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, r := range rules {
		for _, res := range r.Resources {
			c := *r.DeepCopy()
			c.Resources = []string{res}
			out = append(out, c)
		}
	}
	return out
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

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// gone tells whether process pid has ended (a zombie counts as ended).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return strings.HasPrefix(rest, "Z")
}

// exec --bind, stopped by each signal while its child runs: the child does
// not outlive argo-cred and no per-run Secret is left, SIGKILL included
// (the child dies by its parent-death signal, the guard deletes the
// Secret); a signal argo-cred can catch reaches the child, whose exit code
// comes back.
func TestIntegrationBindSignals(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	wantCode(t, run(t, env, "provision", "--client", "gha", "--namespace", ns), 0, "verified")
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			pidFile := filepath.Join(t.TempDir(), "pid")
			cmd := exec.Command(binary, "exec", "--service-account", "gha", "--namespace", ns, "--bind", "--",
				"sh", "-c", `echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec sleep 300`, pidFile)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
			var stderr syncBuffer
			cmd.Stderr = &stderr
			must(t, cmd.Start())
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var pid int
			testenv.Eventually(t, 30*time.Second, "the child started", func() bool {
				b, err := os.ReadFile(pidFile)
				if err == nil {
					pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
				}
				return pid > 0
			})
			must(t, cmd.Process.Signal(sig))
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("argo-cred did not end within 30s of %s; stderr %q", sig, stderr.String())
			}
			if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); sig != syscall.SIGKILL && ws.ExitStatus() != 128+int(sig) {
				t.Errorf("exit %d; want %d, the child's death by %s", ws.ExitStatus(), 128+int(sig), sig)
			}
			testenv.Eventually(t, 10*time.Second, "the child ended", func() bool { return gone(pid) })
			testenv.Eventually(t, 30*time.Second, "no per-run Secret left", func() bool {
				l, err := s.Client.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "argo-cred/binding"})
				// Other subtests' Secrets may be there: this run's is the one
				// its stderr names.
				return err == nil && !slices.ContainsFunc(l.Items, func(sec corev1.Secret) bool { return strings.Contains(stderr.String(), sec.Name) })
			})
			t.Logf("%s: stderr:\n%s", sig, stderr.String())
			want := "revoked: deleted secret " + ns + "/gha-run-"
			if sig == syscall.SIGKILL {
				want = "argo-cred guard: argo-cred ended without cleaning up: revoked: deleted secret " + ns + "/gha-run-"
			}
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
			}
		})
	}
}
