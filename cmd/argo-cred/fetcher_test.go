package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// asKubeconfig is a clientset that uses the kubeconfig at path.
func asKubeconfig(t *testing.T, path string) *kubernetes.Clientset {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	must(t, err)
	cs, err := kubernetes.NewForConfig(cfg)
	must(t, err)
	return cs
}

// wantForbidden checks that each request is refused with 403.
func wantForbidden(t *testing.T, tries map[string]func() error) {
	t.Helper()
	for name, try := range tries {
		if err := try(); !apierrors.IsForbidden(err) {
			t.Errorf("%s: got %v; want 403 Forbidden", name, err)
		}
	}
}

// fetcherRefusals are what a fetcher of client in ns must be refused: another
// client's Secret, its own client's token Secret, listing Secrets, listing
// workflows, and a token of another ServiceAccount.
func fetcherRefusals(ctx context.Context, as *kubernetes.Clientset, ns, client, other string) map[string]func() error {
	return map[string]func() error{
		"another client's current token": func() error {
			_, err := as.CoreV1().Secrets(ns).Get(ctx, other+"-token-current", metav1.GetOptions{})
			return err
		},
		"listing secrets": func() error {
			_, err := as.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
			return err
		},
		"listing workflows": func() error {
			return as.CoreV1().RESTClient().Get().AbsPath("/apis/argoproj.io/v1alpha1/namespaces/" + ns + "/workflows").Do(ctx).Error()
		},
		"a token of another client": func() error {
			_, err := as.CoreV1().ServiceAccounts(ns).CreateToken(ctx, other, &authv1.TokenRequest{}, metav1.CreateOptions{})
			return err
		},
		"a role": func() error {
			_, err := as.RbacV1().Roles(ns).Get(ctx, client, metav1.GetOptions{})
			return err
		},
	}
}

// The Secret model: provision --kubeconfig-out makes the client's fetcher
// and writes its kubeconfig (0600); with it a job gets its client's current
// token (env --client) and nothing else; provisioning again keeps it;
// revoke --purge removes it and says so.
func TestIntegrationFetcherSecret(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	env := lifecycleEnv(s)
	wantCode(t, run(t, env, "provision", "--client", "other", "--namespace", ns), 0, "verified")
	kc := filepath.Join(t.TempDir(), "fetcher.kubeconfig")
	args := []string{"provision", "--client", "ci", "--namespace", ns, "--kubeconfig-out", kc}
	r := run(t, env, args...)
	wantCode(t, r, 0, "store the fetcher's kubeconfig "+kc)
	for _, want := range []string{"role/ci-fetcher created", "serviceaccount/ci-fetcher created", "rolebinding/ci-fetcher created", "secret/ci-fetcher-token-",
		"provision: wrote the kubeconfig of fetcher " + ns + "/ci-fetcher (secret model) to " + kc, "keyless OIDC"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	st, err := os.Stat(kc)
	must(t, err)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode %v; want 0600", st.Mode().Perm())
	}
	role, err := s.Client.RbacV1().Roles(ns).Get(ctx, "ci-fetcher", metav1.GetOptions{})
	must(t, err)
	want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"ci-token-current"}, Verbs: []string{"get"}}}
	if len(role.Rules) != 1 || role.Rules[0].String() != want[0].String() {
		t.Errorf("fetcher role rules %v; want %v", role.Rules, want)
	}
	_, tok := copied(t, s, ns, "ci")
	fl, err := s.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: "argo-cred/fetcher"})
	must(t, err)
	fetcherTok := string(fl.Items[0].Data["token"])
	if strings.Contains(r.stderr, tok) || strings.Contains(r.stderr, fetcherTok) || fetcherTok == "" {
		t.Errorf("a token on stderr (or no fetcher token):\n%s", r.stderr)
	}

	fenv := []string{"KUBECONFIG=" + kc, "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false"}
	if got := clientToken(t, fenv, ns, "ci"); got != tok {
		t.Errorf("env --client ci with the fetcher's kubeconfig exported another token")
	}
	wantCode(t, run(t, fenv, "env", "--client", "other", "--namespace", ns), 3, "forbidden")
	wantForbidden(t, fetcherRefusals(ctx, asKubeconfig(t, kc), ns, "ci", "other"))

	// Again: nothing changes, and the kubeconfig written again is as good.
	r = run(t, env, args...)
	wantCode(t, r, 0, "secret/ci-fetcher-token-")
	if strings.Contains(r.stderr, " created") || strings.Contains(r.stderr, " changed") {
		t.Errorf("provisioning again changed something:\n%s", r.stderr)
	}
	if got := clientToken(t, fenv, ns, "ci"); got != tok {
		t.Errorf("env --client ci after provisioning again exported another token")
	}

	r = run(t, env, "revoke", "--client", "ci", "--namespace", ns, "--purge")
	wantCode(t, r, 0, "revoke: deleted the fetcher of client ci: secret/ci-fetcher-token-")
	if !strings.Contains(r.stderr, "rolebinding/ci-fetcher, role/ci-fetcher, serviceaccount/ci-fetcher") {
		t.Errorf("revoke --purge does not list the fetcher's objects:\n%s", r.stderr)
	}
	if l, err := s.Client.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{LabelSelector: "argo-cred/client=ci"}); err != nil || len(l.Items) != 0 {
		t.Errorf("after revoke --purge, service accounts of ci remain: %v %v", err, l)
	}
	if l, err := s.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: "argo-cred/client=ci"}); err != nil || len(l.Items) != 0 {
		t.Errorf("after revoke --purge, secrets of ci remain: %v %v", err, l)
	}
}

// The TokenRequest model: the fetcher may request tokens of its client's
// ServiceAccount only; --bind is refused with a hint saying why.
func TestIntegrationFetcherTokenRequest(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	env := lifecycleEnv(s)
	wantCode(t, run(t, env, "provision", "--client", "other", "--namespace", ns), 0, "verified")
	kc := filepath.Join(t.TempDir(), "fetcher.kubeconfig")
	r := run(t, env, "provision", "--client", "tr", "--namespace", ns, "--kubeconfig-out", kc, "--fetcher", "tokenrequest")
	wantCode(t, r, 0, "--source tokenrequest --service-account tr")
	fenv := []string{"KUBECONFIG=" + kc, "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false"}
	r = run(t, fenv, "env", "--source", "tokenrequest", "--service-account", "tr", "--namespace", ns, "--probe", "--format", "json")
	wantCode(t, r, 0, "")
	if !strings.Contains(r.stdout, `"ARGO_TOKEN": "Bearer `) {
		t.Errorf("env --source tokenrequest: no token exported:\n%s", r.stdout)
	}
	wantCode(t, run(t, fenv, "env", "--client", "tr", "--namespace", ns), 3, "forbidden")
	wantCode(t, run(t, fenv, "env", "--source", "tokenrequest", "--service-account", "tr", "--namespace", ns, "--bind"), 6, "a fetcher's kubeconfig")
	refusals := fetcherRefusals(ctx, asKubeconfig(t, kc), ns, "tr", "other")
	refusals["its client's current token"] = func() error {
		_, err := asKubeconfig(t, kc).CoreV1().Secrets(ns).Get(ctx, "tr-token-current", metav1.GetOptions{})
		return err
	}
	wantForbidden(t, refusals)
	wantCode(t, run(t, env, "provision", "--client", "x", "--namespace", ns, "--fetcher", "tokenrequest"), 2, "--fetcher goes with --kubeconfig-out")
	wantCode(t, run(t, env, "provision", "--client", "x", "--namespace", ns, "--kubeconfig-out", kc, "--fetcher", "bind"), 2, `unknown --fetcher "bind"`)
}

// Re-provisioning keeps a rule added to the client's Role by hand, with a
// warning, and drops a verb it had granted itself.
func TestIntegrationProvisionKeepsHandRules(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	env := lifecycleEnv(s)
	wantCode(t, run(t, env, "provision", "--client", "ci", "--namespace", ns, "--allow", "workflows:list,update,get"), 0, "verified")
	role, err := s.Client.RbacV1().Roles(ns).Get(ctx, "ci", metav1.GetOptions{})
	must(t, err)
	pods := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}
	role.Rules = append(role.Rules, pods)
	_, err = s.Client.RbacV1().Roles(ns).Update(ctx, role, metav1.UpdateOptions{})
	must(t, err)
	r := run(t, env, "provision", "--client", "ci", "--namespace", ns)
	wantCode(t, r, 0, "warning: role/ci has a rule provision did not add, kept: core pods get")
	role, err = s.Client.RbacV1().Roles(ns).Get(ctx, "ci", metav1.GetOptions{})
	must(t, err)
	ours := rbacv1.PolicyRule{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"list", "update"}}
	want := []string{ours.String(), pods.String()}
	var got []string
	for _, rule := range role.Rules {
		got = append(got, rule.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("role rules after re-provisioning:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(r.stderr, "role/ci: takes away argoproj.io workflows get\n") {
		t.Errorf("re-provisioning does not say what it takes away:\n%s", r.stderr)
	}
	// clients shows the rule (the probe cannot see it), with a warning.
	r = run(t, env, "clients", "--namespace", ns)
	wantCode(t, r, 0, "warning: role/ci has rules provision did not add, which no check covers: core pods get")
	if !strings.Contains(r.stdout, "workflows:list,update +by hand: core pods get") {
		t.Errorf("clients does not list the rule added by hand:\n%s", r.stdout)
	}
	r = run(t, env, "clients", "--namespace", ns, "--output", "json")
	var rows []struct{ HandRules []string }
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 1 || !slices.Equal(rows[0].HandRules, []string{"core pods get"}) {
		t.Errorf("clients --output json lacks handRules:\n%s", r.stdout)
	}
	// A verb added by hand to provision's own rule is the hand's, alone
	// (a narrowed rule is provision's: TestIntegrationProvisionFor); when
	// it is too much access, the hint says to delete it, not to provision
	// again (which keeps it).
	role, err = s.Client.RbacV1().Roles(ns).Get(ctx, "ci", metav1.GetOptions{})
	must(t, err)
	role.Rules[0].Verbs = []string{"delete", "list", "update"}
	_, err = s.Client.RbacV1().Roles(ns).Update(ctx, role, metav1.UpdateOptions{})
	must(t, err)
	r = run(t, env, "provision", "--client", "ci", "--namespace", ns, "--for", "submit")
	wantCode(t, r, 0, "warning: role/ci has a rule provision did not add, kept: argoproj.io workflows delete")
	for _, want := range []string{"role/ci: grants argoproj.io workflows create\n", "role/ci: takes away argoproj.io workflows list,update\n"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("provision --for submit: stderr lacks %q\n%s", want, r.stderr)
		}
	}
	role, err = s.Client.RbacV1().Roles(ns).Get(ctx, "ci", metav1.GetOptions{})
	must(t, err)
	role.Rules = append(role.Rules, rbacv1.PolicyRule{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflowtemplates"}, Verbs: []string{"list"}})
	_, err = s.Client.RbacV1().Roles(ns).Update(ctx, role, metav1.UpdateOptions{})
	must(t, err)
	r = run(t, env, "provision", "--client", "ci", "--namespace", ns, "--for", "submit")
	wantCode(t, r, 7, "workflowtemplates/list: expected denied, got allowed")
	if !strings.Contains(r.stderr, "; role/ci has rules provision did not add and keeps (") || !strings.Contains(r.stderr, "delete them by hand (kubectl edit role ci -n "+ns+")") {
		t.Errorf("provision with a hand rule that is too much access: want the hint to delete it by hand\n%s", r.stderr)
	}
}

// --fetcher-server and --fetcher-ca: the fetcher's kubeconfig names the
// server and holds the CA given, not the provisioner's, and works (CI may
// reach the API server at another address, through another CA; here the
// same API server, as 127.0.0.1 with a trailing slash, and a bundle of the
// stack's CA and a throwaway one); provision itself still talks to its
// own cluster (an unreachable --fetcher-server changes nothing else); an
// http:// or garbage URL, or a CA file with no certificate, is refused with
// exit 2 before anything is made.
func TestIntegrationFetcherServerCA(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	env := lifecycleEnv(s)
	own, err := clientcmd.LoadFromFile(s.Kubeconfig)
	must(t, err)
	ownCluster := own.Clusters[own.Contexts[own.CurrentContext].Cluster]
	ownServer, ownCA := ownCluster.Server, ownCluster.CertificateAuthorityData
	if len(ownCA) == 0 {
		ownCA, err = os.ReadFile(ownCluster.CertificateAuthority)
		must(t, err)
	}
	server := strings.TrimSuffix(ownServer, "/") + "/"
	stackCA, err := os.ReadFile(s.CAFile)
	must(t, err)
	bundle := filepath.Join(t.TempDir(), "ca-bundle.pem")
	must(t, os.WriteFile(bundle, append(append(selfSignedPEM(t), '\n'), stackCA...), 0o644))
	wantCode(t, run(t, env, "provision", "--client", "other", "--namespace", ns), 0, "verified")

	// Refused before anything is made: exit 2, one line.
	kc := filepath.Join(t.TempDir(), "fetcher.kubeconfig")
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	must(t, os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644))
	for _, tc := range []struct{ flag, value, want string }{
		{"--fetcher-server", "http://127.0.0.1:26443", "is plain http"},
		{"--fetcher-server", "127.0.0.1:26443", "is not an https://HOST[:PORT][/PATH] URL"},
		{"--fetcher-server", "https://bad host", "is not an https://HOST[:PORT][/PATH] URL"},
		{"--fetcher-ca", notPEM, "no certificates in --fetcher-ca file"},
	} {
		r := run(t, env, "provision", "--client", "ci", "--namespace", ns, "--kubeconfig-out", kc, tc.flag, tc.value)
		wantCode(t, r, 2, tc.want)
		if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
			t.Errorf("%s %s: want one line on stderr, got %d more:\n%s", tc.flag, tc.value, n, r.stderr)
		}
	}
	if _, err := s.Client.CoreV1().ServiceAccounts(ns).Get(ctx, "ci", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a refused provision made serviceaccount ci: %v", err)
	}
	if _, err := os.Stat(kc); err == nil {
		t.Errorf("a refused provision wrote %s", kc)
	}

	r := run(t, env, "provision", "--client", "ci", "--namespace", ns, "--kubeconfig-out", kc, "--fetcher-server", server, "--fetcher-ca", bundle)
	wantCode(t, r, 0, "store the fetcher's kubeconfig "+kc)
	cfg, err := clientcmd.LoadFromFile(kc)
	must(t, err)
	cluster := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]
	if cluster.Server != server || cluster.Server == ownServer {
		t.Errorf("the fetcher's kubeconfig names server %q; want %q (the provisioner's is %q)", cluster.Server, server, ownServer)
	}
	want, _ := os.ReadFile(bundle)
	if string(cluster.CertificateAuthorityData) != string(want) {
		t.Errorf("the fetcher's kubeconfig does not hold --fetcher-ca's certificates:\n%s", cluster.CertificateAuthorityData)
	}
	_, tok := copied(t, s, ns, "ci")
	fenv := []string{"KUBECONFIG=" + kc, "ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false"}
	if got := clientToken(t, fenv, ns, "ci"); got != tok {
		t.Errorf("env --client ci with the fetcher's kubeconfig exported another token")
	}
	wantForbidden(t, fetcherRefusals(ctx, asKubeconfig(t, kc), ns, "ci", "other"))

	// Only the kubeconfig: a server provision could not reach changes
	// nothing it does (it is written, not dialled).
	kc2 := filepath.Join(t.TempDir(), "fetcher2.kubeconfig")
	wantCode(t, run(t, env, "provision", "--client", "ci2", "--namespace", ns, "--kubeconfig-out", kc2, "--fetcher", "tokenrequest",
		"--fetcher-server", "https://127.0.0.1:1"), 0, "(tokenrequest model)")
	cfg, err = clientcmd.LoadFromFile(kc2)
	must(t, err)
	if got := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]; got.Server != "https://127.0.0.1:1" || string(got.CertificateAuthorityData) != string(ownCA) {
		t.Errorf("with --fetcher-server alone: server %q (want https://127.0.0.1:1), CA the provisioner's: %t", got.Server, string(got.CertificateAuthorityData) == string(ownCA))
	}
}

// A client cannot be named as another client's fetcher, and a fetcher
// never takes over another client's objects (an older client of such a
// name), --adopt or not: its token would read the other client's.
func TestIntegrationFetcherNameClash(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	env := lifecycleEnv(s)
	wantCode(t, run(t, env, "provision", "--client", "ci-fetcher", "--namespace", ns, "--for", "submit"), 2,
		`error: invalid --client "ci-fetcher": the name of client ci's fetcher (provision --kubeconfig-out)`)
	old := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "ci-fetcher", Namespace: ns,
		Labels: map[string]string{"app.kubernetes.io/managed-by": "argo-cred", "argo-cred/client": "ci-fetcher"}},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"create"}}}}
	_, err := s.Client.RbacV1().Roles(ns).Create(ctx, old, metav1.CreateOptions{})
	must(t, err)
	kc := filepath.Join(t.TempDir(), "fetcher.kubeconfig")
	r := run(t, env, "provision", "--client", "ci", "--namespace", ns, "--for", "submit", "--kubeconfig-out", kc, "--adopt")
	wantCode(t, r, 2, "error: role "+ns+"/ci-fetcher belongs to argo-cred client ci-fetcher")
	if strings.Contains(r.stderr, "--adopt to take it over") {
		t.Errorf("the refusal offers --adopt:\n%s", r.stderr)
	}
	role, err := s.Client.RbacV1().Roles(ns).Get(ctx, "ci-fetcher", metav1.GetOptions{})
	must(t, err)
	if role.Labels["argo-cred/client"] != "ci-fetcher" || len(role.Rules) != 1 || role.Rules[0].Resources[0] != "workflows" {
		t.Errorf("the other client's role changed: %v %v", role.Labels, role.Rules)
	}
	if _, err := os.Stat(kc); err == nil {
		t.Errorf("a kubeconfig was written")
	}
	// A client oidc-config --apply made binds a CI job's user: provision
	// of its name does not swap that for a ServiceAccount with a token.
	labels := map[string]string{"app.kubernetes.io/managed-by": "argo-cred", "argo-cred/client": "gha-org-app"}
	_, err = s.Client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "gha-org-app", Namespace: ns, Labels: labels},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "gha-org-app"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "github:repo:org/app:ref:refs/heads/main"}}}, metav1.CreateOptions{})
	must(t, err)
	wantCode(t, run(t, env, "provision", "--client", "gha-org-app", "--namespace", ns, "--for", "submit"), 2,
		`error: client gha-org-app binds the user "github:repo:org/app:ref:refs/heads/main" (oidc-config), not a ServiceAccount`)
	rb, err := s.Client.RbacV1().RoleBindings(ns).Get(ctx, "gha-org-app", metav1.GetOptions{})
	must(t, err)
	if len(rb.Subjects) != 1 || rb.Subjects[0].Kind != "User" {
		t.Errorf("the keyless client's binding changed: %v", rb.Subjects)
	}
}
