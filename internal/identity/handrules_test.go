package identity

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHandRules(t *testing.T) {
	wf := func(verbs ...string) rule {
		return rule{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: verbs}
	}
	pods := rule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}
	secrets := rule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}}
	all := rule{APIGroups: []string{"argoproj.io"}, Resources: []string{"*"}, Verbs: []string{"*"}}
	two := rule{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows", "workflowtemplates"}, Verbs: []string{"get"}}
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
		"forged record":           {rules: []rule{secrets}, recorded: `[{"apiGroups":[""],"resources":["secrets"],"verbs":["get","list"]}]`, annotated: true, want: []rule{secrets}},
		"wildcards, unannotated":  {rules: []rule{all}, want: []rule{all}},
		"wildcards, recorded":     {rules: []rule{all}, recorded: `[{"apiGroups":["argoproj.io"],"resources":["*"],"verbs":["*"]}]`, annotated: true, want: []rule{all}},
		"two resources":           {rules: []rule{two}, recorded: `[{"apiGroups":["argoproj.io"],"resources":["workflows","workflowtemplates"],"verbs":["get"]}]`, annotated: true, want: []rule{two}},
		"a verb no grant gives":   {rules: []rule{wf("create", "escalate")}, recorded: recorded, annotated: true, want: []rule{wf("create", "escalate")}},
		"core pods, unannotated":  {rules: []rule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}}}, want: []rule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}}}},
		"garbled annotation":      {rules: []rule{wf("create")}, recorded: "{", annotated: true, want: []rule{wf("create")}},
	} {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, handRules(tc.rules, tc.recorded, tc.annotated)); diff != "" {
				t.Errorf("handRules (-want +got):\n%s", diff)
			}
		})
	}
}

// The lines of what provision changes come from the Role, which whoever
// may edit it wrote: one clean line each, no runner command.
func TestSayChangesClean(t *testing.T) {
	hostile := rule{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows\n::error::pwned \x1b[2K##[add-mask]x"}, Verbs: []string{"get"}}
	var out []string
	sayChanges(Client{Name: "ci"}, []rule{hostile}, nil, func(s string) { out = append(out, s) })
	if len(out) != 1 {
		t.Fatalf("lines %q; want one", out)
	}
	// A runner command is one only at the start of a line ("::"), or
	// "##[" anywhere.
	if !strings.HasPrefix(out[0], "role/ci: takes away ") || strings.ContainsAny(out[0], "\n\r\x1b") || strings.Contains(out[0], "##[") {
		t.Errorf("line not cleaned: %q", out[0])
	}
}
