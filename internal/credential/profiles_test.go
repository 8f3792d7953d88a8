package credential

import (
	"testing"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/probe"
)

// A managed client's hint is a command to run as printed: the profiles by
// their names, whatever white space --for or ARGO_CRED_FOR (which
// envconfig splits at commas, untrimmed) had around them.
func TestClientHintCommand(t *testing.T) {
	expect := []probe.Expectation{{Allow: true, Resource: "workflows", Verb: "create"}, {Allow: true, Resource: "pods/log", Verb: "get"}, {Allow: true, Resource: "workflows", Verb: "delete"}}
	denied := exitcode.New(exitcode.MissingAccess, "grant it", "pods/log/get: expected allowed, got denied in namespace ci")
	tests := map[string]struct {
		For  []string
		want string
	}{
		"no profiles":    {want: "give client ci exactly what this job checks: argo-cred provision --client ci --namespace ci --allow workflows:create,delete --allow pods/log:get"},
		"profiles":       {For: []string{"submit", "logs"}, want: "give client ci exactly what this job checks: argo-cred provision --client ci --namespace ci --for submit,logs --allow workflows:delete"},
		"env, spaced":    {For: []string{"submit", " logs"}, want: "give client ci exactly what this job checks: argo-cred provision --client ci --namespace ci --for submit,logs --allow workflows:delete"},
		"no-break space": {For: []string{"submit\u00a0", "logs\u2003"}, want: "give client ci exactly what this job checks: argo-cred provision --client ci --namespace ci --for submit,logs --allow workflows:delete"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := clientHint(&Request{CheckFlags: CheckFlags{For: tc.For}}, "ci", "ci", expect, denied)
			if got := exitcode.Hint(err); got != tc.want {
				t.Errorf("hint:\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
