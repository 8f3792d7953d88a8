package actions

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/github"
	"github.com/argo-cred/argo-cred/internal/testenv"
)

// vectorSource names where a file of test vectors comes from.
type vectorSource struct {
	Repository, Commit, File string
	Files                    []string
}

// readVectors reads testdata/name: {"source": …, "vectors": [...]}.
func readVectors[V any](t *testing.T, name string) []V {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Source  vectorSource
		Vectors []V
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if f.Source.Repository != "actions/runner" || len(f.Source.Commit) != 40 || (f.Source.File == "" && len(f.Source.Files) == 0) || len(f.Vectors) == 0 {
		t.Fatalf("%s: no source (repository, commit, file) or no vectors", name)
	}
	return f.Vectors
}

// The file-command parser port passes the runner's own tests of it
// (testdata/file-commands.json).
func TestParserPortRunnerVectors(t *testing.T) {
	type vector struct {
		Test      string
		Lines     []string
		Separator *string
		Env       map[string]string
		Error     string
		Issues    int
	}
	for _, v := range readVectors[vector](t, "file-commands.json") {
		t.Run(v.Test, func(t *testing.T) {
			sep := "\n"
			if v.Separator != nil {
				sep = *v.Separator
			}
			got := map[string]string{}
			err := applyEnv("\ufeff"+strings.Join(v.Lines, sep), got)
			switch {
			case v.Error != "":
				if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(v.Error)) {
					t.Fatalf("error %v; want one containing %q", err, v.Error)
				}
			case v.Issues > 0:
				if err == nil || strings.Count(err.Error(), "NODE_OPTIONS") != v.Issues {
					t.Fatalf("error %v; want %d NODE_OPTIONS refusals", err, v.Issues)
				}
			case err != nil:
				t.Fatal(err)
			}
			if v.Env != nil {
				if diff := cmp.Diff(v.Env, got); diff != "" {
					t.Errorf("env (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// testenv.ParseRunnerCommand, with the runner's unescaping, reads a line as
// the runner does on the runner's own tests of its command parser
// (testdata/action-commands.json).
func TestRunnerCommandRunnerVectors(t *testing.T) {
	type vector struct {
		Line, Command, Data, Test, Note string
		Properties                      map[string]string
		Legacy                          bool
	}
	for _, v := range readVectors[vector](t, "action-commands.json") {
		t.Run(v.Line, func(t *testing.T) {
			c, ok := testenv.ParseRunnerCommand(v.Line)
			if !ok {
				if v.Command != "" {
					t.Fatalf("not read as a command; want %s (%s%s)", v.Command, v.Test, v.Note)
				}
				return
			}
			unescapeProp := unescapeProperty
			if c.Legacy {
				unescapeProp = unescape
			}
			props := map[string]string{}
			for k, p := range c.Props {
				props[k] = unescapeProp(p)
			}
			want := struct {
				Command, Data string
				Props         map[string]string
				Legacy        bool
			}{v.Command, v.Data, v.Properties, v.Legacy}
			got := want
			got.Command, got.Data, got.Props, got.Legacy = c.Name, commandData(c), props, c.Legacy
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s%s (-want +got):\n%s", v.Test, v.Note, diff)
			}
		})
	}
}

// The masker port masks as the runner does on the runner's own tests of
// its secret masker (testdata/masker.json).
func TestMaskerPortRunnerVectors(t *testing.T) {
	type vector struct {
		Test             string
		Values, Commands []string
		Mask             [][2]string
	}
	for _, v := range readVectors[vector](t, "masker.json") {
		t.Run(v.Test, func(t *testing.T) {
			m := &masker{}
			for _, s := range v.Values {
				m.addValue(s)
			}
			for _, l := range v.Commands {
				if got := processLog(l, m); got != "::add-mask::***\n" {
					t.Fatalf("%q shows as %q; want it read as add-mask", l, got)
				}
			}
			for _, p := range v.Mask {
				if got := m.mask(p[0]); got != p[1] {
					t.Errorf("mask(%q) = %q; want %q", p[0], got, p[1])
				}
			}
		})
	}
}

// Where act's parser (v0.2.89) reads a file otherwise than the runner,
// the port reads it as the runner does (from the runner's
// FileCommandManager.cs at the commit the vectors name).
func TestParserPort(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    []pair
		wantErr string
	}{
		"blank line skipped":            {in: "A=1\n\nB=2\n", want: []pair{{"A", "1"}, {"B", "2"}}},
		"CR kept":                       {in: "A=1\r\n", want: []pair{{"A", "1\r"}}},
		"CRLF heredoc":                  {in: "A<<EOF\r\nv1\r\nEOF\r\n", want: []pair{{"A", "v1\r"}}},
		"leading blanks kept":           {in: "A<<EOF\n\n\nabc\nEOF\n", want: []pair{{"A", "\n\nabc"}}},
		"trailing blank kept":           {in: "A<<EOF\nabc\n\nEOF\n", want: []pair{{"A", "abc\n"}}},
		"first = splits":                {in: "A==x\n", want: []pair{{"A", "=x"}}},
		"BOM":                           {in: "\ufeffA=1\n", want: []pair{{"A", "1"}}},
		"last line without LF":          {in: "A=1", want: []pair{{"A", "1"}}},
		"delimiter last, no LF":         {in: "A<<EOF\nv\nEOF", want: []pair{{"A", "v"}}},
		"injection applies, then fails": {in: "A<<EOF\nl1\nEOF\nB=inj\nEOF\n", want: []pair{{"A", "l1"}, {"B", "inj"}}, wantErr: `invalid format "EOF"`},
		"delimiter missing":             {in: "A<<EOF\nv\n", wantErr: "matching delimiter not found"},
		"EOF marker missing":            {in: "A<<EOF\nv", wantErr: "EOF marker missing new line"},
		"empty delimiter":               {in: "A<<\nv\n", wantErr: "delimiter must not be empty"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseFileCommand(tc.in)
			if (err != nil || tc.wantErr != "") && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v; want one containing %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Injection: whatever the values, argo-cred's GITHUB_ENV writer either
// refuses them before writing anything, or the runner reads back exactly
// the variables written: no value can end its heredoc, create or change a
// variable, or reach NODE_OPTIONS.
func TestInjectionReadBack(t *testing.T) {
	values := []string{
		"plain", "a\nb", "x=y", "A<<EOF", "ghadelimiter_00000000000000000000000000000000", "line\nghadelimiter_guess\nB=evil",
		"v\r", "\r\nEVIL=1", "=", "<<", "ns\nARGO_SERVER=evil:1", "EOF\nNODE_OPTIONS=--require /tmp/x", "", "\n\n", "🙂\u2028",
	}
	names := []string{"ARGO_NAMESPACE", "NODE_OPTIONS", "node_options", "A=B", "A<<B", "A\nB"}
	for _, name := range names {
		for _, v := range values {
			vars := []env.Var{{Name: "ARGO_SERVER", Value: "argo:443"}, {Name: name, Value: v}}
			var b bytes.Buffer
			if err := github.WriteEnv(&b, vars); err != nil {
				if b.Len() != 0 {
					t.Errorf("%q=%q refused, but %d bytes written", name, v, b.Len())
				}
				continue
			}
			got := map[string]string{}
			if err := applyEnv(b.String(), got); err != nil {
				t.Errorf("%q=%q: the runner fails the step: %v", name, v, err)
			}
			want := map[string]string{"ARGO_SERVER": "argo:443", name: v}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%q=%q read back (-want +got):\n%s", name, v, diff)
			}
		}
	}
}

// A delimiter argo-cred did not choose is refused, and so is a value
// holding the one it chose.
func FuzzGitHubEnvReadBack(f *testing.F) {
	f.Add("ARGO_NAMESPACE", "ci\nB=1")
	f.Fuzz(func(t *testing.T, name, value string) {
		var b bytes.Buffer
		if github.WriteEnv(&b, []env.Var{{Name: name, Value: value}}) != nil {
			return
		}
		got := map[string]string{}
		if err := applyEnv(b.String(), got); err != nil {
			t.Fatalf("%q=%q: %v", name, value, err)
		}
		if len(got) != 1 || got[name] != value {
			t.Fatalf("%q=%q read back as %q", name, value, got)
		}
	})
}

func TestMaskerPort(t *testing.T) {
	m := &masker{}
	log := processLog("before abc.def\n::add-mask::abc.def\nafter abc.def and "+b64("abc.def")+"\n::add-mask::l1%0Al2\nl1 l2\n", m)
	want := "before abc.def\n::add-mask::***\nafter *** and ***\n::add-mask::***\n*** ***\n\n"
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
