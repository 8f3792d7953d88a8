package token

import (
	"strings"
	"testing"
)

// FuzzNormalize: an accepted token has no white space, gets "Bearer " once,
// and normalising its Bearer form gives it back.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"a.b.c", "Bearer a.b.c\n", "bearer  x", "Bearer Bearer x", " ", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw, err := Normalize(s)
		if err != nil {
			return
		}
		if raw == "" || strings.ContainsAny(raw, " \t\r\n\x00") {
			t.Fatalf("Normalize(%q) = %q", s, raw)
		}
		again, err := Normalize("Bearer " + raw)
		if err != nil || again != raw {
			t.Fatalf("Normalize(Bearer %q) = %q, %v", raw, again, err)
		}
	})
}
