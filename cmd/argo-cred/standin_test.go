package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
)

// The stack's stand-in workflow controller (test/stack/controller) runs a
// workflow annotated argo-cred.test/duration for that long, so argo submit
// --wait waits for real: exit 0 when it succeeds, 1 when the annotation
// argo-cred.test/outcome fails it. Every other workflow is left alone.
func TestIntegrationStandInController(t *testing.T) {
	t.Parallel()
	f := setup(t, []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"get", "list", "watch", "create"}}})
	env := append(f.plain(), "ARGO_TOKEN="+f.token, "ARGO_NAMESPACE="+f.ns)
	write := func(name, annotations string) string {
		p := filepath.Join(t.TempDir(), name+".yaml")
		wf := "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: " + name + "-, annotations: {" + annotations + "}}\n" +
			"spec: {entrypoint: main, templates: [{name: main, container: {image: busybox}}]}\n"
		must(t, os.WriteFile(p, []byte(wf), 0o600))
		return p
	}
	argo := func(args ...string) result {
		return run(t, env, append([]string{"exec", "--expect", "allow:workflows/create", "--", f.s.ArgoBin}, args...)...)
	}
	// One the stand-in must not touch, submitted first.
	r := argo("submit", "-n", f.ns, write("other", ""))
	name := regexp.MustCompile(`(?m)^Name:\s+(\S+)`).FindStringSubmatch(r.stdout)
	if r.code != 0 || name == nil {
		t.Fatalf("submit: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for outcome, want := range map[string]struct {
		code  int
		phase string
	}{"": {0, "Succeeded"}, "Failed": {1, "Failed"}} {
		start := time.Now()
		annotations := "argo-cred.test/duration: 3s"
		if outcome != "" {
			annotations += ", argo-cred.test/outcome: " + outcome
		}
		r := argo("submit", "--wait", "-n", f.ns, write("standin", annotations))
		took := time.Since(start)
		if r.code != want.code || !strings.Contains(r.stdout, " "+want.phase+" at ") || took < 3*time.Second {
			t.Errorf("submit --wait of a workflow that ends %s after 3s: exit %d after %s; want exit %d after at least 3s\n%s\n%s",
				want.phase, r.code, took.Round(time.Millisecond), want.code, r.stdout, r.stderr)
		}
	}
	r = argo("get", "-n", f.ns, "-o", "json", name[1])
	var wf struct {
		Status struct{ Phase string } `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &wf); r.code != 0 || err != nil || wf.Status.Phase != "" {
		t.Errorf("the workflow without the annotation: exit %d, %v, phase %q; want it untouched (no phase)\n%s", r.code, err, wf.Status.Phase, r.stderr)
	}
}
