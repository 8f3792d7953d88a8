package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/env"
)

// FuzzWriters: whatever the values, a writer either refuses them and writes
// nothing, or its reader gets back exactly the variables given, all of
// them and nothing else: no value can inject or change another variable.
func FuzzWriters(f *testing.F) {
	for _, s := range []string{"plain", "a\nB=c", "x\nghadelimiter_0\nEVIL<<y", "'\"$`\\", " lead", "\x00", "é😀"} {
		f.Add("ARGO_NAMESPACE", s)
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		vars := []env.Var{{Name: "ARGO_SERVER", Value: "a:1"}, {Name: name, Value: value}, {Name: "KUBECONFIG", Value: "/dev/null"}}
		want := map[string]string{}
		for _, v := range vars {
			want[v.Name] = v.Value
		}

		var b bytes.Buffer
		if err := JSON(&b, vars); err == nil {
			var got map[string]string
			if err := json.Unmarshal(b.Bytes(), &got); err != nil {
				t.Fatalf("JSON: %v in %q", err, b.String())
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("JSON round trip of %q (-want +got):\n%s", b.String(), diff)
			}
		} else if b.Len() != 0 {
			t.Fatal("JSON wrote on error")
		}

		b.Reset()
		if err := Dotenv(&b, vars); err == nil {
			lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			if len(lines) != len(vars) {
				t.Fatalf("dotenv: %d lines for %d variables: %q", len(lines), len(vars), b.String())
			}
			for i, l := range lines {
				k, v, _ := strings.Cut(l, "=")
				if k != vars[i].Name || v != vars[i].Value {
					t.Fatalf("dotenv line %q", l)
				}
			}
		} else if b.Len() != 0 {
			t.Fatal("dotenv wrote on error")
		}
	})
}

// parseShell reads `export NAME='value'` lines as a POSIX shell would:
// single quotes (which may span lines), each ' written as '\”.
func parseShell(t *testing.T, s string) map[string]string {
	// The lines that turn tracing off and back on surround the exports.
	s, ok := strings.CutPrefix(s, traceOff)
	s, ok2 := strings.CutSuffix(s, traceBack)
	if !ok || !ok2 {
		t.Fatalf("the exports are not between the tracing lines: %q", s)
	}
	out := map[string]string{}
	for s != "" {
		rest, ok := strings.CutPrefix(s, "export ")
		name, q, ok2 := strings.Cut(rest, "='")
		if !ok || !ok2 {
			t.Fatalf("not an export line: %q", s)
		}
		var v strings.Builder
		for {
			k := strings.IndexByte(q, '\'')
			if k < 0 {
				t.Fatalf("unterminated quote: %q", s)
			}
			v.WriteString(q[:k])
			if strings.HasPrefix(q[k:], `'\''`) {
				v.WriteByte('\'')
				q = q[k+4:]
				continue
			}
			q = q[k+1:]
			break
		}
		if !strings.HasPrefix(q, "\n") {
			t.Fatalf("something follows the closing quote: %q", q)
		}
		out[name], s = v.String(), q[1:]
	}
	return out
}

// parseProperties reads a Java properties file as java.util.Properties
// does, for the escapes Jenkins writes (\\, \=, \:, \#, \!, leading \ ,
// \n, \r, \t, \uXXXX with surrogate pairs): white space (space, tab, form
// feed) before the key and after the '=' is skipped; blank lines and lines
// starting with # or ! are comments. Properties.load(InputStream) reads
// ISO 8859-1, so anything but ASCII fails the test.
func parseProperties(t *testing.T, s string) map[string]string {
	out := map[string]string{}
	for _, r := range s {
		if r > 0x7e || (r < 0x20 && r != '\n') {
			t.Fatalf("%U in a properties file: %q", r, s)
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		line = strings.TrimLeft(line, " \t\f")
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "!") || line == "" {
			continue
		}
		name, raw, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("no = in %q", line)
		}
		raw = strings.TrimLeft(raw, " \t\f")
		var b []rune
		rs := []rune(raw)
		for i := 0; i < len(rs); i++ {
			if rs[i] != '\\' {
				b = append(b, rs[i])
				continue
			}
			i++
			if i >= len(rs) {
				t.Fatalf("a trailing backslash continues the line: %q", line)
			}
			switch rs[i] {
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				var r rune
				if _, err := fmt.Sscanf(string(rs[i+1:i+5]), "%04x", &r); err != nil {
					t.Fatalf("bad \\u in %q", line)
				}
				b = append(b, r)
				i += 4
			default:
				b = append(b, rs[i])
			}
		}
		out[name] = string(utf16Decode(b))
	}
	return out
}

// utf16Decode joins surrogate pairs.
func utf16Decode(rs []rune) []rune {
	u := make([]uint16, 0, len(rs))
	var out []rune
	for _, r := range rs {
		if r >= 0xd800 && r < 0xe000 {
			u = append(u, uint16(r))
			continue
		}
		if len(u) > 0 {
			out = append(out, utf16.Decode(u)...)
			u = u[:0]
		}
		out = append(out, r)
	}
	return append(out, utf16.Decode(u)...)
}

// FuzzShellAndJenkins: the shell and Jenkins writers either refuse a value
// and write nothing, or the reader (a POSIX shell's quoting rules,
// java.util.Properties) gets back exactly the variables given, all of them
// and nothing else.
func FuzzShellAndJenkins(f *testing.F) {
	for _, s := range []string{"plain", "it's", "'\\''", "a\nb", "é😀\t", "x=y:z#!", " lead"} {
		f.Add("ARGO_TOKEN", s)
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		vars := []env.Var{{Name: "ARGO_SERVER", Value: "a:1"}, {Name: name, Value: value}}
		want := map[string]string{"ARGO_SERVER": "a:1", name: value}
		var b bytes.Buffer
		if err := Shell(&b, vars); err == nil {
			if diff := cmp.Diff(want, parseShell(t, b.String())); diff != "" {
				t.Fatalf("shell round trip of %q (-want +got):\n%s", b.String(), diff)
			}
		} else if b.Len() != 0 {
			t.Fatal("shell wrote on error")
		}
		b.Reset()
		if err := Jenkins(&b, vars); err == nil {
			if diff := cmp.Diff(want, parseProperties(t, b.String())); diff != "" {
				t.Fatalf("properties round trip of %q (-want +got):\n%s", b.String(), diff)
			}
		} else if b.Len() != 0 {
			t.Fatal("jenkins wrote on error")
		}
	})
}
