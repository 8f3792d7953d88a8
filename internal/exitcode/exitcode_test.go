package exitcode

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOfAndHint(t *testing.T) {
	classified := New(TokenRejected, "get a new token", "rejected")
	tests := map[string]struct {
		err      error
		code     Code
		hint     string
		rendered string
	}{
		"nil":        {err: nil, code: OK},
		"plain":      {err: errors.New("boom"), code: Unexpected, rendered: "boom"},
		"classified": {err: classified, code: TokenRejected, hint: "get a new token", rendered: "rejected"},
		"wrapped":    {err: fmt.Errorf("probing: %w", classified), code: TokenRejected, hint: "get a new token", rendered: "probing: rejected"},
		"wrap nil":   {err: Wrap(Usage, "x", nil), code: OK},
		"wrap keeps": {err: Wrap(Usage, "fix it", errors.New("bad")), code: Usage, hint: "fix it", rendered: "bad"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Of(tc.err); got != tc.code {
				t.Errorf("Of = %d; want %d", got, tc.code)
			}
			if got := Hint(tc.err); got != tc.hint {
				t.Errorf("Hint = %q; want %q", got, tc.hint)
			}
			if tc.err != nil && tc.err.Error() != tc.rendered {
				t.Errorf("Error() = %q; want %q", tc.err.Error(), tc.rendered)
			}
		})
	}
}

func TestEveryCodeHasAName(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range all() {
		n := c.String()
		if n == "" || seen[n] || n == fmt.Sprintf("exit code %d", int(c)) {
			t.Errorf("code %d: name %q missing or repeated", c, n)
		}
		seen[n] = true
	}
	if len(all()) != 9 {
		t.Errorf("%d codes; the README documents 9", len(all()))
	}
}

// The README's table of exit codes (under "## Exit codes") lists exactly
// the codes of All, in order.
func TestReadmeDocumentsEveryCode(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	table := regexp.MustCompile("(?s)\n## Exit codes\n.*?\n\\| code \\| meaning \\|\n\\|[-|]+\n(.*?)\n\n").FindSubmatch(b)
	if table == nil {
		t.Fatal("README.md has no table of exit codes under ## Exit codes")
	}
	var got, want []int
	for _, m := range regexp.MustCompile("(?m)^\\| ([0-9]+) \\|").FindAllSubmatch(table[1], -1) {
		n, _ := strconv.Atoi(string(m[1]))
		got = append(got, n)
	}
	for _, c := range all() {
		want = append(want, int(c))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the README's exit codes (-want +got):\n%s", diff)
	}
}
