// Package redact makes text that a server (or anything else outside
// argo-cred) supplied safe to print: every form of a secret is replaced by
// [redacted], and what a terminal or a CI log would interpret (control
// characters, line breaks of any kind, bidi overrides, a leading workflow
// command) is removed.
package redact

import (
	"encoding/base64"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// placeholder replaces a secret.
const placeholder = "[redacted]"

// Forms returns every form in which a secret might be printed: as given,
// without a "Bearer " prefix, with it, and the standard, URL-safe and
// percent encodings of both. Longest first, so replacing them in order
// leaves no part of a longer form behind.
func Forms(secret string) []string {
	if secret == "" {
		return nil
	}
	raw := strings.TrimPrefix(secret, "Bearer ")
	if raw == "" {
		return nil // "Bearer " alone: nothing secret in it
	}
	var out []string
	seen := map[string]bool{}
	for _, s := range []string{raw, "Bearer " + raw} {
		for _, f := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawStdEncoding.EncodeToString([]byte(s)),
			base64.URLEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s)), url.QueryEscape(s)} {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	// Longest first.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Redactor removes the forms of known secrets from text.
type Redactor struct{ forms []string }

// New returns a Redactor for secrets (empty ones are ignored).
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		r.forms = append(r.forms, Forms(s)...)
	}
	return r
}

// Text returns s with every form of the secrets replaced, then cleaned. A
// nil Redactor only cleans.
func (r *Redactor) Text(s string) string {
	if r != nil && len(r.forms) > 0 {
		s = r.replace(s)
	}
	return Clean(s)
}

// Holds tells whether s holds a form of a secret (also one broken up by
// characters that cleaning removes).
func (r *Redactor) Holds(s string) bool {
	return r != nil && len(r.forms) > 0 && r.replace(s) != s
}

// replace replaces every form of the secrets in s, also where characters
// that cleaning removes or turns into spaces (zero-width, soft hyphen,
// control characters, white space) were put inside one: such a form is
// found in a view of s without them, and the whole stretch of s it spans
// is replaced.
func (r *Redactor) replace(s string) string {
	for _, f := range r.forms {
		s = strings.ReplaceAll(s, f, placeholder)
	}
	var view []byte
	var at []int // at[i]: the offset in s of view[i]
	for i, c := range s {
		if hidden(c) || (c == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD")) {
			continue
		}
		for j := 0; j < utf8.RuneLen(c) && i+j < len(s); j++ {
			view, at = append(view, s[i+j]), append(at, i+j)
		}
	}
	if len(view) == len(s) {
		return s // nothing hidden: the plain replacement was enough
	}
	covered := make([]bool, len(s))
	found := false
	for _, f := range r.forms {
		for from := 0; ; {
			k := strings.Index(string(view[from:]), f)
			if k < 0 {
				break
			}
			start, end := at[from+k], at[from+k+len(f)-1]+1
			for i := start; i < end; i++ {
				covered[i] = true
			}
			found, from = true, from+k+len(f)
		}
	}
	if !found {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if covered[i] {
			b.WriteString(placeholder)
			for i < len(s) && covered[i] {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// hidden tells whether cleaning removes c or turns it into white space.
func hidden(c rune) bool {
	return unicode.IsControl(c) || unicode.Is(unicode.Cf, c) || unicode.Is(unicode.Zl, c) || unicode.Is(unicode.Zp, c) || unicode.IsSpace(c)
}

// Clean makes s one printable line: invalid UTF-8, control characters
// (C0, DEL, C1), every line or paragraph separator, and the bidi and
// zero-width format characters are replaced by a space; runs of white space
// become one; GitHub's runner commands are defused: "::" at the start (a
// workflow command) and "##[" anywhere (the legacy form, which the runner
// looks for at any position of a line).
func Clean(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n <= 1 {
				b.WriteByte(' ')
				continue
			}
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) {
			b.WriteByte(' ')
			continue
		}
		b.WriteRune(r)
	}
	out := strings.Join(strings.Fields(b.String()), " ")
	for strings.Contains(out, "##[") {
		out = strings.ReplaceAll(out, "##[", "# #[")
	}
	if strings.HasPrefix(out, "::") {
		out = "'" + out
	}
	return out
}

// Defang keeps GitHub from turning server-supplied URLs into links, in an
// annotation or log line: "://" becomes ":[//]" and "www." becomes "www[.]".
func Defang(s string) string {
	return strings.NewReplacer("://", ":[//]", "www.", "www[.]", "WWW.", "WWW[.]").Replace(s)
}

// Code renders s (cleaned) as a GitHub-flavoured Markdown code span for a
// table cell: nothing in it is markup or an autolink; a backtick in s gets
// a longer fence, and '|' is escaped, as GFM tables require even in code.
func Code(s string) string {
	s = Clean(s)
	if s == "" {
		return ""
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	s = strings.ReplaceAll(s, "|", "\\|")
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// Shorten cuts s to at most n bytes (on a rune boundary), marking the cut.
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Markdown is Clean for a table cell or heading of GitHub-flavoured
// Markdown: characters that would start markup (|, <, >, `, *, _, [, ], \)
// are escaped.
func Markdown(s string) string {
	s = Clean(s)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '|', '<', '>', '`', '*', '_', '[', ']', '\\', '#', '!', '&':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Logger is a debug logger on w whose lines carry the time since it was
// made instead of the clock, so that they also show where the time goes,
// and whose string values go through red() (the redactor at the time of
// the line): values may come from a server or a token, and each becomes
// one clean line with no runner command in it.
func Logger(w io.Writer, red func() *Redactor) *slog.Logger {
	start := time.Now()
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, at slog.Attr) slog.Attr {
			if at.Key == slog.TimeKey {
				return slog.String("elapsed", time.Since(start).Round(10*time.Microsecond).String())
			}
			if at.Value.Kind() == slog.KindString {
				return slog.String(at.Key, red().Text(at.Value.String()))
			}
			return at
		},
	}))
}
