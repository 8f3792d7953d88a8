package credential

import (
	"testing"

	"github.com/google/go-cmp/cmp"

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

// On a v3.6 server --for submit-from also checks get on workflow
// templates, whatever white space ARGO_CRED_FOR's values carry (envconfig
// splits it untrimmed); on v3.7 nothing more is checked.
func TestForVersion(t *testing.T) {
	for name, tc := range map[string]struct {
		version string
		want    []string // the added checks
		note    string
	}{
		"v3.6":     {version: "v3.6.18", want: []string{"workflowtemplates/get"}, note: "note: the Argo Server is v3.6.18: as measured on v3.6.18, --for wait,submit-from also needs workflowtemplates/get (docs/profiles.md)"},
		"v3.7":     {version: "v3.7.9"},
		"unknown":  {version: "v3.5.1", note: "note: the Argo Server is v3.5.1; the profiles were measured on v3.6.18, v3.7.9 (docs/profiles.md): a verb it needs beyond them shows only when argo runs"},
		"untagged": {version: "untagged", note: "note: the Argo Server is untagged; the profiles were measured on v3.6.18, v3.7.9 (docs/profiles.md): a verb it needs beyond them shows only when argo runs"},
	} {
		t.Run(name, func(t *testing.T) {
			var notes []string
			r := &Request{Hooks: Hooks{Print: func(s string) { notes = append(notes, s) }}}
			r.For = []string{" submit-from", "wait "}
			base, err := forProfiles(r)
			if err != nil {
				t.Fatal(err)
			}
			out := forVersion(r, probe.Report{ServerVersion: tc.version}, base)
			var added []string
			if out != nil {
				for _, e := range out[len(base):] {
					added = append(added, e.Name())
				}
			}
			if diff := cmp.Diff(tc.want, added); diff != "" {
				t.Errorf("added checks (-want +got):\n%s", diff)
			}
			var wantNotes []string
			if tc.note != "" {
				wantNotes = []string{tc.note}
			}
			if diff := cmp.Diff(wantNotes, notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}
