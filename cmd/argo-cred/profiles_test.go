package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// provision --for grants exactly the union of the profiles' rules (core
// pods and pods/log for logs, nothing on templates), and a job with those
// grants runs argo submit --wait.
func TestIntegrationProvisionFor(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	r := run(t, env, "provision", "--client", "ci", "--namespace", ns, "--for", "submit,wait", "--for", "logs")
	wantCode(t, r, 0, "verified")
	role, err := s.Client.RbacV1().Roles(ns).Get(context.Background(), "ci", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"create", "get", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
	}
	if diff := cmp.Diff(want, role.Rules); diff != "" {
		t.Errorf("role rules of --for submit,wait,logs (-want +got):\n%s", diff)
	}
	wf := filepath.Join(t.TempDir(), "wf.yaml")
	must(t, os.WriteFile(wf, []byte("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: p-, annotations: {argo-cred.test/duration: 1s}}\n"+
		"spec: {entrypoint: main, templates: [{name: main, container: {image: busybox}}]}\n"), 0o600))
	r = run(t, env, "exec", "--client", "ci", "--namespace", ns, "--for", "submit,wait", "--", s.ArgoBin, "submit", "--wait", "-n", ns, wf)
	if r.code != 0 || !strings.Contains(r.stdout, "Succeeded") {
		t.Errorf("argo submit --wait with --for submit,wait: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// The probe checks what --for needs and it can check, names the rest.
	r = run(t, env, "probe", "--client", "ci", "--namespace", ns, "--for", "submit,wait,logs")
	wantCode(t, r, 0, "not checked by the probe: pods/list, pods/watch, pods/log/get")
	if o := r.stdout + r.stderr; !strings.Contains(o, "workflows/create") || !strings.Contains(o, "workflows/get") || !strings.Contains(o, "workflows/watch") || !strings.Contains(o, "workflowtemplates/list") {
		t.Errorf("probe --for submit,wait,logs: want checks of workflows/create and the deny of workflowtemplates/list\n%s\n%s", r.stdout, r.stderr)
	}
	r = run(t, env, "probe", "--client", "ci", "--namespace", ns, "--for", "read")
	if r.code != 6 || !strings.Contains(r.stderr, "workflows/list: expected allowed, got denied") {
		t.Errorf("probe --for read of a client provisioned for submit,wait,logs: exit %d; want 6 naming workflows/list\n%s", r.code, r.stderr)
	}
	// Again with one profile less: the Role loses what only it needed.
	r = run(t, env, "provision", "--client", "ci", "--namespace", ns, "--for", "submit")
	wantCode(t, r, 0, "verified")
	role, err = s.Client.RbacV1().Roles(ns).Get(context.Background(), "ci", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[:1], role.Rules); len(role.Rules) != 1 || !cmp.Equal(role.Rules[0].Verbs, []string{"create"}) {
		t.Errorf("role rules of --for submit: %v (%s); want workflows create only", role.Rules, diff)
	}
}
