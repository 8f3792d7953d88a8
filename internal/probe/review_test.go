package probe

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

// A verb the Argo API cannot probe is asked of the cluster when a Reviewer
// is given, and is otherwise "not checked": never ok, a failure only with
// Strict. What the Reviewer is asked is the RBAC attribute of the row.
func TestReviewedAndNotChecked(t *testing.T) {
	srv, _ := fakeArgo(t, func(int) (int, string) { return 200, `{"items":[]}` })
	expect := []Expectation{{Allow: true, Resource: "workflows", Verb: "list"}, {Allow: true, Resource: "pods/log", Verb: "get"}, {Resource: "workflows", Verb: "delete"}}
	type row struct{ Name, Actual, Via string }
	allowLogs := func(_ context.Context, ns, group, resource, verb string) (bool, error) {
		return ns == "ci" && group == "" && resource == "pods/log" && verb == "get", nil
	}
	tests := map[string]struct {
		review   Reviewer
		strict   bool
		want     []row
		wantCode exitcode.Code
		wantErr  string
	}{
		"no reviewer": {want: []row{{"workflows/list", "allowed", ""}, {"pods/log/get", NotChecked, "none"}, {"workflows/delete", NotChecked, "none"}}},
		"no reviewer, strict": {strict: true, want: []row{{"workflows/list", "allowed", ""}, {"pods/log/get", NotChecked, "none"}, {"workflows/delete", NotChecked, "none"}},
			wantCode: exitcode.MissingAccess, wantErr: "pods/log/get: expected allowed, not checked (--strict)"},
		"reviewed": {review: allowLogs,
			want: []row{{"workflows/list", "allowed", ""}, {"pods/log/get", "allowed", "selfsubjectaccessreview"}, {"workflows/delete", "denied", "selfsubjectaccessreview"}}},
		"reviewed, denied": {review: func(context.Context, string, string, string, string) (bool, error) { return false, nil },
			want:     []row{{"workflows/list", "allowed", ""}, {"pods/log/get", "denied", "selfsubjectaccessreview"}, {"workflows/delete", "denied", "selfsubjectaccessreview"}},
			wantCode: exitcode.MissingAccess, wantErr: "pods/log/get: expected allowed, got denied in namespace ci"},
		"reviewer fails": {review: func(context.Context, string, string, string, string) (bool, error) {
			return false, errors.New("x509: unknown authority")
		},
			want: []row{{"workflows/list", "allowed", ""}, {"pods/log/get", NotChecked, "selfsubjectaccessreview"}, {"workflows/delete", NotChecked, "selfsubjectaccessreview"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := cfgFor(srv)
			cfg.Expect, cfg.Review, cfg.Strict = expect, tc.review, tc.strict
			rep, err := Run(context.Background(), cfg)
			var got []row
			for _, c := range rep.Expectations() {
				got = append(got, row{c.Name, c.Actual, c.Via})
				if c.Actual == NotChecked && c.OK {
					t.Errorf("%s: not checked, yet ok", c.Name)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			if exitcode.Of(err) != tc.wantCode || (tc.wantErr != "") != (err != nil) || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v (exit %d); want exit %d with %q", err, exitcode.Of(err), tc.wantCode, tc.wantErr)
			}
		})
	}
}

// A cluster-scoped resource is asked about at the cluster's scope: asked
// in the job's namespace, the cluster counts a Role there that names it,
// which grants nothing on it (kube-apiserver measured: a Role with get on
// clusterworkflowtemplates gives "yes" in its namespace, "no" and a 403
// at the cluster scope).
func TestReviewScope(t *testing.T) {
	srv, _ := fakeArgo(t, func(int) (int, string) { return 200, `{"items":[]}` })
	asked := map[string]string{}
	var mu sync.Mutex
	cfg := cfgFor(srv)
	cfg.Expect = []Expectation{{Allow: true, Resource: "clusterworkflowtemplates", Verb: "get"}, {Allow: true, Resource: "workflowtemplates", Verb: "get"}, {Allow: true, Resource: "pods", Verb: "delete"}}
	cfg.Review = func(_ context.Context, ns, _, resource, _ string) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		asked[resource] = ns
		return true, nil
	}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"clusterworkflowtemplates": "", "workflowtemplates": "ci", "pods": "ci"}, asked); diff != "" {
		t.Errorf("namespace asked about (-want +got):\n%s", diff)
	}
}
