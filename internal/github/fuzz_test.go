package github

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/env"
)

// FuzzWriteEnv: whatever the values, writeEnv either refuses them and
// writes nothing, or the runner's reader gets back exactly the variables
// given, all of them and nothing else: no value can inject or change
// another variable.
func FuzzWriteEnv(f *testing.F) {
	for _, s := range []string{"plain", "a\nB=c", "x\nghadelimiter_0\nEVIL<<y", "'\"$`\\", " lead", "\x00", "é😀"} {
		f.Add("ARGO_NAMESPACE", s)
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		vars := []env.Var{{Name: "ARGO_SERVER", Value: "a:1"}, {Name: name, Value: value}, {Name: "KUBECONFIG", Value: "/dev/null"}}
		var b bytes.Buffer
		if err := writeEnv(&b, vars, "ghadelimiter_0"); err == nil {
			if diff := cmp.Diff(vars, parseHeredocs(t, b.String())); diff != "" {
				t.Fatalf("GITHUB_ENV round trip of %q (-want +got):\n%s", b.String(), diff)
			}
		} else if b.Len() != 0 {
			t.Fatal("github wrote on error")
		}
	})
}

// parseHeredocs reads a GITHUB_ENV file that must consist of NAME<<DELIM
// blocks only, each closed by the first line equal to DELIM (as the runner
// reads it; test/actions checks the writer against a port of the runner's
// own parser). Any other line fails the test.
func parseHeredocs(t *testing.T, s string) []env.Var {
	var out []env.Var
	if !strings.HasSuffix(s, "\n") {
		t.Fatalf("the last line has no newline: %q", s)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		k, delim, ok := strings.Cut(lines[i], "<<")
		if !ok || k == "" || delim == "" || strings.Contains(k, "=") {
			t.Fatalf("line %d is not NAME<<DELIM: %q in %q", i+1, lines[i], s)
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		if i == len(lines) {
			t.Fatalf("no closing %q in %q", delim, s)
		}
		out = append(out, env.Var{Name: k, Value: strings.Join(val, "\n")})
	}
	return out
}
