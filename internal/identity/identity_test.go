package identity

import (
	"slices"
	"testing"
)

// FuzzParseGrant: an accepted grant names a known resource and known
// verbs, and prints as a string that parses back to itself.
func FuzzParseGrant(f *testing.F) {
	for _, s := range []string{"workflows:list,update", "workflowtemplates:get", "x:y", "workflows:", "workflows:list,list"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGrant(s)
		if err != nil {
			return
		}
		if !slices.Contains(Resources, g.Resource) || len(g.Verbs) == 0 {
			t.Fatalf("%q accepted as %v", s, g)
		}
		for _, v := range g.Verbs {
			if !slices.Contains(Verbs, v) {
				t.Fatalf("%q accepted verb %q", s, v)
			}
		}
		back, err := ParseGrant(g.String())
		if err != nil || !slices.Equal(back.Verbs, g.Verbs) || back.Resource != g.Resource {
			t.Fatalf("%q -> %v -> %v, %v", s, g, back, err)
		}
	})
}

func TestExpectFor(t *testing.T) {
	if !slices.Equal(Merge([]Grant{{"workflows", []string{"list"}}, {"workflows", []string{"create", "list"}}})[0].Verbs, []string{"create", "list"}) {
		t.Error("Merge does not fold grants on one resource")
	}
}
