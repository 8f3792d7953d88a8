package github

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/testenv"
)

func ptr[T any](v T) *T { return &v }

// Every input reaches its field, typed; the kubeconfig and a PEM ca become
// private files under RUNNER_TEMP, saved for the post stage.
func TestReadInputs(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	vars := map[string]string{"RUNNER_TEMP": dir, "GITHUB_STATE": state}
	given := map[string]string{"server": "argo:443", "namespace": " ci ", "source": "secret", "secret": "ci-token", "client": "ci", "secret-namespace": "argo",
		"service-account": "ci", "duration": "10m", "audience": "a1,\n a2 ,,", "token": "t0k", "kubeconfig": "apiVersion: v1", "http1": "true",
		"secure": "false", "insecure-skip-verify": "1", "ca": "-----BEGIN CERTIFICATE-----", "base-href": "/argo", "expect": "allow:workflows/list\r\ndeny:x",
		"wait": "30s", "timeout": "1m", "probe": "F", "bind": "TRUE", "strict": "true", "job-timeout": "90", "for": "submit,\nwait"}
	for _, name := range Inputs {
		if given[name] == "" {
			t.Fatalf("no value for input %s", name)
		}
		vars["INPUT_"+strings.ToUpper(name)] = given[name]
	}
	in, err := New(lookupIn(vars), &bytes.Buffer{}).ReadInputs()
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"kubeconfig": in.Kubeconfig, "ca": in.CA} {
		b, err := os.ReadFile(path)
		st, serr := os.Stat(path)
		if err != nil || serr != nil || string(b) != given[name]+"\n" || st.Mode().Perm() != 0o600 || filepath.Dir(path) != dir {
			t.Errorf("%s file %q: %q, %v; want the input in a private file under RUNNER_TEMP", name, path, b, err)
		}
		if saved, _ := os.ReadFile(state); !bytes.Contains(saved, []byte("\n"+path+"\n")) {
			t.Errorf("%s file %q not saved in GITHUB_STATE:\n%s", name, path, saved)
		}
	}
	want := ActionInputs{Server: "argo:443", Namespace: "ci", Source: "secret", Secret: "ci-token", Client: "ci", SecretNamespace: "argo", ServiceAccount: "ci", BaseHRef: "/argo",
		HTTP1: ptr(true), Secure: ptr(false), InsecureSkipVerify: ptr(true), Probe: ptr(false), Bind: ptr(true), Strict: ptr(true),
		Duration: ptr(10 * time.Minute), Wait: ptr(30 * time.Second), Timeout: ptr(time.Minute), JobTimeout: 90 * time.Minute,
		Expect: []string{"allow:workflows/list", "deny:x"}, Audience: []string{"a1", "a2"}, For: []string{"submit", "wait"}, Token: "t0k", Kubeconfig: in.Kubeconfig, CA: in.CA}
	if diff := cmp.Diff(want, in); diff != "" {
		t.Errorf("inputs (-want +got):\n%s", diff)
	}
}

// Not given is nil or "", told from a given list with no items; a ca that
// is not PEM is a path, as given; a malformed value is a usage error with
// what to write.
func TestReadInputsGivenAndMalformed(t *testing.T) {
	in, err := New(lookupIn(map[string]string{"INPUT_EXPECT": " , ", "INPUT_CA": "certs/ca.pem", "INPUT_BIND": "   "}), &bytes.Buffer{}).ReadInputs()
	if diff := cmp.Diff(ActionInputs{Expect: []string{}, CA: "certs/ca.pem", JobTimeout: DefaultJobTimeout}, in); diff != "" || err != nil || in.Audience != nil {
		t.Errorf("error %v; inputs (-want +got):\n%s", err, diff)
	}
	for input, want := range map[string]struct{ msg, hint string }{
		"INPUT_HTTP1=maybe":      {`input http1: "maybe" is not a boolean`, "write true or false"},
		"INPUT_TIMEOUT=5":        {`input timeout: "5" is not a duration`, "write a duration with a unit, e.g. 30s or 10m"},
		"INPUT_JOB-TIMEOUT=soon": {`input job-timeout: "soon" is not a number of minutes or a duration`, "write minutes, as timeout-minutes has them (e.g. 360), or a duration (e.g. 6h)"},
		"INPUT_JOB-TIMEOUT=0":    {`input job-timeout: "0" is not a number of minutes or a duration`, "write minutes, as timeout-minutes has them (e.g. 360), or a duration (e.g. 6h)"},
	} {
		name, v, _ := strings.Cut(input, "=")
		dir := t.TempDir()
		_, err := New(lookupIn(map[string]string{name: v, "INPUT_KUBECONFIG": "x", "RUNNER_TEMP": dir}), &bytes.Buffer{}).ReadInputs()
		if err == nil || err.Error() != want.msg || exitcode.Hint(err) != want.hint || exitcode.Of(err) != exitcode.Usage {
			t.Errorf("%s: got %v (hint %q, exit %d); want %q, hint %q, a usage error", input, err, exitcode.Hint(err), exitcode.Of(err), want.msg, want.hint)
		}
		if files, _ := os.ReadDir(dir); len(files) > 0 {
			t.Errorf("%s: wrote %d files; want none before the inputs are well-formed", input, len(files))
		}
	}
}

// The kubeconfig check tries client-go's default only when nothing else
// names a kubeconfig, and says which input needs one.
func TestCheckKubeconfig(t *testing.T) {
	loads := 0
	fails := func() error { loads++; return errors.New("no configuration") }
	rt := New(lookupIn(nil), &bytes.Buffer{})
	if rt.CheckKubeconfig("", "", fails) != nil || rt.CheckKubeconfig("secret", "/k", fails) != nil ||
		New(lookupIn(map[string]string{"KUBECONFIG": "/k"}), &bytes.Buffer{}).CheckKubeconfig("secret", "", fails) != nil || loads != 0 {
		t.Errorf("loaded %d times; want no check without a need or with a kubeconfig named", loads)
	}
	if err := rt.CheckKubeconfig("secret", "", func() error { return nil }); err != nil {
		t.Errorf("client-go's default found: %v", err)
	}
	err := rt.CheckKubeconfig("service-account", "", fails)
	if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "the service-account input needs a kubeconfig") || !strings.Contains(exitcode.Hint(err), "source: github-oidc") {
		t.Errorf("got %v (hint %q); want a usage error naming service-account", err, exitcode.Hint(err))
	}
}

// A token that expires before the job's timeout gets one ::warning with
// when, and what to do; one that outlives it, or never expires, none.
func TestWarnExpiry(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		expiry     time.Time
		jobTimeout time.Duration
		want       string
	}{
		"expires first": {now.Add(10 * time.Minute), 90 * time.Minute,
			"::warning title=argo-cred: the token expires before the job's timeout::the token expires at 2026-11-30T12:10:00Z (in 10m0s), before the job's timeout of 1h30m0s: a later step that uses it gets 401 (Unauthenticated); give a longer duration; for a long wait, run argo behind argo-cred exec, which renews the token (the argo-cred image as a docker:// step does); or set job-timeout to the job's timeout-minutes\n"},
		"outlives the job": {now.Add(2 * time.Hour), 90 * time.Minute, ""},
		"never expires":    {time.Time{}, DefaultJobTimeout, ""},
	} {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			New(lookupIn(nil), &stderr).WarnExpiry(tc.expiry, tc.jobTimeout, now)
			if diff := cmp.Diff(tc.want, stderr.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tc.want != "" {
				cmd, ok := testenv.ParseRunnerCommand(strings.TrimSpace(stderr.String()))
				if !ok || cmd.Name != "warning" || cmd.Props["title"] != "argo-cred: the token expires before the job's timeout" {
					t.Errorf("the runner reads %+v, %t; want a warning", cmd, ok)
				}
			}
		})
	}
	for in, want := range map[string]time.Duration{"360": 6 * time.Hour, "7.5": 450 * time.Second, "2h": 2 * time.Hour} {
		if got, err := parseMinutes(in); err != nil || got != want {
			t.Errorf("parseMinutes(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}
