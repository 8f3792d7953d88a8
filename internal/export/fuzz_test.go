package export

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/argo-cred/argo-cred/internal/env"
)

// FuzzWriters: whatever the values, a writer either refuses them and writes
// nothing, or its reader gets back exactly the variables given: no value can
// inject another variable.
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
			if err := json.Unmarshal(b.Bytes(), &got); err != nil || len(got) != len(want) || got[name] != value {
				t.Fatalf("JSON round trip: %v %q", err, b.String())
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

		b.Reset()
		if err := githubEnv(&b, vars, "ghadelimiter_0"); err == nil {
			got := map[string]string{}
			lines := strings.Split(b.String(), "\n")
			for i := 0; i < len(lines); i++ {
				k, delim, ok := strings.Cut(lines[i], "<<")
				if !ok {
					continue
				}
				var val []string
				for i++; i < len(lines) && lines[i] != delim; i++ {
					val = append(val, lines[i])
				}
				got[k] = strings.Join(val, "\n")
			}
			if len(got) != len(want) || got[name] != value {
				t.Fatalf("GITHUB_ENV round trip: got %q from %q", got, b.String())
			}
		} else if b.Len() != 0 {
			t.Fatal("github wrote on error")
		}
	})
}
