package token

import (
	"strings"
	"testing"
)

// FuzzNormalize: an accepted token has no white space or control
// character, is the input without surrounding white space and at most one
// "Bearer " prefix (any case), and normalising it or its Bearer form gives
// it back.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"a.b.c", "Bearer a.b.c\n", "bearer  x", "Bearer Bearer x", " ", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw, err := normalize(s)
		if err != nil {
			return
		}
		if raw == "" || strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			t.Fatalf("normalize(%q) = %q", s, raw)
		}
		given := strings.TrimSpace(s)
		if len(given) > 7 && strings.EqualFold(given[:7], "bearer ") {
			given = strings.TrimSpace(given[7:])
		}
		if raw != given {
			t.Fatalf("normalize(%q) = %q; want %q", s, raw, given)
		}
		if again, err := normalize(raw); err != nil || again != raw {
			t.Fatalf("normalize(%q) = %q, %v; want it unchanged", raw, again, err)
		}
		again, err := normalize("Bearer " + raw)
		if err != nil || again != raw {
			t.Fatalf("normalize(Bearer %q) = %q, %v", raw, again, err)
		}
	})
}
