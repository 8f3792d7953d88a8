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

// No profile grants anything on workflow templates, but submit-from's get
// on v3.6 (where the server reads the template with the job's token): a
// profile never implies templates.
func TestNoProfileGrantsTemplates(t *testing.T) {
	for _, v := range Versions {
		for _, p := range tables[v] {
			for _, r := range p.Grants() {
				if !strings.Contains(r.Resource, "template") {
					continue
				}
				if v != "v3.6.18" || p.Name != "submit-from" || r.String() != "argoproj.io workflowtemplates:get" {
					t.Errorf("on Argo %s, profile %s grants %s", v, p.Name, r)
				}
			}
		}
	}
}

// Every measured version has a table of the same profiles, in the same
// order, and the newest is Profiles.
func TestVersionTables(t *testing.T) {
	if diff := cmp.Diff(Profiles, tables[Versions[len(Versions)-1]]); diff != "" {
		t.Errorf("the newest version's table is not Profiles (-Profiles +table):\n%s", diff)
	}
	if len(tables) != len(Versions) {
		t.Errorf("%d tables for %d versions", len(tables), len(Versions))
	}
	for _, v := range Versions {
		var names []string
		for _, p := range tables[v] {
			names = append(names, p.Name)
		}
		if diff := cmp.Diff(Names(), names); diff != "" {
			t.Errorf("the profiles of Argo %s (-Profiles +%s):\n%s", v, v, diff)
		}
	}
}

// Each version's table is the one docs/profiles.md publishes under its heading.
func TestProfilesDoc(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "profiles.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Versions {
		want := "### Argo Server " + v + " (measured)\n\n" + Table(v)
		if !strings.Contains(string(b), want) {
			t.Errorf("docs/profiles.md does not have the table of the profiles of %s; want:\n%s", v, want)
		}
	}
}

func TestForVersion(t *testing.T) {
	type result struct {
		Measured string
		OK       bool
	}
	for _, c := range []struct {
		server string
		want   result
	}{
		{"v3.7.9", result{"v3.7.9", true}},
		{"v3.7.0", result{"v3.7.9", true}},
		{"v3.7.12+abc1234.dirty", result{"v3.7.9", true}},
		{"v3.6.18+abc1234", result{"v3.6.18", true}},
		{"v3.6.5", result{"v3.6.18", true}},
		{"v3.6", result{"v3.6.18", true}},
		{"v3.5.14", result{}},
		{"v3.8.0", result{}},
		{"v4.0.0", result{}},
		{"untagged", result{}},
		{"3.7.9", result{}},
		{"v3.+7.9", result{}},
		{"", result{}},
	} {
		t.Run(c.server, func(t *testing.T) {
			ps, measured, ok := ForVersion(c.server)
			if diff := cmp.Diff(c.want, result{measured, ok}); diff != "" {
				t.Errorf("ForVersion(%q) (-want +got):\n%s", c.server, diff)
			}
			if ok != (len(ps) > 0) {
				t.Errorf("ForVersion(%q): %d profiles, ok %v", c.server, len(ps), ok)
			}
		})
	}
}
