package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// The Role and RoleBinding oidc-config applies are a managed identity:
// clients lists it with the user it binds (no ServiceAccount, no Secret);
// rotate refuses it (there is no token to rotate); revoke without --purge
// deletes nothing of it and says how to end its access; revoke --purge
// deletes exactly its RoleBinding and Role and says only that, also for a
// name longer than provision allows. An identity that may not list Roles
// (a provisioner of the RBAC before) still lists the others, warned.
func TestIntegrationOIDCClients(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	ctx := context.Background()
	env := lifecycleEnv(s)
	wantCode(t, run(t, env, "provision", "--client", "ci", "--namespace", ns), 0, "verified")
	if r := run(t, []string{"KUBECONFIG=" + s.Kubeconfig}, append(oidcConfigArgs(s, ns), "--apply")...); r.code != 0 {
		t.Fatalf("oidc-config --apply: exit %d\n%s", r.code, r.stderr)
	}
	user := stackUser(s)
	name := bindingName("argo-cred-test/app", user)

	// clients: both, each with whom it binds.
	r := run(t, env, "clients", "--namespace", ns)
	wantCode(t, r, 0, "")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[0], "SUBJECT") ||
		!strings.HasPrefix(lines[1], "ci ") || !strings.HasSuffix(lines[1], " serviceaccount/ci") ||
		!strings.HasPrefix(lines[2], name+" ") || !strings.Contains(lines[2], " workflows:create,list ") || !strings.HasSuffix(lines[2], " user/"+user) {
		t.Errorf("clients:\n%s", r.stdout)
	}
	r = run(t, env, "clients", "--namespace", ns, "--client", name, "-o", "json")
	var rows []struct {
		Client   string
		Grants   []string
		Subjects []struct{ Kind, Name, Namespace string }
		Secrets  []any
	}
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || r.code != 0 {
		t.Fatalf("clients -o json: exit %d, %v\n%s", r.code, err, r.stdout)
	}
	want := []struct {
		Client   string
		Grants   []string
		Subjects []struct{ Kind, Name, Namespace string }
		Secrets  []any
	}{{Client: name, Grants: []string{"workflows:create,list"}, Subjects: []struct{ Kind, Name, Namespace string }{{Kind: "User", Name: user}}}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("clients --client %s -o json (-want +got):\n%s", name, diff)
	}

	// rotate: nothing to rotate.
	wantCode(t, run(t, env, "rotate", "--client", name, "--namespace", ns), 2, "client "+name+` binds the user "`+user+`" (oidc-config), not a ServiceAccount`)
	// revoke without --purge: deletes nothing, says how.
	r = run(t, env, "revoke", "--client", name, "--namespace", ns)
	wantCode(t, r, 0, "revoke: client "+name+" has no token secret in "+ns)
	if !strings.Contains(r.stderr, "--purge deletes its role and rolebinding") || strings.Contains(r.stderr, "deleted") {
		t.Errorf("revoke without --purge:\n%s", r.stderr)
	}
	if _, err := s.Client.RbacV1().RoleBindings(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
		t.Errorf("revoke without --purge: rolebinding %s: %v", name, err)
	}

	// An identity with the provisioner's RBAC of before (no list on
	// roles): the ServiceAccount clients, and a warning.
	old := serviceAccountKubeconfig(t, s, ns, "old-provisioner", []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "rolebindings"}, Verbs: []string{"get"}},
	})
	r = run(t, []string{"KUBECONFIG=" + old}, "clients", "--namespace", ns)
	wantCode(t, r, 0, "warning: may not list roles in "+ns+", so clients oidc-config made are not shown: re-apply argo-cred provision --print-rbac")
	if !strings.Contains(r.stdout, "serviceaccount/ci") || strings.Contains(r.stdout, name) {
		t.Errorf("clients with the old RBAC:\n%s", r.stdout)
	}

	// revoke --purge: exactly the rolebinding and the role.
	r = run(t, env, "revoke", "--client", name, "--namespace", ns, "--purge")
	wantCode(t, r, 0, "revoke: deleted the rolebinding and role "+name+"\n")
	if strings.Contains(r.stderr, "serviceaccount") || strings.Contains(r.stderr, "secret(s)") {
		t.Errorf("revoke --purge says it deleted what was not there:\n%s", r.stderr)
	}
	if _, err := s.Client.RbacV1().Roles(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("role %s after --purge: %v", name, err)
	}
	if _, err := s.Client.RbacV1().RoleBindings(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("rolebinding %s after --purge: %v", name, err)
	}
	r = run(t, env, "clients", "--namespace", ns)
	if r.code != 0 || strings.Contains(r.stdout, name) || !strings.Contains(r.stdout, "serviceaccount/ci") {
		t.Errorf("clients after --purge: exit %d\n%s", r.code, r.stdout)
	}
	// Revoked and purged, the client is gone: revoking it again is an error
	// (as for a name that never existed), not a silent success.
	wantCode(t, run(t, env, "revoke", "--client", name, "--namespace", ns, "--purge"), 2,
		"error: client "+name+" does not exist in namespace "+ns+"; argo-cred clients --namespace "+ns+" lists its clients")

	// A repository whose name gives a binding name of more than 40
	// characters, provision's limit.
	long := "argo-cred-test/" + strings.Repeat("l", 40)
	longUser := "gha:repo:" + long + ":ref:refs/heads/main:repository_id:4242"
	longName := bindingName(long, longUser)
	if len(longName) <= 40 {
		t.Fatalf("%s: want a name over 40 characters", longName)
	}
	if r := run(t, []string{"KUBECONFIG=" + s.Kubeconfig}, "oidc-config", "--github-repo", long, "--namespace", ns,
		"--github-owner-id", s.OIDCOwnerID, "--github-repo-id", "4242", "--apply"); r.code != 0 {
		t.Fatalf("oidc-config --apply %s: exit %d\n%s", long, r.code, r.stderr)
	}
	if r := run(t, env, "clients", "--namespace", ns, "--client", longName); r.code != 0 || !strings.Contains(r.stdout, "user/"+longUser) {
		t.Errorf("clients --client %s: exit %d\n%s%s", longName, r.code, r.stdout, r.stderr)
	}
	wantCode(t, run(t, env, "revoke", "--client", longName, "--namespace", ns, "--purge"), 0, "revoke: deleted the rolebinding and role "+longName)
	// provision still refuses such a name.
	wantCode(t, run(t, env, "provision", "--client", longName, "--namespace", ns), 2, "at most 40 characters")
}
