package github

import (
	"bytes"
	"strings"
	"testing"
)

// The runner unescapes %25, %0D and %0A in command data before it adds a
// mask: a secret with a '%' must be written escaped, or the runner masks
// another string.
func TestMaskEscapesPercent(t *testing.T) {
	var b bytes.Buffer
	if err := writeMasks(&b, []string{"abc%0Adef%25x"}); err != nil {
		t.Fatal(err)
	}
	unescape := strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%")
	var masked []string
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		masked = append(masked, unescape.Replace(strings.TrimPrefix(l, "::add-mask::")))
	}
	for _, want := range []string{"abc%0Adef%25x", "Bearer abc%0Adef%25x"} {
		found := false
		for _, m := range masked {
			found = found || m == want
		}
		if !found {
			t.Errorf("the runner would not mask %q; it masks %q", want, masked)
		}
	}
}
