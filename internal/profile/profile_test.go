package profile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseUnion(t *testing.T) {
	ps, err := Parse([]string{"wait, submit", "submit"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Rule{{Group: "argoproj.io", Resource: "workflows", Verbs: []string{"create", "get", "watch"}}}
	if diff := cmp.Diff(want, Union(ps)); diff != "" {
		t.Errorf("submit,wait (-want +got):\n%s", diff)
	}
	if _, err := Parse([]string{"submit,templates"}); err == nil || !strings.Contains(err.Error(), `unknown profile "templates"`) {
		t.Errorf("an unknown profile: %v; want refused", err)
	}
}

// No profile grants anything on workflow templates: a profile never
// implies templates (submit-from reads them with the server's identity).
func TestNoProfileGrantsTemplates(t *testing.T) {
	for _, r := range Union(Profiles) {
		if strings.Contains(r.Resource, "template") {
			t.Errorf("a profile grants %s", r)
		}
	}
}

// The table in the table is the one docs/profiles.md publishes.
func TestProfilesDoc(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "profiles.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), Table()) {
		t.Errorf("docs/profiles.md does not have the table of the profiles; want:\n%s", Table())
	}
}
