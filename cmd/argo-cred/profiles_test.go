package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	// The probe checks every verb --for needs: the Argo API what it can,
	// the cluster the rest (a SelfSubjectAccessReview with the job's token,
	// sent to the API server the token was read from).
	r = run(t, env, "probe", "--client", "ci", "--namespace", ns, "--for", "submit,wait,logs")
	wantCode(t, r, 0, "verdict: ok\n")
	for _, row := range []string{"workflows/create", "workflows/get", "workflows/watch", "workflowtemplates/list", "pods/list", "pods/watch", "pods/log/get"} {
		if !strings.Contains(r.stderr, "\n"+row+" ") {
			t.Errorf("probe --for submit,wait,logs: no row %s\n%s", row, r.stderr)
		}
	}
	if strings.Count(r.stderr, "k8s SSAR") != 3 || strings.Contains(r.stderr, "not checked") {
		t.Errorf("probe --for submit,wait,logs: want the three pod rows checked by the cluster, none unchecked\n%s", r.stderr)
	}
	r = run(t, env, "probe", "--client", "ci", "--namespace", ns, "--for", "read")
	if r.code != 6 || !strings.Contains(r.stderr, "workflows/list: expected allowed, got denied") ||
		!strings.Contains(r.stderr, "argo-cred provision --client ci --namespace "+ns+" --for read") {
		t.Errorf("probe --for read of a client provisioned for submit,wait,logs: exit %d; want 6 naming workflows/list and the provision command that fixes it\n%s", r.code, r.stderr)
	}
	// A token from a file, and no kubeconfig named for the run: the pod
	// verbs are not checked (a warning, exit 0), or a failure with --strict.
	tokFile := filepath.Join(t.TempDir(), "token")
	cur, err := s.Client.CoreV1().Secrets(ns).Get(context.Background(), "ci-token-current", metav1.GetOptions{})
	must(t, err)
	must(t, os.WriteFile(tokFile, cur.Data["token"], 0o600))
	fileEnv := []string{"ARGO_SERVER=" + s.ArgoServer, "ARGO_SECURE=false", "KUBECONFIG=" + s.Kubeconfig}
	r = run(t, fileEnv, "probe", "--token-file", tokFile, "--namespace", ns, "--for", "logs")
	wantCode(t, r, 0, "warning: not checked: pods/list, pods/watch, pods/log/get: the Argo API cannot probe them without side effects and no kubeconfig was named")
	if !strings.Contains(r.stderr, "verdict: ok, but not checked: pods/list, pods/watch, pods/log/get") || strings.Count(r.stderr, "WARN") != 3 {
		t.Errorf("probe --token-file --for logs: want three WARN rows and the verdict naming them\n%s", r.stderr)
	}
	r = run(t, fileEnv, "probe", "--token-file", tokFile, "--namespace", ns, "--for", "logs", "--strict")
	wantCode(t, r, 6, "pods/list: expected allowed, not checked (--strict)")
	// Named for the run, the kubeconfig's cluster is asked.
	r = run(t, fileEnv, "probe", "--token-file", tokFile, "--namespace", ns, "--for", "logs", "--strict", "--kubeconfig", s.Kubeconfig)
	wantCode(t, r, 0, "verdict: ok\n")
	// One verb less than the profile: the cluster says so (exit 6, naming
	// it), and argo logs fails too.
	role, err = s.Client.RbacV1().Roles(ns).Get(context.Background(), "ci", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	role.Rules = role.Rules[:len(role.Rules)-1] // pods/log get
	if _, err := s.Client.RbacV1().Roles(ns).Update(context.Background(), role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r = run(t, env, "probe", "--client", "ci", "--namespace", ns, "--for", "logs")
	if r.code != 6 || !strings.Contains(r.stderr, "pods/log/get: expected allowed, got denied") ||
		!strings.Contains(r.stderr, "argo-cred provision --client ci --namespace "+ns+" --for logs") {
		t.Errorf("probe --for logs without pods/log get: exit %d; want 6 naming pods/log/get and the provision command\n%s", r.code, r.stderr)
	}
	// Again with one profile less: the Role loses what only it needed, and
	// provision says what (the pods/log rule removed by hand above was
	// provision's: nothing of it is kept).
	r = run(t, env, "provision", "--client", "ci", "--namespace", ns, "--for", "submit")
	wantCode(t, r, 0, "verified")
	for _, want := range []string{"role/ci: takes away argoproj.io workflows get,watch\n", "role/ci: takes away core pods list,watch\n", "role/ci changed"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("provision --for submit after submit,wait,logs: stderr lacks %q\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "kept") || strings.Contains(r.stderr, ": grants ") {
		t.Errorf("provision --for submit kept or granted something:\n%s", r.stderr)
	}
	// An --expect of a profile's own check replaces it, with a note, on
	// every Argo version: here a deny of what submit needs fails (exit 7).
	r = run(t, env, "probe", "--client", "ci", "--namespace", ns, "--for", "submit", "--expect", "deny:workflows/create")
	wantCode(t, r, 7, "workflows/create: expected denied, got allowed")
	if !strings.Contains(r.stderr, "note: --expect replaces") || strings.Contains(r.stderr, "also needs") {
		t.Errorf("probe --for submit --expect deny:workflows/create: want the replacement's note and no version note\n%s", r.stderr)
	}
	role, err = s.Client.RbacV1().Roles(ns).Get(context.Background(), "ci", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[:1], role.Rules); len(role.Rules) != 1 || !cmp.Equal(role.Rules[0].Verbs, []string{"create"}) {
		t.Errorf("role rules of --for submit: %v (%s); want workflows create only", role.Rules, diff)
	}
}

// The probe knows the server's version from its answers and checks the
// profiles as measured on that minor: on v3.6 submit-from also needs get
// on workflow templates. A client provisioned with the v3.7 table fails
// there (in the job's probe, and in provision's own check against v3.6)
// with the command that fixes it; fixed, argo v3.6's submit --from runs
// through exec.
func TestIntegrationProbeForV36(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	server36, argo36 := s.ArgoV36(t)
	ns := s.Namespace(t)
	env := lifecycleEnv(s)
	env36 := append(slices.Clone(env), "ARGO_SERVER="+server36)
	wantCode(t, run(t, env, "provision", "--client", "sf", "--namespace", ns, "--for", "submit-from"), 0, "verified")
	r := run(t, env36, "probe", "--client", "sf", "--namespace", ns, "--for", "submit-from")
	wantCode(t, r, 6, "workflowtemplates/get: expected allowed, got denied")
	for _, want := range []string{"note: the Argo Server is v3.6.18: as measured on v3.6.18, --for submit-from also needs workflowtemplates/get",
		"argo-cred provision --client sf --namespace " + ns + " --for submit-from --allow workflowtemplates:get"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("probe --for submit-from on v3.6: stderr lacks %q\n%s", want, r.stderr)
		}
	}
	// The user's own --expect of that check wins, with a note.
	r = run(t, env36, "probe", "--client", "sf", "--namespace", ns, "--for", "submit-from", "--expect", "deny:workflowtemplates/get")
	wantCode(t, r, 0, "note: the Argo Server is v3.6.18: as measured on v3.6.18, --for submit-from also needs workflowtemplates/get, which --expect denies")
	// The same client on v3.7 passes: that table needs no template.
	wantCode(t, run(t, env, "probe", "--client", "sf", "--namespace", ns, "--for", "submit-from"), 0, "verdict: ok\n")

	// provision's own check knows the server's version too: against v3.6
	// the v3.7 table fails there, not in the job, with the same command.
	r = run(t, env36, "provision", "--client", "sf", "--namespace", ns, "--for", "submit-from")
	wantCode(t, r, 6, "workflowtemplates/get: expected allowed, got denied")
	if want := "argo-cred provision --client sf --namespace " + ns + " --for submit-from --allow workflowtemplates:get"; !strings.Contains(r.stderr, want) {
		t.Errorf("provision --for submit-from on v3.6: stderr lacks %q\n%s", want, r.stderr)
	}
	wantCode(t, run(t, env36, "provision", "--client", "sf", "--namespace", ns, "--for", "submit-from", "--allow", "workflowtemplates:get"), 0, "verified")
	wantCode(t, run(t, env36, "probe", "--client", "sf", "--namespace", ns, "--for", "submit-from"), 0, "verdict: ok\n")
	wft := filepath.Join(t.TempDir(), "wft.yaml")
	must(t, os.WriteFile(wft, []byte("apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: tpl}\n"+
		"spec: {entrypoint: main, templates: [{name: main, container: {image: busybox}}]}\n"), 0o600))
	admin := exec.Command(argo36, "template", "create", "-n", ns, wft)
	admin.Env = append(os.Environ(), "ARGO_SERVER="+server36, "ARGO_SECURE=false", "ARGO_TOKEN=Bearer "+s.ServiceAccount(t, ns, "setup",
		rbacv1.PolicyRule{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflowtemplates"}, Verbs: []string{"create"}}))
	if out, err := admin.CombinedOutput(); err != nil {
		t.Fatalf("argo template create: %v\n%s", err, out)
	}
	r = run(t, env36, "exec", "--client", "sf", "--namespace", ns, "--for", "submit-from", "--", argo36, "submit", "-n", ns, "--from", "workflowtemplate/tpl")
	if r.code != 0 || !strings.Contains(r.stdout, "Name:") {
		t.Errorf("argo v3.6 submit --from with submit-from and workflowtemplates:get: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
