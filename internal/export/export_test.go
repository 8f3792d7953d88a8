package export

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/redact"
)

var sample = env.Settings{
	Server: "argo.example.com:443", Authorization: "Bearer eyJhbGciOi.eyJzdWIi.c2ln", Secure: true,
	Namespace: "ci", BaseHRef: "/argo",
}.Vars()

func ExampleShell() {
	_ = Shell(os.Stdout, sample)
	// Output:
	// { case $- in *x*) _argo_cred_x=1; set +x ;; *) _argo_cred_x= ;; esac; } 2>/dev/null
	// export ARGO_SERVER='argo.example.com:443'
	// export ARGO_TOKEN='Bearer eyJhbGciOi.eyJzdWIi.c2ln'
	// export ARGO_HTTP1='false'
	// export ARGO_SECURE='true'
	// export ARGO_INSECURE_SKIP_VERIFY='false'
	// export ARGO_NAMESPACE='ci'
	// export ARGO_BASE_HREF='/argo'
	// if [ -n "$_argo_cred_x" ]; then unset _argo_cred_x; set -x; else unset _argo_cred_x; fi
}

func ExampleDotenv() {
	_ = Dotenv(os.Stdout, sample)
	// Output:
	// ARGO_SERVER=argo.example.com:443
	// ARGO_TOKEN=Bearer eyJhbGciOi.eyJzdWIi.c2ln
	// ARGO_HTTP1=false
	// ARGO_SECURE=true
	// ARGO_INSECURE_SKIP_VERIFY=false
	// ARGO_NAMESPACE=ci
	// ARGO_BASE_HREF=/argo
}

func ExampleJSON() {
	_ = JSON(os.Stdout, sample)
	// Output:
	// {
	//   "ARGO_SERVER": "argo.example.com:443",
	//   "ARGO_TOKEN": "Bearer eyJhbGciOi.eyJzdWIi.c2ln",
	//   "ARGO_HTTP1": "false",
	//   "ARGO_SECURE": "true",
	//   "ARGO_INSECURE_SKIP_VERIFY": "false",
	//   "ARGO_NAMESPACE": "ci",
	//   "ARGO_BASE_HREF": "/argo"
	// }
}

func ExampleJenkins() {
	_ = Jenkins(os.Stdout, sample)
	// Output:
	// # argo-cred: read with readProperties, pass with withEnv
	// ARGO_SERVER=argo.example.com\:443
	// ARGO_TOKEN=Bearer eyJhbGciOi.eyJzdWIi.c2ln
	// ARGO_HTTP1=false
	// ARGO_SECURE=true
	// ARGO_INSECURE_SKIP_VERIFY=false
	// ARGO_NAMESPACE=ci
	// ARGO_BASE_HREF=/argo
}

func TestRefusals(t *testing.T) {
	nl := []env.Var{{Name: "ARGO_NAMESPACE", Value: "a\nexport EVIL=1"}}
	tests := map[string]struct {
		write func(*bytes.Buffer) error
		want  string
	}{
		"dotenv newline": {func(b *bytes.Buffer) error { return Dotenv(b, nl) }, "contains a newline"},
		"dotenv spaces":  {func(b *bytes.Buffer) error { return Dotenv(b, []env.Var{{Name: "A", Value: " x"}}) }, "white space"},
		"shell bad name": {func(b *bytes.Buffer) error { return Shell(b, []env.Var{{Name: "A;rm", Value: "x"}}) }, "invalid variable name"},
		"json bad utf-8": {func(b *bytes.Buffer) error { return JSON(b, []env.Var{{Name: "A", Value: "\x80"}}) }, "not valid UTF-8"},
		"json NUL":       {func(b *bytes.Buffer) error { return JSON(b, []env.Var{{Name: "A", Value: "a\x00"}}) }, "NUL"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			err := tc.write(&b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v; want one containing %q", err, tc.want)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %q; want nothing written on error", b.String())
			}
		})
	}
}

func TestPropertiesEscape(t *testing.T) {
	tests := map[string]string{
		"plain":   "plain",
		"a:b=c":   `a\:b\=c`,
		" lead":   `\ lead`,
		"x\ny":    `x\ny`,
		"é":       `\u00e9`,
		"😀":       `\ud83d\ude00`,
		`back\#!`: `back\\\#\!`,
	}
	for in, want := range tests {
		if diff := cmp.Diff(want, propertiesEscape(in)); diff != "" {
			t.Errorf("propertiesEscape(%q) (-want +got):\n%s", in, diff)
		}
	}
}

// TestShellRoundTrip evaluates the shell form in every POSIX shell on the
// machine and checks that each variable comes back byte for byte.
func TestShellRoundTrip(t *testing.T) {
	vars := []env.Var{
		{Name: "A", Value: `it's "quoted" $HOME $(id) ` + "`id`" + ` \n`},
		{Name: "B", Value: "two\nlines"},
		{Name: "C", Value: "'''"},
		{Name: "D", Value: ""},
	}
	var script bytes.Buffer
	if err := Shell(&script, vars); err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		script.WriteString(`printf '%s\0' "$` + v.Name + "\"\n")
	}
	ran := 0
	for _, sh := range []string{"bash", "dash", "zsh", "sh"} {
		path, err := exec.LookPath(sh)
		if err != nil {
			continue
		}
		ran++
		out, err := exec.Command(path, "-c", script.String()).Output()
		if err != nil {
			t.Fatalf("%s: %v", sh, err)
		}
		var want []string
		for _, v := range vars {
			want = append(want, v.Value)
		}
		got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", sh, diff)
		}
	}
	if ran == 0 {
		t.Fatal("no POSIX shell found")
	}
}

func ExampleJenkinsShell() {
	_ = JenkinsShell(os.Stdout, sample[:2])
	// Output:
	// # argo-cred: ARGO_* settings for Jenkins sh steps; source it with: . ./FILE
	// { case $- in *x*) _argo_cred_x=1; set +x ;; *) _argo_cred_x= ;; esac; } 2>/dev/null
	// export ARGO_SERVER='argo.example.com:443'
	// export ARGO_TOKEN='Bearer eyJhbGciOi.eyJzdWIi.c2ln'
	// if [ -n "$_argo_cred_x" ]; then unset _argo_cred_x; set -x; else unset _argo_cred_x; fi
}

// Both shell forms are sourced from a file (Jenkins runs sh steps as
// `sh -xe`; the README's shell recipe sources --output-file): sourcing
// traces no form of the token, sets the values, and leaves tracing as it
// was, in every POSIX shell here, with and without -e.
func TestShellFormsUnderTrace(t *testing.T) {
	for name, write := range map[string]func(io.Writer, []env.Var) error{"shell": Shell, "jenkins": JenkinsShell} {
		path := t.TempDir() + "/argo.sh"
		var b bytes.Buffer
		if err := write(&b, sample); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, shell := range []string{"sh", "bash", "dash", "zsh"} {
			if _, err := exec.LookPath(shell); err != nil {
				continue
			}
			for _, flags := range []string{"-xe", "-x", "-e", "-u"} {
				got := path + ".value"
				out, err := exec.Command(shell, flags, "-c", `. "$1"; printenv ARGO_TOKEN >"$2"; echo after`, "sh", path, got).CombinedOutput()
				if err != nil {
					t.Fatalf("%s: %s %s: %v\n%s", name, shell, flags, err, out)
				}
				if v, _ := os.ReadFile(got); string(v) != "Bearer eyJhbGciOi.eyJzdWIi.c2ln\n" {
					t.Errorf("%s: %s %s: ARGO_TOKEN %q after sourcing", name, shell, flags, v)
				}
				for _, form := range redact.Forms("eyJhbGciOi.eyJzdWIi.c2ln") {
					if strings.Contains(string(out), form) {
						t.Errorf("%s: %s %s printed the token:\n%s", name, shell, flags, out)
					}
				}
				traced := strings.Contains(string(out), "echo after")
				if traced != strings.Contains(flags, "x") {
					t.Errorf("%s: %s %s: tracing after sourcing is %t:\n%s", name, shell, flags, traced, out)
				}
			}
		}
	}
}

// One registry: the names in order, the hint's wording, and the usage
// error of an unknown name all come from it.
func TestRegistry(t *testing.T) {
	if diff := cmp.Diff([]string{"shell", "dotenv", "json", "github", "jenkins"}, Names()); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if got, want := Alternatives(), "shell, dotenv, json, github or jenkins"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
	for _, f := range Formats() {
		if w, err := Lookup(f.Name); err != nil || w == nil || f.Help == "" {
			t.Errorf("%s: writer %v, error %v, help %q", f.Name, w != nil, err, f.Help)
		}
	}
	_, err := Lookup("xml")
	if got, want := err.Error(), `unknown --format "xml"`; got != want || exitcode.Hint(err) != "use one of shell, dotenv, json, github, jenkins" || exitcode.Of(err) != exitcode.Usage {
		t.Errorf("got %q (hint %q, exit %d); want %q, the names and a usage error", got, exitcode.Hint(err), exitcode.Of(err), want)
	}
}
