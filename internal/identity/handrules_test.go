package identity

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHandRules(t *testing.T) {
	wf := func(verbs ...string) rule {
		return rule{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: verbs}
	}
	pods := rule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}
	recorded := `[{"apiGroups":["argoproj.io"],"resources":["workflows"],"verbs":["create","delete","get"]}]`
	for name, tc := range map[string]struct {
		rules     []rule
		recorded  string
		annotated bool
		want      []rule
	}{
		"as recorded":             {rules: []rule{wf("create", "delete", "get")}, recorded: recorded, annotated: true},
		"narrowed by hand":        {rules: []rule{wf("create", "get")}, recorded: recorded, annotated: true},
		"widened by hand":         {rules: []rule{wf("create", "delete", "get", "list")}, recorded: recorded, annotated: true, want: []rule{wf("list")}},
		"another rule":            {rules: []rule{wf("create", "delete", "get"), pods}, recorded: recorded, annotated: true, want: []rule{pods}},
		"the same, resourceNames": {rules: []rule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, ResourceNames: []string{"x"}, Verbs: []string{"get"}}}, recorded: recorded, annotated: true, want: []rule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, ResourceNames: []string{"x"}, Verbs: []string{"get"}}}},
		"unannotated":             {rules: []rule{wf("create", "list"), pods}, want: []rule{pods}},
		"garbled annotation":      {rules: []rule{wf("create")}, recorded: "{", annotated: true, want: []rule{wf("create")}},
	} {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, handRules(tc.rules, tc.recorded, tc.annotated)); diff != "" {
				t.Errorf("handRules (-want +got):\n%s", diff)
			}
		})
	}
}
