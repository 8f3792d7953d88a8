package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/github"
	ver "github.com/argo-cred/argo-cred/internal/version"
)

// clearArgoEnv empties every variable argo-cred reads, so that the tests
// see only what they set.
func clearArgoEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ARGO_") || k == "KUBECONFIG" || strings.HasPrefix(k, "GITHUB_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

func runCLI(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = Run(context.Background(), args, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return out.String(), errOut.String(), code
}

// Precedence: a flag beats its environment variable, which beats the
// default; ARGO_* values are parsed as the argo CLI parses them.
func TestPrecedence(t *testing.T) {
	tests := map[string]struct {
		env  map[string]string
		args []string
		want map[string]string
	}{
		"defaults": {
			env:  map[string]string{"ARGO_SERVER": "env:1"},
			want: map[string]string{"ARGO_SERVER": "env:1", "ARGO_SECURE": "true", "ARGO_HTTP1": "false", "ARGO_INSECURE_SKIP_VERIFY": "false", "ARGO_NAMESPACE": "envns"},
		},
		"env only": {
			env:  map[string]string{"ARGO_SERVER": "env:1", "ARGO_SECURE": "false", "ARGO_HTTP1": "true", "ARGO_INSECURE_SKIP_VERIFY": "true", "ARGO_BASE_HREF": "/argo"},
			want: map[string]string{"ARGO_SERVER": "env:1", "ARGO_SECURE": "false", "ARGO_HTTP1": "true", "ARGO_INSECURE_SKIP_VERIFY": "true", "ARGO_NAMESPACE": "envns", "ARGO_BASE_HREF": "/argo"},
		},
		"flags win": {
			env:  map[string]string{"ARGO_SERVER": "env:1", "ARGO_SECURE": "false", "ARGO_HTTP1": "true", "ARGO_NAMESPACE": "envns"},
			args: []string{"--server", "flag:2", "--secure", "--http1=false", "--namespace", "flagns"},
			want: map[string]string{"ARGO_SERVER": "flag:2", "ARGO_SECURE": "true", "ARGO_HTTP1": "false", "ARGO_INSECURE_SKIP_VERIFY": "false", "ARGO_NAMESPACE": "flagns"},
		},
		"base href flag wins": {
			env:  map[string]string{"ARGO_SERVER": "env:1", "ARGO_HTTP1": "true", "ARGO_BASE_HREF": "/env"},
			args: []string{"--base-href", "/flag"},
			want: map[string]string{"ARGO_SERVER": "env:1", "ARGO_SECURE": "true", "ARGO_HTTP1": "true", "ARGO_INSECURE_SKIP_VERIFY": "false", "ARGO_NAMESPACE": "envns", "ARGO_BASE_HREF": "/flag"},
		},
		"argo parsing": {
			// argo: HTTP1 only if exactly "true"; SECURE unless exactly "false".
			env:  map[string]string{"ARGO_SERVER": "env:1", "ARGO_HTTP1": "1", "ARGO_SECURE": "no", "ARGO_INSECURE_SKIP_VERIFY": "True"},
			want: map[string]string{"ARGO_SERVER": "env:1", "ARGO_SECURE": "true", "ARGO_HTTP1": "false", "ARGO_INSECURE_SKIP_VERIFY": "false", "ARGO_NAMESPACE": "envns"},
		},
		"url scheme sets secure": {
			env:  map[string]string{"ARGO_SERVER": "http://env:1"},
			want: map[string]string{"ARGO_SERVER": "env:1", "ARGO_SECURE": "false", "ARGO_HTTP1": "false", "ARGO_INSECURE_SKIP_VERIFY": "false", "ARGO_NAMESPACE": "envns"},
		},
		"tool settings from env, flag wins": {
			env:  map[string]string{"ARGO_SERVER": "env:1", "ARGO_CRED_FORMAT": "shell"},
			args: []string{"--format", "json"},
			want: map[string]string{"ARGO_SERVER": "env:1", "ARGO_SECURE": "true", "ARGO_HTTP1": "false", "ARGO_INSECURE_SKIP_VERIFY": "false", "ARGO_NAMESPACE": "envns"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			clearArgoEnv(t)
			t.Setenv("ARGO_TOKEN", "Bearer a.b.c")
			t.Setenv("ARGO_NAMESPACE", "envns")
			t.Setenv("ARGO_CRED_FORMAT", "json")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			stdout, stderr, code := runCLI(append([]string{"env", "--probe=false"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("%v: %s", err, stdout)
			}
			tc.want["ARGO_TOKEN"] = "Bearer a.b.c"
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := map[string]struct {
		env     map[string]string
		args    []string
		wantErr string
	}{
		"no command":               {args: nil, wantErr: "error: no command given"},
		"unknown command":          {args: []string{"login"}, wantErr: `error: unknown command "login"`},
		"stray argument":           {args: []string{"env", "extra"}, wantErr: `unexpected argument "extra"`},
		"bad duration env":         {env: map[string]string{"ARGO_CRED_WAIT": "soon"}, args: []string{"env"}, wantErr: "ARGO_CRED_WAIT"},
		"source needs flag":        {args: []string{"env", "--source", "secret", "--server", "a:1"}, wantErr: "--source secret needs --secret"},
		"header needs http1":       {args: []string{"env", "--token-file", "/dev/null", "--server", "a:1", "--header", "X-A: b"}, wantErr: "--header works only with HTTP/1"},
		"secure contradicts":       {args: []string{"env", "--server", "http://a:1", "--secure"}, wantErr: "contradicts"},
		"newline in server":        {env: map[string]string{"ARGO_SERVER": "a:1\nexport X=1"}, args: []string{"env", "--token-file", "/dev/null"}, wantErr: "white space or control characters"},
		"bad namespace":            {args: []string{"env", "--token-file", "/dev/null", "--server", "a:1", "--namespace", "Bad_NS"}, wantErr: `invalid --namespace "Bad_NS"`},
		"namespace newline":        {env: map[string]string{"ARGO_NAMESPACE": "ci\nexport X=1"}, args: []string{"env", "--token-file", "/dev/null", "--server", "a:1"}, wantErr: "invalid --namespace"},
		"bad secret name":          {args: []string{"env", "--secret", "../etc", "--server", "a:1"}, wantErr: `invalid --secret "../etc"`},
		"github without env":       {args: []string{"env", "--format", "github"}, wantErr: "--format github needs GITHUB_ENV"},
		"bad output":               {args: []string{"probe", "-o", "yaml"}, wantErr: `unknown --output "yaml"`},
		"secret and sa":            {args: []string{"env", "--secret", "a", "--service-account", "b", "--server", "a:1"}, wantErr: "--secret and --service-account both given"},
		"duration too short":       {args: []string{"env", "--service-account", "b", "--duration", "5m", "--server", "a:1"}, wantErr: "--duration 5m0s is under the minimum of 10m"},
		"base href needs http1":    {env: map[string]string{"ARGO_BASE_HREF": "/argo"}, args: []string{"env", "--token-file", "/dev/null", "--server", "a:1"}, wantErr: "--base-href (ARGO_BASE_HREF) works only with HTTP/1"},
		"bool flag before command": {args: []string{"--http1", "env"}, wantErr: "a flag of argo-cred env goes after the command name"},
		"bool with a space":        {args: []string{"env", "--secure", "false"}, wantErr: "a boolean flag takes its value after '='"},
		"duration no unit":         {args: []string{"env", "--wait", "5"}, wantErr: "a duration needs a unit"},
		"unknown flag":             {args: []string{"env", "--nope"}, wantErr: "flag provided but not defined: --nope"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			clearArgoEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			stdout, stderr, code := runCLI(tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tc.wantErr)
			}
			if stdout != "" {
				t.Errorf("stdout %q; want nothing", stdout)
			}
			if lines := strings.Split(strings.TrimSpace(stderr), "\n"); !strings.HasPrefix(lines[len(lines)-1], "error: ") {
				t.Errorf("stderr %q; want it to end in one error line", stderr)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	clearArgoEnv(t)
	if stdout, _, code := runCLI("help"); code != 0 || !strings.Contains(stdout, "Exit codes:") {
		t.Errorf("help: exit %d, stdout %q; want help with exit codes on stdout", code, stdout)
	}
	// A command's help goes to stderr: eval "$(argo-cred env --help)" runs nothing.
	for _, args := range [][]string{{"env", "--help"}, {"probe", "-h"}} {
		stdout, stderr, code := runCLI(args...)
		if code != 0 || stdout != "" || !strings.Contains(stderr, "Exit codes:") {
			t.Errorf("%v: exit %d, stdout %q; want help with exit codes on stderr only", args, code, stdout)
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if stdout, stderr, code := runCLI("completion", shell); code != 0 || !strings.Contains(stdout, "argo-cred") {
			t.Errorf("completion %s: exit %d, stderr %q", shell, code, stderr)
		}
	}
	ver.Version = "v1.2.3"
	defer func() { ver.Version = "" }()
	if stdout, _, code := runCLI("--version"); code != 0 || stdout != "argo-cred v1.2.3\n" {
		t.Errorf("--version: %d %q", code, stdout)
	}
	if stdout, _, code := runCLI("version"); code != 0 || !strings.HasPrefix(stdout, "argo-cred v1.2.3\n  commit: ") || !strings.Contains(stdout, "  go: go1.") {
		t.Errorf("version: %d %q", code, stdout)
	}
	var info map[string]string
	stdout, _, code := runCLI("version", "-o", "json")
	if err := json.Unmarshal([]byte(stdout), &info); code != 0 || err != nil || info["version"] != "v1.2.3" || info["go"] == "" {
		t.Errorf("version -o json: %d %q %v", code, stdout, err)
	}
}

// GNU-style flags: a command's flags may come before its name or after it.
func TestFlagsAnywhere(t *testing.T) {
	clearArgoEnv(t)
	t.Setenv("ARGO_TOKEN", "Bearer a.b.c")
	for _, args := range [][]string{
		{"--server", "flag:2", "--namespace=ci", "env", "--probe=false", "--format", "json"},
		{"env", "--format", "json", "--server", "flag:2", "--probe=false", "--namespace", "ci"},
	} {
		stdout, stderr, code := runCLI(args...)
		if code != 0 || !strings.Contains(stdout, `"ARGO_SERVER": "flag:2"`) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
}

// actionInputOptions maps each input applyInputs sets to its option; the
// kind follows from the option's type. The other inputs (token,
// kubeconfig, ca) become the environment or files (github.ReadInputs);
// job-timeout is the action's own (github.WarnExpiry).
var actionInputOptions = map[string]func(o *Options) any{
	"server": func(o *Options) any { return &o.Server }, "namespace": func(o *Options) any { return &o.Namespace },
	"source": func(o *Options) any { return &o.Source }, "secret": func(o *Options) any { return &o.Secret },
	"client":           func(o *Options) any { return &o.Client },
	"secret-namespace": func(o *Options) any { return &o.SecretNS }, "service-account": func(o *Options) any { return &o.ServiceAccount },
	"base-href": func(o *Options) any { return &o.BaseHRef },
	"http1":     func(o *Options) any { return (*bool)(&o.HTTP1) }, "secure": func(o *Options) any { return (*bool)(&o.Secure) },
	"insecure-skip-verify": func(o *Options) any { return (*bool)(&o.InsecureSkipVerify) },
	"probe":                func(o *Options) any { return &o.Probe }, "bind": func(o *Options) any { return &o.Bind },
	"strict":   func(o *Options) any { return &o.Strict },
	"duration": func(o *Options) any { return &o.Duration }, "wait": func(o *Options) any { return &o.Wait },
	"timeout": func(o *Options) any { return &o.Timeout },
	"expect":  func(o *Options) any { return &o.Expect }, "audience": func(o *Options) any { return &o.Audiences },
	"for": func(o *Options) any { return &o.For },
}

// Every input action.yml declares is read by applyInputs or by action.
func TestActionInputsAllRead(t *testing.T) {
	var got []string
	for name := range actionInputOptions {
		got = append(got, name)
	}
	got = append(got, "token", "kubeconfig", "ca", "job-timeout")
	if diff := cmp.Diff(github.Inputs, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("inputs (-github.Inputs +read):\n%s", diff)
	}
}

// actionInputSentinel is an options value with every input's option set,
// so that an input that changes the wrong option shows.
func actionInputSentinel() *Options {
	o := &Options{Bind: true, set: map[string]bool{}}
	o.Server, o.Namespace, o.Source, o.Secret, o.Client, o.SecretNS, o.ServiceAccount, o.BaseHRef = "s:1", "ns", "src", "sec", "cl", "secns", "sa", "/b"
	o.HTTP1, o.Secure, o.InsecureSkipVerify, o.Probe = true, false, true, false
	o.Duration, o.Wait, o.Timeout = 7*time.Minute, 7*time.Second, 7*time.Millisecond
	o.Expect, o.Audiences = []string{"deny:cronworkflows"}, []string{"aud"}
	return o
}

// wantActionInput applies one input value to o the way the action
// documents it: trimmed; empty means not given; a string as given; a
// boolean and a duration as Go's strconv.ParseBool and time.ParseDuration
// read them (else a usage error); a list split at commas and line breaks,
// each item trimmed and empty items dropped, as --expect and --audience
// read a comma-separated flag. ok is false for a malformed value.
func wantActionInput(o *Options, name, v string) (ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return true
	}
	switch p := actionInputOptions[name](o).(type) {
	case *string:
		*p = v
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false
		}
		*p = b
	case *time.Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return false
		}
		*p, o.set[name] = d, true
	case *[]string:
		*p = nil
		for _, item := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
			if item = strings.TrimSpace(item); item != "" {
				*p = append(*p, item)
			}
		}
	}
	return true
}

// FuzzActionInputs: whatever the workflow gives as two inputs, each
// reaches the option it names and nothing else changes; or one was
// malformed, and the error is a usage error naming a malformed input.
func FuzzActionInputs(f *testing.F) {
	names := slices.Sorted(maps.Keys(actionInputOptions))
	index := func(name string) uint8 { return uint8(slices.Index(names, name)) }
	f.Add(index("server"), "argo:443", index("http1"), "true")
	f.Add(index("expect"), "allow:workflows/list\ndeny:x", index("audience"), "aud1,aud2")
	f.Add(index("timeout"), "30s", index("secure"), "yes")
	f.Add(index("namespace"), " ci ", index("bind"), "")
	f.Fuzz(func(t *testing.T, i uint8, v string, j uint8, w string) {
		if strings.ContainsRune(v, 0) || strings.ContainsRune(w, 0) {
			return // no environment variable holds a NUL
		}
		given := map[string]string{}
		given[names[int(j)%len(names)]] = w
		given[names[int(i)%len(names)]] = v // i wins if both name one input
		for _, name := range names {
			t.Setenv("INPUT_"+strings.ToUpper(name), given[name])
		}
		want, malformed := actionInputSentinel(), map[string]bool{}
		for name, value := range given {
			if !wantActionInput(want, name, value) {
				malformed[name] = true
			}
		}
		got := actionInputSentinel()
		in, err := github.New(os.LookupEnv, io.Discard).ReadInputs()
		applyInputs(got, in)
		if len(malformed) > 0 {
			named := false
			for name := range malformed {
				named = named || err != nil && strings.Contains(err.Error(), "input "+name+":")
			}
			if exitcode.Of(err) != exitcode.Usage || !named {
				t.Fatalf("inputs %q: got error %v (exit %d); want a usage error naming one of %v", given, err, exitcode.Of(err), malformed)
			}
			return
		}
		if err != nil {
			t.Fatalf("inputs %q: %v", given, err)
		}
		for _, o := range []*Options{want, got} { // nil and empty lists alike
			if len(o.Expect) == 0 {
				o.Expect = nil
			}
			if len(o.Audiences) == 0 {
				o.Audiences = nil
			}
			if len(o.For) == 0 {
				o.For = nil
			}
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("inputs %q (-want +got):\n%s", given, cmp.Diff(want, got, cmp.AllowUnexported(Options{})))
		}
	})
}

// provision, rotate and revoke validate the settings two or three times;
// each note is said once.
func TestValidateNotesOnce(t *testing.T) {
	clearArgoEnv(t)
	t.Setenv("ARGO_HTTP1", "yes")
	t.Setenv("ARGO_INSTANCEID", "x")
	var errOut bytes.Buffer
	a := &app{streams: IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &errOut}}
	o := &Options{}
	o.Server, o.Expect, o.Timeout = "http://127.0.0.1:2746", []string{"allow:workflowtemplates/list"}, time.Second
	for range 3 {
		if _, _, err := a.validate(o); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	want := []string{
		"note: ARGO_SERVER given as a URL: using 127.0.0.1:2746 with ARGO_SECURE=false",
		`note: ARGO_HTTP1="yes" counts as false: argo reads only exactly "true" as true`,
		"warning: ARGO_INSTANCEID is set: the argo CLI refuses it together with ARGO_SERVER; unset it where argo runs",
		"note: --expect replaces the default least-privilege check deny:workflowtemplates/list",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
}

// An app not made by Run (checkSecret's quiet copy) still has its runtime:
// masks go to its own stderr, never skipped, never a nil runtime.
func TestRuntimeOfAppNotMadeByRun(t *testing.T) {
	clearArgoEnv(t)
	t.Setenv("GITHUB_ACTIONS", "true")
	var errOut bytes.Buffer
	a := &app{streams: IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &errOut}}
	if err := a.runtime().Mask("s3cret"); err != nil || !strings.Contains(errOut.String(), "::add-mask::s3cret\n") {
		t.Errorf("got %q, %v; want the masks on the app's stderr", errOut.String(), err)
	}
}
