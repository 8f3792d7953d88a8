package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// The tests in this file run argo-cred against hostile servers
// (internal/testenv/hostile.go) and assert on what those servers received
// and on what argo-cred printed. They need no stack.

// jwt makes an unsigned token with the given claims: good enough for
// argo-cred, which reads claims only for display and comparison.
func jwt(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "kid": "test"}) + "." + enc(claims) + ".c2lnbmF0dXJlLW9mLWEtaG9zdGlsZS10ZXN0LXRva2VuLTEyMzQ1Njc4OTA"
}

var hostileToken = jwt(map[string]any{
	"sub": "system:serviceaccount:ci:ci", "iss": "https://kubernetes.default.svc",
	"exp": time.Now().Add(time.Hour).Unix(), "kubernetes.io": map[string]any{"namespace": "ci", "serviceaccount": map[string]string{"name": "ci"}},
})

// headerSecret is an extra --header value that must go only to the server.
const headerSecret = "X-Api-Key: hdr-secret-value-0123456789abcdef"

// hostileRun runs argo-cred with the token in ARGO_TOKEN.
func hostileRun(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return run(t, append([]string{"ARGO_TOKEN=Bearer " + hostileToken, "ARGO_NAMESPACE=ci"}, env...), args...)
}

// noTokenIn fails when any form of the token or the header value is in s.
func noTokenIn(t *testing.T, where, s string) {
	t.Helper()
	noLeak(t, hostileToken, where, s)
	if strings.Contains(s, "hdr-secret-value") {
		t.Errorf("the --header value appears in %s:\n%s", where, s)
	}
}

func noneReached(t *testing.T, h *testenv.Hostile) {
	t.Helper()
	if leaks := h.Leaks("Bearer "+hostileToken, "hdr-secret-value-0123456789abcdef"); len(leaks) > 0 {
		t.Errorf("a server the user never trusted received the credential: %+v", leaks)
	}
}

// Findings 1 and 2: a failed first call is explained without ever sending
// the token (or --header values) over a transport the user did not choose,
// and without weakening certificate checks.
func TestHostileDiagnosisSendsNoCredential(t *testing.T) {
	t.Parallel()
	plainOnly := testenv.PlainOnly(t)
	noH2 := testenv.NoH2(t)
	otherCA := filepath.Join(testenv.Root(), "internal", "testenv", "testdata", "other-ca.pem")
	tests := map[string]struct {
		h    *testenv.Hostile
		args []string
	}{
		"tls reset, plain served, grpc":  {plainOnly, []string{"--server", plainOnly.Addr}},
		"tls reset, plain served, http1": {plainOnly, []string{"--server", plainOnly.Addr, "--http1", "--header", headerSecret}},
		"no h2, untrusted cert":          {noH2, []string{"--server", noH2.Addr}},
		"no h2, cert of another CA":      {noH2, []string{"--server", noH2.Addr, "--ca-file", otherCA}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := hostileRun(t, nil, append([]string{"probe", "--timeout", "10s"}, tc.args...)...)
			wantCode(t, r, 4, "error: ")
			noTokenIn(t, "stderr", r.stderr)
			noneReached(t, tc.h)
		})
	}
	// What the plain-only server received at all: nothing with a credential,
	// and at most requests without one.
	for _, s := range plainOnly.Requests() {
		if s.Header.Get("Authorization") != "" || s.Header.Get("X-Api-Key") != "" {
			t.Errorf("plain request with a credential: %+v", s)
		}
	}
}

// Finding 3: no redirect is followed, whatever its target; a 3xx is "not
// the Argo API" (exit 4).
func TestHostileRedirectsNotFollowed(t *testing.T) {
	t.Parallel()
	target := testenv.FakeArgo(t, "system:serviceaccount:ci:ci", "v3.7.9", "denied")
	_, port, _ := strings.Cut(target.Addr, ":")
	tests := map[string]struct {
		tls  bool
		to   string
		args []string
	}{
		"same host, other port":   {to: target.URL},
		"other host":              {to: "http://localhost:" + port},
		"https to http":           {tls: true, to: target.URL, args: []string{"--insecure-skip-verify"}},
		"https to http same port": {tls: true, to: "http://127.0.0.1:" + port, args: []string{"--insecure-skip-verify"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			redirect := testenv.Redirect(t, tc.tls, tc.to)
			args := append([]string{"probe", "--http1", "--server", redirect.URL, "--header", headerSecret, "--timeout", "10s"}, tc.args...)
			r := hostileRun(t, nil, args...)
			wantCode(t, r, 4, "redirect")
			noTokenIn(t, "stderr", r.stderr)
			noneReached(t, target)
			if n := len(redirect.Requests()); n == 0 {
				t.Error("the redirecting server saw no request")
			}
		})
	}
}

// Findings 4, 6 and 14: --output-file is always a 0600 atomic write of a
// regular file; it never appends, follows a symlink, replaces a device or
// FIFO, or replaces a file argo-cred did not write.
func TestHostileOutputFiles(t *testing.T) {
	t.Parallel()
	env := []string{"ARGO_SERVER=127.0.0.1:1", "ARGO_SECURE=false", "GITHUB_ACTIONS=true"}
	type file struct{ path, content string }
	tests := map[string]struct {
		setup       func(t *testing.T, dir string) (out string, keep []file)
		format      string
		code        int
		stderrHas   string
		wantRegular bool // the output path afterwards holds a 0600 regular file with the token
	}{
		"github replaces a 0644 file, never appends": {
			setup: func(t *testing.T, dir string) (string, []file) {
				p := filepath.Join(dir, "out")
				must(t, os.WriteFile(p, []byte("OLD=1\n"), 0o644))
				return p, nil
			},
			format: "github", wantRegular: true,
		},
		"github refuses a symlink": {
			setup: func(t *testing.T, dir string) (string, []file) {
				target := filepath.Join(dir, "public")
				must(t, os.WriteFile(target, []byte("public\n"), 0o644))
				p := filepath.Join(dir, "out")
				must(t, os.Symlink(target, p))
				return p, []file{{target, "public\n"}}
			},
			format: "github", code: 2, stderrHas: "not a regular file",
		},
		"dotenv refuses a FIFO": {
			setup: func(t *testing.T, dir string) (string, []file) {
				p := filepath.Join(dir, "fifo")
				must(t, syscall.Mkfifo(p, 0o644))
				return p, nil
			},
			format: "dotenv", code: 2, stderrHas: "not a regular file",
		},
		"json refuses a character device": {
			setup: func(t *testing.T, dir string) (string, []file) {
				// /dev/null itself: a device any user may open, so that no
				// test needs CAP_MKNOD to make one.
				return os.DevNull, nil
			},
			format: "json", code: 2, stderrHas: "a device, not a regular file",
		},
		"shell refuses a directory": {
			setup: func(t *testing.T, dir string) (string, []file) {
				p := filepath.Join(dir, "sub")
				must(t, os.Mkdir(p, 0o755))
				return p, nil
			},
			format: "shell", code: 2, stderrHas: "not a regular file",
		},
		"jenkins never replaces a .sh it did not write": {
			setup: func(t *testing.T, dir string) (string, []file) {
				p := filepath.Join(dir, "argo.properties")
				must(t, os.WriteFile(p+".sh", []byte("#!/bin/sh\necho build\n"), 0o755))
				return p, []file{{p + ".sh", "#!/bin/sh\necho build\n"}}
			},
			format: "jenkins", code: 2, stderrHas: "argo-cred did not write",
		},
		"jenkins writes both or neither": {
			setup: func(t *testing.T, dir string) (string, []file) {
				p := filepath.Join(dir, "argo.properties")
				must(t, os.Mkdir(p, 0o755)) // the properties file cannot be written
				return p, nil
			},
			format: "jenkins", code: 2, stderrHas: "not a regular file",
		},
		"jenkins": {
			setup:  func(t *testing.T, dir string) (string, []file) { return filepath.Join(dir, "argo.properties"), nil },
			format: "jenkins", wantRegular: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			out, keep := tc.setup(t, dir)
			before := listDir(t, dir)
			r := hostileRun(t, env, "env", "--probe=false", "--format", tc.format, "--output-file", out)
			wantCode(t, r, tc.code, tc.stderrHas)
			noTokenIn(t, "stdout", nonMaskOut(r.stdout))
			for _, k := range keep {
				if b, err := os.ReadFile(k.path); err != nil || string(b) != k.content {
					t.Errorf("%s changed: %q, %v", k.path, b, err)
				}
			}
			if tc.code != 0 {
				if after := listDir(t, dir); after != before {
					t.Errorf("a failed run changed the directory:\nbefore %s\nafter  %s", before, after)
				}
				return
			}
			paths := []string{out}
			if tc.format == "jenkins" {
				paths = append(paths, out+".sh")
			}
			for _, p := range paths {
				st, err := os.Lstat(p)
				if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
					t.Fatalf("%s: %v, %v; want a 0600 regular file", p, st.Mode(), err)
				}
				b, _ := os.ReadFile(p)
				if strings.Contains(string(b), "OLD=1") || !strings.Contains(string(b), hostileToken) {
					t.Errorf("%s:\n%s\nwant only the new settings", p, b)
				}
			}
			// Running again replaces what argo-cred wrote.
			r = hostileRun(t, env, "env", "--probe=false", "--format", tc.format, "--output-file", out)
			wantCode(t, r, 0, "")
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// listDir describes a directory's entries: name, type and size.
func listDir(t *testing.T, dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		info, _ := e.Info()
		fmt.Fprintf(&b, "%s %v %d; ", e.Name(), info.Mode(), info.Size())
	}
	return b.String()
}

func nonMask(stdout string) []string {
	var out []string
	for _, l := range strings.Split(stdout, "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			out = append(out, l)
		}
	}
	return out
}

// Finding 5: outside GitHub Actions nothing masks, so --format github
// prints no form of the token and says why.
func TestHostileGitHubMasksOnlyInActions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := []string{"ARGO_SERVER=127.0.0.1:1", "ARGO_SECURE=false", "GITHUB_ENV=" + filepath.Join(dir, "env")}
	r := hostileRun(t, base, "env", "--probe=false", "--format", "github")
	wantCode(t, r, 0, "not in GitHub Actions")
	noTokenIn(t, "stdout", r.stdout)
	noTokenIn(t, "stderr", r.stderr)

	r = hostileRun(t, append(base, "GITHUB_ACTIONS=true"), "env", "--probe=false", "--format", "github")
	wantCode(t, r, 0, "")
	if !strings.HasPrefix(r.stderr, "::add-mask::") || !strings.Contains(r.stderr, "::add-mask::"+hostileToken+"\n") {
		t.Errorf("in Actions: stderr %q; want the masks first", r.stderr)
	}
	// The missing-GITHUB_ENV hint does not lead to printing the token.
	r = hostileRun(t, []string{"ARGO_SERVER=127.0.0.1:1"}, "env", "--probe=false", "--format", "github")
	wantCode(t, r, 2, "needs GITHUB_ENV")
	if strings.Contains(r.stderr, "give --output-file") && !strings.Contains(r.stderr, "GitHub Actions") {
		t.Errorf("hint %q", r.stderr)
	}
}

// Finding 7: the identity check is not skipped for tokens without a
// subject, and an empty subject from the server always fails.
func TestHostileIdentity(t *testing.T) {
	t.Parallel()
	serverOwn := testenv.FakeArgo(t, "", "v3.7.9", "denied")
	honest := testenv.FakeArgo(t, "system:serviceaccount:ci:ci", "v3.7.9", "denied")
	noSub := jwt(map[string]any{"iss": "x", "kubernetes.io": map[string]any{"namespace": "ci"}})
	tests := map[string]struct {
		token, server string
		args          []string
		code          int
		stderrHas     string
	}{
		"jwt, server reports no subject":       {hostileToken, serverOwn.Addr, nil, 7, "ran the request as the server's own service account"},
		"not a jwt, server reports no subject": {"garbage-token-0123456789abcdefghij", serverOwn.Addr, nil, 7, "identity could not be checked"},
		"jwt without sub":                      {noSub, serverOwn.Addr, nil, 7, "identity could not be checked"},
		"jwt without sub, server reports one":  {noSub, honest.Addr, nil, 7, "not as the token's identity"},
		"not a jwt, opted out":                 {"garbage-token-0123456789abcdefghij", serverOwn.Addr, []string{"--skip-identity-check"}, 0, "identity not checked"},
		"not a jwt, server reports someone":    {"garbage-token-0123456789abcdefghij", honest.Addr, []string{"--skip-identity-check"}, 7, "not as the token"},
		"honest":                               {hostileToken, honest.Addr, nil, 0, "verdict: ok"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"probe", "--http1", "--secure=false", "--server", tc.server, "--namespace", "ci"}, tc.args...)
			r := run(t, []string{"ARGO_TOKEN=" + tc.token}, args...)
			wantCode(t, r, tc.code, tc.stderrHas)
		})
	}
}

// Finding 8: server-supplied text is printed without control characters,
// line breaks of any kind, bidi controls or workflow commands, and escaped
// in Markdown.
func TestHostileServerText(t *testing.T) {
	t.Parallel()
	evil := "evil\n::error title=pwned::owned\r\x1b[2J\u2028::warning::x\u202e<script>|`code`"
	// (Go's HTTP client itself refuses control characters in a header.)
	fake := testenv.FakeArgo(t, evil, "v3.7.9 ::error::version", evil)
	dir := t.TempDir()
	summary := filepath.Join(dir, "summary.md")
	env := []string{"ARGO_SERVER=" + fake.Addr, "ARGO_SECURE=false", "ARGO_HTTP1=true", "GITHUB_ACTIONS=true",
		"GITHUB_ENV=" + filepath.Join(dir, "env"), "GITHUB_STEP_SUMMARY=" + summary}
	for name, args := range map[string][]string{
		"identity":          {"env", "--format", "github"},
		"expectation":       {"env", "--format", "github", "--skip-identity-check", "--expect", "allow:workflows,allow:cronworkflows"},
		"probe json":        {"probe", "-o", "json"},
		"probe table, -v":   {"probe", "-v"},
		"denied message -v": {"probe", "-v", "--skip-identity-check", "--expect", "allow:workflowtemplates"},
	} {
		t.Run(name, func(t *testing.T) {
			r := hostileRun(t, env, args...)
			if r.code == 0 {
				t.Fatalf("exit 0; the server's subject is not the token's")
			}
			for _, out := range []string{nonMaskOut(r.stderr), nonMaskOut(r.stdout)} {
				for _, bad := range []string{"\x1b", "\r", "\u2028", "\u202e"} {
					if strings.Contains(out, bad) {
						t.Errorf("output contains %q:\n%s", bad, out)
					}
				}
				for _, l := range strings.Split(out, "\n") {
					// Only argo-cred's own ::error line, in Actions.
					if strings.HasPrefix(strings.TrimSpace(l), "::") && !strings.HasPrefix(l, "::error title=argo-cred ") {
						t.Errorf("a line a runner would read as a workflow command: %q", l)
					}
				}
			}
		})
	}
	b, err := os.ReadFile(summary)
	if err != nil || !strings.Contains(string(b), "evil") {
		t.Fatalf("step summary: %v\n%s\nwant the failed report with the server's subject", err, b)
	}
	// Server text is only ever inside code spans: no markup, no links.
	for _, bad := range []string{"<script>", "|`code`", "\x1b", "\n::"} {
		if strings.Contains(outsideCode(string(b)), bad) {
			t.Errorf("step summary contains %q outside a code span:\n%s", bad, b)
		}
	}
}

// outsideCode is Markdown without its code spans (a run of n backticks up
// to the next run of exactly n).
func outsideCode(md string) string {
	var b strings.Builder
	for i := 0; i < len(md); {
		if md[i] != '`' {
			b.WriteByte(md[i])
			i++
			continue
		}
		n := 0
		for i+n < len(md) && md[i+n] == '`' {
			n++
		}
		fence := strings.Repeat("`", n)
		end := i + n
		for {
			j := strings.Index(md[end:], fence)
			if j < 0 {
				return b.String() + md[i:] // unclosed: all of it counts
			}
			end += j
			if end+n < len(md) && md[end+n] == '`' {
				for end < len(md) && md[end] == '`' {
					end++
				}
				continue
			}
			break
		}
		i = end + n
	}
	return b.String()
}

// Finding 1 of the second review: a hostile Argo Server that echoes the
// token's subject (so the identity check passes) and puts runner commands,
// in both of the runner's forms, in the version header and its error
// messages. Every line argo-cred prints, on either stream, in every mode,
// goes through a port of the runner's command parser: the only commands
// are argo-cred's own masks and its one ::error annotation, and in action
// mode there is no second plain line with the server's text. Server links
// are defanged in the annotation and code in the step summary.
func TestHostileRunnerCommands(t *testing.T) {
	t.Parallel()
	legacy := "##[save-state name=binding;]victim ##[set-output name=server;]evil.example:443 ##[add-mask]x"
	msg := "denied " + legacy + " see https://evil.example/fix\n::stop-commands::tok"
	fake := testenv.FakeArgo(t, "system:serviceaccount:ci:ci", "v3.7.9 "+legacy, msg)
	for name, args := range map[string][]string{
		"action":            {"action"},
		"env github":        {"env", "--format", "github", "--expect", "allow:cronworkflows/list"},
		"env shell":         {"env", "--expect", "allow:cronworkflows/list"},
		"env json":          {"env", "--format", "json", "--expect", "allow:cronworkflows/list"},
		"probe table -v":    {"probe", "-v", "--expect", "allow:cronworkflows/list"},
		"probe json":        {"probe", "-o", "json", "--expect", "allow:cronworkflows/list"},
		"probe ok, version": {"probe", "-v"},
		"claims, probe -v":  {"probe", "-v", "--expect", "allow:cronworkflows/list"},
		"claims, json":      {"probe", "-o", "json"},
		"claims, action":    {"action"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			files := map[string]string{}
			for _, f := range []string{"GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"} {
				files[f] = filepath.Join(dir, f)
				must(t, os.WriteFile(files[f], nil, 0o644))
			}
			env := []string{"ARGO_SERVER=" + fake.Addr, "ARGO_SECURE=false", "ARGO_HTTP1=true", "GITHUB_ACTIONS=true", "RUNNER_TEMP=" + dir,
				"INPUT_EXPECT=allow:cronworkflows/list"}
			for k, v := range files {
				env = append(env, k+"="+v)
			}
			if strings.HasPrefix(name, "claims") {
				// The token's own (unverified) claims, chosen by whoever
				// made it, printed in the table, the JSON and -v lines.
				evil := jwt(map[string]any{"sub": "##[save-state name=binding;]victim\n::set-output name=pwned::yes", "iss": "##[add-mask]x",
					"exp": time.Now().Add(time.Hour).Unix(), "kubernetes.io": map[string]any{"namespace": "ci"}})
				env = append(env, "ARGO_TOKEN="+evil, "INPUT_TOKEN="+evil)
			}
			r := hostileRun(t, env, args...)
			if strings.Contains(name, "ok") != (r.code == 0) {
				t.Errorf("exit %d\n%s", r.code, r.stderr)
			}
			annotations := 0
			for _, out := range []string{r.stdout, r.stderr} {
				for _, c := range testenv.RunnerCommands(out) {
					switch {
					case c.Name == "add-mask" && !c.Legacy:
					case c.Name == "error" && !c.Legacy && strings.HasPrefix(c.Props["title"], "argo-cred "):
						annotations++
						if strings.Contains(c.Data, "https://evil") {
							t.Errorf("the annotation links the server's URL: %q", c.Data)
						}
					default:
						t.Errorf("the runner would run %+v from argo-cred's output:\n%s", c, out)
					}
				}
			}
			plain := strings.Contains(r.stderr, "\nerror: ") || strings.HasPrefix(r.stderr, "error: ")
			annotated := name == "action" || name == "env github" || name == "claims, action"
			if r.code != 0 && annotated && (annotations != 1 || plain) {
				t.Errorf("want the failure once, as one ::error line; got %d annotations:\n%s", annotations, r.stderr)
			}
			if r.code != 0 && !annotated && (annotations != 0 || !plain) {
				t.Errorf("want one plain error line; got %d annotations:\n%s", annotations, r.stderr)
			}
			state, _ := os.ReadFile(files["GITHUB_STATE"])
			if strings.Contains(string(state), "binding") {
				t.Errorf("GITHUB_STATE names a binding:\n%s", state)
			}
			if sum, _ := os.ReadFile(files["GITHUB_STEP_SUMMARY"]); strings.Contains(outsideCode(string(sum)), "evil") {
				t.Errorf("the step summary shows server text outside code:\n%s", sum)
			}
		})
	}
}

// nonMaskOut is stdout without the ::add-mask:: lines argo-cred writes on
// purpose.
func nonMaskOut(s string) string { return strings.Join(nonMask(s), "\n") }

// Finding 9: token and CA files are read only when small, a CA file only
// when regular; a token file may be a FIFO or a pipe (a shell's process
// substitution, --token-file <(vault kv get …)), read with the same size
// bound and within --timeout, never blocking past them; devices,
// directories and sockets are refused at once.
func TestHostileFileReads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	must(t, syscall.Mkfifo(fifo, 0o600))
	huge := filepath.Join(dir, "huge")
	f, err := os.Create(huge)
	must(t, err)
	must(t, f.Truncate(6<<30)) // sparse: 6 GiB that take no disk
	f.Close()
	env := []string{"ARGO_SERVER=127.0.0.1:1", "ARGO_SECURE=false", "ARGO_NAMESPACE=ci"}
	tests := map[string]struct {
		args      []string
		code      int
		stderrHas string
	}{
		"token file is huge":        {[]string{"--token-file", huge}, 3, "larger than"},
		"token file is a directory": {[]string{"--token-file", dir}, 3, "not a regular file"},
		"token file is a device":    {[]string{"--token-file", "/dev/zero"}, 3, "is a device, not a regular file"},
		"CA file is a FIFO":         {[]string{"--ca-file", fifo, "--secure"}, 2, "not a regular file"},
		"CA file is huge":           {[]string{"--ca-file", huge, "--secure"}, 2, "larger than"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			r := hostileRun(t, env, append([]string{"env", "--timeout", "30s"}, tc.args...)...)
			wantCode(t, r, tc.code, tc.stderrHas)
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}

	// Through bash, as users write it: a process substitution is
	// /dev/fd/N, a pipe. The token is another than ARGO_TOKEN's.
	fifoToken := jwt(map[string]any{"sub": "system:serviceaccount:ci:from-a-fifo", "exp": time.Now().Add(time.Hour).Unix()})
	bash := func(t *testing.T, script string, env ...string) (result, time.Duration) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-c", script)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "BIN=" + binary, "FIFO_TOKEN=" + fifoToken,
			"ARGO_SERVER=127.0.0.1:1", "ARGO_SECURE=false", "ARGO_NAMESPACE=ci"}, env...)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		start := time.Now()
		err := cmd.Run()
		return result{stdout: out.String(), stderr: errOut.String(), code: exitCode(t, "bash", err)}, time.Since(start)
	}
	for name, writer := range map[string]string{
		"at once":                  `printf '%s\n' "$FIFO_TOKEN"`,
		"after a second":           `sleep 1; printf '%s\n' "$FIFO_TOKEN"`,
		"in pieces, with a pause":  `printf %s "${FIFO_TOKEN%%.*}"; sleep 0.5; printf '.%s\n' "${FIFO_TOKEN#*.}"`,
		"as vault kv get -field=…": `printf %s "$FIFO_TOKEN"`,
	} {
		t.Run("process substitution, token written "+name, func(t *testing.T) {
			t.Parallel()
			r, _ := bash(t, `exec "$BIN" env --probe=false --timeout 10s --token-file <(`+writer+`)`)
			if r.code != 0 || !strings.Contains(r.stdout, fifoToken) {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant the FIFO's token exported", r.code, r.stdout, r.stderr)
			}
		})
	}
	t.Run("a named FIFO whose writer comes later", func(t *testing.T) {
		t.Parallel()
		p := filepath.Join(t.TempDir(), "token")
		must(t, syscall.Mkfifo(p, 0o600))
		r, _ := bash(t, `(sleep 1; printf '%s\n' "$FIFO_TOKEN" >"$P") & exec "$BIN" env --probe=false --timeout 10s --token-file "$P"`, "P="+p)
		if r.code != 0 || !strings.Contains(r.stdout, fifoToken) {
			t.Errorf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})
	// A FIFO that never gives a token is bounded by --timeout (exit 3,
	// saying what its writer did), one that never ends by the size bound.
	for name, tc := range map[string]struct {
		script string
		want   string
		within time.Duration
	}{
		"a FIFO no writer opens": {script: `exec "$BIN" env --timeout 2s --token-file "$P"`,
			want: "error: no token from %s within 2s: a FIFO no writer has opened", within: 2 * time.Second},
		"a process substitution that never writes": {script: `exec "$BIN" env --timeout 2s --token-file <(sleep 8 2>/dev/null)`,
			want: "error: no token from /dev/fd/", within: 2 * time.Second},
		// The writer holds the FIFO open (its output is not the test's, so
		// that the test need not wait for it).
		"a FIFO whose writer never closes": {script: `(printf %s "$FIFO_TOKEN"; sleep 8) >"$P" 2>/dev/null & exec "$BIN" env --timeout 2s --token-file "$P"`,
			want: "bytes and has not closed it", within: 2 * time.Second},
		"a FIFO that never ends": {script: `exec "$BIN" env --timeout 20s --token-file <(yes)`,
			want: "error: reading token file: /dev/fd/", within: 0},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "token")
			must(t, syscall.Mkfifo(p, 0o600))
			r, took := bash(t, tc.script, "P="+p)
			want := strings.ReplaceAll(tc.want, "%s", p)
			wantCode(t, r, 3, want)
			if name == "a FIFO that never ends" && !strings.Contains(r.stderr, "is a FIFO that gave more than 65536 bytes") {
				t.Errorf("stderr:\n%s\nwant the size bound", r.stderr)
			}
			if took < tc.within || took > tc.within+5*time.Second {
				t.Errorf("took %s; want %s (the timeout) and not much more", took, tc.within)
			}
			noTokenIn(t, "stderr", r.stderr)
			if strings.Contains(r.stderr, fifoToken) {
				t.Errorf("the FIFO's token is in stderr:\n%s", r.stderr)
			}
		})
	}
	t.Run("SIGTERM while waiting on a FIFO", func(t *testing.T) {
		t.Parallel()
		p := filepath.Join(t.TempDir(), "token")
		must(t, syscall.Mkfifo(p, 0o600))
		cmd := exec.Command(binary, "env", "--timeout", "60s", "--token-file", p)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
		var errOut strings.Builder
		cmd.Stderr = &errOut
		must(t, cmd.Start())
		// Signalled once argo-cred holds the FIFO open: waiting on it.
		testenv.Eventually(t, 30*time.Second, "argo-cred holding the FIFO", func() bool {
			fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", cmd.Process.Pid))
			for _, fd := range fds {
				if target, _ := os.Readlink(fd); target == p {
					return true
				}
			}
			return false
		})
		sent := time.Now()
		must(t, cmd.Process.Signal(syscall.SIGTERM))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("argo-cred did not exit within 10s of SIGTERM; stderr %q", errOut.String())
		}
		if got := cmd.ProcessState.ExitCode(); got != 130 || !strings.Contains(errOut.String(), "error: interrupted") || time.Since(sent) > 3*time.Second {
			t.Errorf("exit %d after %s, stderr %q; want 130 at once", got, time.Since(sent), errOut.String())
		}
	})
}

// A signal ends argo-cred at once, with exit 130, while it waits on a
// server that never answers.
func TestHostileSignal(t *testing.T) {
	t.Parallel()
	hang := testenv.Hang(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			held := len(hang.Requests())
			cmd := exec.Command(binary, "probe", "--server", hang.Addr, "--secure=false", "--timeout", "60s")
			cmd.Env = []string{"ARGO_TOKEN=" + hostileToken, "ARGO_NAMESPACE=ci", "HOME=" + t.TempDir()}
			var errOut strings.Builder
			cmd.Stderr = &errOut
			must(t, cmd.Start())
			// Signalled once argo-cred is in the probe: its connection held.
			testenv.Eventually(t, 30*time.Second, "argo-cred connected", func() bool { return len(hang.Requests()) > held })
			sent := time.Now()
			must(t, cmd.Process.Signal(sig))
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("argo-cred did not exit within 10s of %s", sig)
			}
			t.Logf("exited %s after %s", cmd.ProcessState, time.Since(sent))
			if got := cmd.ProcessState.ExitCode(); got != 130 || !strings.Contains(errOut.String(), "error: interrupted") {
				t.Errorf("exit %d, stderr %q; want 130 and an interrupted line", got, errOut.String())
			}
		})
	}
}

// Finding 10: a body that never ends is cut off early, with bounded memory.
func TestHostileEndlessBody(t *testing.T) {
	t.Parallel()
	endless := testenv.EndlessBody(t)
	// Measured by GNU time, a small process: a child forked from this big
	// test binary would count the binary's own pages in its peak (the
	// kernel's high-water mark survives the exec).
	timeBin := testenv.Command(t, "time", "time")
	report := filepath.Join(t.TempDir(), "rss")
	cmd := exec.Command(timeBin, "-f", "%M", "-o", report, binary, "probe", "--http1", "--secure=false", "--server", endless.Addr, "--timeout", "30s")
	cmd.Env = []string{"ARGO_TOKEN=" + hostileToken, "ARGO_NAMESPACE=ci", "HOME=" + t.TempDir()}
	var errOut strings.Builder
	cmd.Stderr = &errOut
	start := time.Now()
	err := cmd.Run()
	b, rerr := os.ReadFile(report)
	must(t, rerr)
	kb, _ := strconv.Atoi(strings.TrimSpace(string(b[strings.LastIndexByte(strings.TrimSpace(string(b)), '\n')+1:])))
	rss := int64(kb)
	t.Logf("exit %v after %s, max RSS %d MiB", err, time.Since(start), rss/1024)
	if cmd.ProcessState.ExitCode() != 4 || !strings.Contains(errOut.String(), "larger than") {
		t.Errorf("exit %d, stderr %q; want 4 and a line about the body size", cmd.ProcessState.ExitCode(), errOut.String())
	}
	if rss > 200<<10 {
		t.Errorf("max RSS %d MiB; want the body read bounded", rss/1024)
	}
}

// Finding 11: a server that echoes the Authorization header in its errors,
// over gRPC or HTTP/1, gets none of it into the output.
func TestHostileEchoRedacted(t *testing.T) {
	t.Parallel()
	httpEcho := testenv.EchoAuth(t)
	grpcEcho := testenv.GRPCEcho(t)
	for name, args := range map[string][]string{
		"http1 table": {"probe", "-v", "--http1", "--server", httpEcho.Addr, "--header", headerSecret},
		"http1 json":  {"probe", "-o", "json", "--http1", "--server", httpEcho.Addr, "--header", headerSecret},
		"http1 env":   {"env", "--http1", "--server", httpEcho.Addr},
		"grpc table":  {"probe", "-v", "--server", grpcEcho.Addr},
		"grpc json":   {"probe", "-o", "json", "--server", grpcEcho.Addr},
		"grpc env":    {"env", "--server", grpcEcho.Addr},
	} {
		t.Run(name, func(t *testing.T) {
			r := hostileRun(t, []string{"ARGO_SECURE=false"}, args...)
			if r.code != 5 || !strings.Contains(r.stderr, "rejected the token (401)") {
				t.Errorf("exit %d, stderr %q; want 5, token rejected", r.code, r.stderr)
			}
			noTokenIn(t, "stderr", r.stderr)
			noTokenIn(t, "stdout", r.stdout)
			if !strings.Contains(r.stderr+r.stdout, "[redacted]") {
				t.Errorf("want the echoed token shown as [redacted]:\n%s", r.stderr)
			}
		})
	}
	if len(grpcEcho.Requests()) == 0 || len(httpEcho.Requests()) == 0 {
		t.Error("the echo servers saw no request")
	}
}

// Finding 12: a namespace from the token's claims (or the kubeconfig) is
// checked like --namespace, before any network call.
func TestHostileNamespaceClaim(t *testing.T) {
	t.Parallel()
	unused := testenv.HTTPServer(t, false, func(w http.ResponseWriter, r *http.Request) {})
	for name, ns := range map[string]string{
		"path":     "ci/../../api/v1/workflows/kube-system",
		"query":    "ci?fields=x",
		"newline":  "ci\nARGO_SERVER=evil",
		"too long": strings.Repeat("a", 64),
	} {
		t.Run(name, func(t *testing.T) {
			tok := jwt(map[string]any{"sub": "system:serviceaccount:x:ci", "kubernetes.io": map[string]any{"namespace": ns}})
			r := run(t, []string{"ARGO_TOKEN=" + tok, "ARGO_SERVER=" + unused.Addr, "ARGO_SECURE=false"}, "env", "--http1")
			wantCode(t, r, 2, "not a Kubernetes namespace")
		})
	}
	// The kubeconfig's namespace, before Kubernetes is asked for anything.
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	must(t, os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "`+unused.URL+`"}}]
users: [{name: u, user: {token: kube-token}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: "ci/../kube-system"}}]
current-context: x
`), 0o600))
	r := run(t, []string{"KUBECONFIG=" + kc, "ARGO_SERVER=" + unused.Addr}, "env", "--secret", "ci")
	wantCode(t, r, 2, "the kubeconfig's namespace")
	if n := len(unused.Requests()); n != 0 {
		t.Errorf("the server got %d requests; want none", n)
	}
}

// Finding 13: env --help prints nothing on stdout, so eval of it is empty.
func TestHostileEnvHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"env", "--help"}, {"env", "-h"}, {"probe", "--help"}} {
		r := run(t, nil, args...)
		if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "Exit codes:") {
			t.Errorf("%v: exit %d, stdout %q; want 0, nothing on stdout, usage on stderr", args, r.code, r.stdout)
		}
	}
}

// A token whose exp lies beyond year 9999 still gets a JSON report.
func TestHostileFarExpiry(t *testing.T) {
	t.Parallel()
	fake := testenv.FakeArgo(t, "system:serviceaccount:ci:ci", "v3.7.9", "denied")
	for _, exp := range []float64{253402300800, 1e300} {
		tok := jwt(map[string]any{"sub": "system:serviceaccount:ci:ci", "exp": exp})
		r := run(t, []string{"ARGO_TOKEN=" + tok, "ARGO_NAMESPACE=ci"}, "probe", "-o", "json", "--http1", "--secure=false", "--server", fake.Addr)
		var out map[string]any
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil {
			t.Errorf("exp %g: exit %d, stdout %q, stderr %q", exp, r.code, r.stdout, r.stderr)
		}
	}
}

// An Argo Server in sso auth mode alone (the fake answers as a real one
// does, internal/probe TestIntegrationSSOOnly) takes no bearer token: exit
// 5, what the server answered, and that CI tokens need client in
// --auth-mode, in the table, the one annotation (its URL defanged) and the
// step summary, over gRPC and HTTP/1, for probe, env --format github and
// the action.
func TestHostileSSOOnly(t *testing.T) {
	t.Parallel()
	for _, overGRPC := range []bool{true, false} {
		fake := testenv.FakeSSOOnly(t, overGRPC)
		for _, args := range [][]string{{"probe"}, {"env", "--format", "github"}, {"action"}} {
			name := strings.Join(args, " ") + map[bool]string{true: ", grpc", false: ", http1"}[overGRPC]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				summary := filepath.Join(dir, "summary")
				env := []string{"ARGO_SERVER=" + fake.Addr, "ARGO_SECURE=false", fmt.Sprintf("ARGO_HTTP1=%t", !overGRPC)}
				if args[0] != "probe" {
					env = append(env, "GITHUB_ACTIONS=true", "RUNNER_TEMP="+dir, "GITHUB_ENV="+filepath.Join(dir, "env"),
						"GITHUB_OUTPUT="+filepath.Join(dir, "output"), "GITHUB_STATE="+filepath.Join(dir, "state"), "GITHUB_STEP_SUMMARY="+summary)
				}
				r := hostileRun(t, env, args...)
				noTokenIn(t, "stderr", nonMaskOut(r.stderr))
				if r.code != 5 || !strings.Contains(r.stderr, "rejected (401): the server takes no bearer token (sso auth mode only)") {
					t.Fatalf("exit %d\n%s\nwant 5 and the identity row saying sso mode", r.code, r.stderr)
				}
				answered := "identity: the argo server answered gRPC Unauthenticated (token not valid. see https"
				if !overGRPC {
					answered = "identity: the argo server answered HTTP 401 (token not valid. see https"
				}
				const hint = "CI tokens need client in the Argo Server's --auth-mode: run it with --auth-mode sso --auth-mode client"
				if args[0] == "probe" {
					wantCode(t, r, 5, answered)
					if !strings.Contains(r.stderr, hint) {
						t.Errorf("stderr:\n%s\nwant the hint %q", r.stderr, hint)
					}
					return
				}
				var annotations []testenv.RunnerCommand
				for _, c := range testenv.RunnerCommands(r.stderr) {
					if c.Name == "error" {
						annotations = append(annotations, c)
					}
				}
				if len(annotations) != 1 || annotations[0].Props["title"] != "argo-cred token rejected (exit 5)" ||
					!strings.Contains(annotations[0].Data, strings.Replace(answered, "https", "https:[//]", 1)) || !strings.Contains(annotations[0].Data, hint) {
					t.Errorf("annotations %+v\nwant one, with what the server answered (URL defanged) and the hint", annotations)
				}
				if strings.Contains(r.stderr, "\nerror: ") {
					t.Errorf("a plain error line besides the annotation:\n%s", r.stderr)
				}
				b, err := os.ReadFile(summary)
				md := string(b)
				if err != nil || !strings.Contains(md, "| ❌ identity | `system:serviceaccount:ci:ci` | `rejected (401): the server takes no bearer token (sso auth mode only)` |") ||
					!strings.Contains(md, "**token rejected (exit 5)**") || !strings.Contains(md, "`"+answered) || !strings.Contains(md, "`"+hint) {
					t.Errorf("step summary (%v):\n%s\nwant the identity row, the error and the hint", err, md)
				}
				if strings.Contains(outsideCode(md), "token not valid") {
					t.Errorf("the server's text outside a code span:\n%s", md)
				}
			})
		}
	}
}
