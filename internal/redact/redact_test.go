package redact

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

func TestText(t *testing.T) {
	const tok = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
	r := New("Bearer "+tok, "hdr-value")
	b64 := base64.StdEncoding.EncodeToString([]byte(tok))
	tests := map[string]struct{ in, want string }{
		"raw":             {"bad token " + tok, "bad token [redacted]"},
		"bearer":          {"Authorization: Bearer " + tok + ".", "Authorization: [redacted]."},
		"base64":          {"b64=" + b64, "b64=[redacted]"},
		"base64 bearer":   {base64.StdEncoding.EncodeToString([]byte("Bearer " + tok)), "[redacted]"},
		"url base64":      {base64.RawURLEncoding.EncodeToString([]byte(tok)), "[redacted]"},
		"header value":    {"x-api-key=hdr-value", "x-api-key=[redacted]"},
		"newlines":        {"a\nb\r\nc", "a b c"},
		"escape":          {"\x1b[31mred\x1b[0m", "[31mred [0m"},
		"unicode breaks":  {"a\u2028b\u2029c\u0085d", "a b c d"},
		"bidi":            {"abc\u202eevil\u2066x\u200b", "abc evil x"},
		"command":         {"::error::x", "'::error::x"},
		"command later":   {"\n  ::warning::x", "'::warning::x"},
		"invalid utf-8":   {"a\xffb", "a b"},
		"legacy command":  {"v3.7.9 ##[save-state name=binding;]victim", "v3.7.9 # #[save-state name=binding;]victim"},
		"legacy nested":   {"###[set-output name=x;]y ####[", "## #[set-output name=x;]y ### #["},
		"legacy redacted": {"##" + tok, "# #[redacted]"},
		"plain":           {"system:serviceaccount:ci:ci", "system:serviceaccount:ci:ci"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, r.Text(tc.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	var none *Redactor
	if got := none.Text("a\nb"); got != "a b" {
		t.Errorf("nil Redactor: %q", got)
	}
}

func TestShorten(t *testing.T) {
	if got := Shorten("ääää", 3); got != "ä…" {
		t.Errorf("got %q; want a cut on a rune boundary", got)
	}
	if got := Shorten("abc", 3); got != "abc" {
		t.Errorf("got %q", got)
	}
}

func ExampleCode() {
	fmt.Println(Code("https://evil.example/x|y"))
	fmt.Println(Code("a`b"))
	fmt.Println(Code("`x"))
	// Output:
	// `https://evil.example/x\|y`
	// ``a`b``
	// `` `x ``
}

func ExampleDefang() {
	fmt.Println(Defang("see https://evil.example or www.evil.example"))
	// Output:
	// see https:[//]evil.example or www[.]evil.example
}

func ExampleMarkdown() {
	fmt.Println(Markdown("evil|`x`<script>\n# h"))
	// Output:
	// evil\|\`x\`\<script\> \# h
}

// Whatever the input, Text's output is one line that a terminal or a CI
// runner cannot misread.
func FuzzText(f *testing.F) {
	f.Add("a\nb::c\x1b[2J\u202e", "tok.en.x")
	f.Fuzz(func(t *testing.T, s, secret string) {
		if len(secret) < 4 || strings.ContainsAny(secret, " \t\r\n") {
			return
		}
		out := New(secret).Text(s)
		for _, r := range out {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) {
				t.Fatalf("Text(%q) = %q holds %U", s, out, r)
			}
		}
		if strings.HasPrefix(out, "::") || strings.Contains(out, "##[") {
			t.Fatalf("Text(%q) = %q holds a runner command", s, out)
		}
	})
}
