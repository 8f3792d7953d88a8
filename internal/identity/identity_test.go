package identity

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseGrant: an accepted grant names a known resource and known
// verbs: the resource and the set of verbs given (sorted, each once), and
// prints as a string that parses back to itself.
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
		res, verbs, _ := strings.Cut(strings.TrimSpace(s), ":")
		var given []string
		for _, v := range strings.Split(verbs, ",") {
			given = append(given, strings.TrimSpace(v))
		}
		slices.Sort(given)
		if g.Resource != res || !slices.Equal(g.Verbs, slices.Compact(given)) {
			t.Fatalf("%q accepted as %v; want %s:%v", s, g, res, slices.Compact(given))
		}
		back, err := ParseGrant(g.String())
		if err != nil || !slices.Equal(back.Verbs, g.Verbs) || back.Resource != g.Resource {
			t.Fatalf("%q -> %v -> %v, %v", s, g, back, err)
		}
	})
}

// merge folds the grants on one resource into one, its verbs sorted and
// each once, and orders the grants as Resources does.
func TestMerge(t *testing.T) {
	tests := map[string]struct{ in, want []Grant }{
		"none":            {},
		"one resource":    {in: []Grant{{"workflows", []string{"list"}}, {"workflows", []string{"create", "list"}}}, want: []Grant{{"workflows", []string{"create", "list"}}}},
		"resources order": {in: []Grant{{Resources[1], []string{"get"}}, {Resources[0], []string{"list"}}}, want: []Grant{{Resources[0], []string{"list"}}, {Resources[1], []string{"get"}}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, merge(tc.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
