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

// hideable is the precondition under which Text promises that no form of
// secret survives in its output. Call raw the secret without its "Bearer "
// prefix. Text cannot promise it when raw:
//   - has 8 bytes or fewer: a form may then be part of the placeholder
//     itself ("redact" is in every "[redacted]");
//   - holds '[' or ']': a form may then straddle a placeholder's edge (with
//     the secret "]xxxxxxxxx", "]]xxxxxxxxxxxxxxxxxx" becomes
//     "][redacted]xxxxxxxxx");
//   - holds a space: Clean turns every run of white space and control
//     characters into one space, so "a\tb" in the input is "a b" after;
//   - starts with "'::": Clean defuses a leading "::" by writing "'" before
//     it, so the input "::x…" would print as "'::x…".
//
// A token (a JWT, a service-account or OIDC token) meets it, and so does
// any header value a CI system calls a secret.
func hideable(secret string) bool {
	raw := strings.TrimPrefix(secret, "Bearer ")
	return len(raw) > len("redacted") && !strings.ContainsAny(raw, "[] ") && !strings.HasPrefix(raw, "'::")
}

func TestHideablePrecondition(t *testing.T) {
	// Each documented exception, shown to be a real one: the form survives.
	tests := map[string]struct{ secret, in string }{
		"short":         {"redact", "x redact"},
		"bracket":       {"]xxxxxxxxx", "]]xxxxxxxxxxxxxxxxxx"},
		"space":         {"abcd efghi", "abcd\tefghi"},
		"defused start": {"'::abcdefgh", "::abcdefgh"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if hideable(tc.secret) {
				t.Fatalf("hideable(%q) = true", tc.secret)
			}
			if out := New(tc.secret).Text(tc.in); !strings.Contains(out, tc.secret) {
				t.Errorf("Text(%q) = %q: the exception is no longer needed; drop it from hideable", tc.in, out)
			}
		})
	}
}

// FuzzText: for a secret that meets hideable, no form of it (every one
// Forms gives) is in Text's output, wherever it was put in the input; and
// whatever the input, the output is one line that a terminal or a CI
// runner cannot misread.
func FuzzText(f *testing.F) {
	const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
	f.Add("a\nb::c\x1b[2J\u202e", "", "tok.en.xyzw", uint8(0))
	f.Add("Authorization: ", ".", "Bearer "+jwt, uint8(1))
	f.Add("b64=", "\n", jwt, uint8(2))
	f.Add("##", "##[", jwt, uint8(3))
	f.Add("::", "]", jwt, uint8(4))
	f.Add("[redacte", "d]", "dacted]xyzw", uint8(5))
	f.Add("a\u200b", "\u00adb", "Bearer ", uint8(6)) // no secret left once "Bearer " is cut
	f.Fuzz(func(t *testing.T, before, after, secret string, form uint8) {
		r := New(secret)
		inputs := []string{before + after}
		forms := Forms(secret)
		if len(forms) > 0 {
			inputs = append(inputs, before+forms[int(form)%len(forms)]+after)
		}
		for _, in := range inputs {
			out := r.Text(in)
			for _, c := range out {
				if unicode.IsControl(c) || unicode.Is(unicode.Cf, c) || unicode.Is(unicode.Zl, c) || unicode.Is(unicode.Zp, c) {
					t.Fatalf("Text(%q) = %q holds %U", in, out, c)
				}
			}
			if strings.HasPrefix(out, "::") || strings.Contains(out, "##[") {
				t.Fatalf("Text(%q) = %q holds a runner command", in, out)
			}
			if !hideable(secret) {
				continue
			}
			for _, fm := range forms {
				if strings.Contains(out, fm) {
					t.Fatalf("secret %q: Text(%q) = %q holds its form %q", secret, in, out, fm)
				}
			}
		}
	})
}
