package github

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/redact"
)

func lookupIn(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// Masks only where the runner reads them; the annotation once a run,
// redacted, with the failure in the step summary.
func TestRuntimeMasksAndFailure(t *testing.T) {
	var log bytes.Buffer
	if err := New(lookupIn(nil), &log).Mask("s3cret"); err != nil || log.Len() != 0 {
		t.Fatalf("outside Actions: wrote %q, error %v; want nothing", log.String(), err)
	}
	sum := filepath.Join(t.TempDir(), "summary")
	rt := New(lookupIn(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": sum}), &log)
	if err := rt.Mask("s3cret"); err != nil || !strings.HasPrefix(log.String(), "::add-mask::") {
		t.Fatalf("in Actions: wrote %q, error %v; want ::add-mask:: lines", log.String(), err)
	}
	log.Reset()
	err := exitcode.New(exitcode.TokenRejected, "", "rejected s3cret at https://evil.example")
	rt.Failure(&probe.Report{Server: "a:1"}, err, redact.New("s3cret"))
	rt.Failure(nil, errors.New("second"), nil)
	if got := log.String(); strings.Count(got, "::error ") != 1 || strings.Contains(got, "s3cret") || strings.Contains(got, "https://") || !rt.Annotated() {
		t.Errorf("log %q; want one redacted, defanged ::error line", got)
	}
	b, _ := os.ReadFile(sum)
	if !strings.Contains(string(b), "### argo-cred: `a:1`") || strings.Contains(string(b), "s3cret") || strings.Contains(string(b), "second") {
		t.Errorf("summary %q; want the report and the first failure, redacted", b)
	}
}

// The post stage uses no STATE_ value the main stage could not have written.
func TestRuntimePostStateChecks(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "argo-cred-kubeconfig-0123456789abcdef")
	if err := os.WriteFile(good, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		path    string
		wantErr bool
	}{
		"unset":          {"", false},
		"written":        {good, false},
		"elsewhere":      {"/etc/passwd", true},
		"other name":     {filepath.Join(dir, "argo-cred-ca-0123456789abcdef"), true},
		"relative climb": {dir + "/x/../argo-cred-kubeconfig-0123456789abcdef", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rt := New(lookupIn(map[string]string{"RUNNER_TEMP": dir, "STATE_kubeconfig": tc.path}), &bytes.Buffer{})
			path, err := rt.StateFile("kubeconfig")
			if (err != nil) != tc.wantErr || (err == nil && path != tc.path) {
				t.Errorf("got %q, %v; want error %v", path, err, tc.wantErr)
			}
		})
	}
	for name, state := range map[string]map[string]string{
		"bad uid":       {"STATE_binding": "b", "STATE_binding-namespace": "ci", "STATE_binding-uid": "x"},
		"bad namespace": {"STATE_binding": "b", "STATE_binding-namespace": "a/b", "STATE_binding-uid": "01234567-89ab-cdef-0123-456789abcdef"},
	} {
		if _, ok, err := New(lookupIn(state), &bytes.Buffer{}).SavedBinding(); !ok || err == nil {
			t.Errorf("%s: ok %v, error %v; want the binding refused", name, ok, err)
		}
	}
	b, ok, err := New(lookupIn(map[string]string{"STATE_binding": "b", "STATE_binding-namespace": "ci", "STATE_binding-uid": "01234567-89ab-cdef-0123-456789abcdef"}), &bytes.Buffer{}).SavedBinding()
	if !ok || err != nil || b.Name != "b" || b.Namespace != "ci" {
		t.Errorf("got %+v, %v, %v; want the saved binding", b, ok, err)
	}
}
