package github

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/redact"
	"github.com/argo-cred/argo-cred/internal/token"
)

const postUID = "01234567-89ab-cdef-0123-456789abcdef"

// The post stage revokes the saved binding with the kubeconfig the main
// stage wrote, then removes that file; what it cannot trust or do is its
// error, and a failed deletion a redacted warning.
func TestPost(t *testing.T) {
	tests := map[string]struct {
		state      map[string]string
		load, drop error
		wantErr    string // "" for none
		wantLog    []string
		wantDrop   bool
	}{
		"nothing saved": {},
		"revoked": {state: map[string]string{"STATE_binding-uid": postUID}, wantDrop: true,
			wantLog: []string{"revoked: deleted secret ci/ci-run-1, the token bound to it\n", "post: removed the kubeconfig file\n"}},
		"a binding not the main stage's": {state: map[string]string{"STATE_binding-uid": "x"},
			wantErr: `could not revoke the job's token (secret "ci"/"ci-run-1"): STATE_binding, STATE_binding-namespace or STATE_binding-uid is not what the main stage writes`,
			wantLog: []string{"post: removed the kubeconfig file\n"}},
		"no client": {state: map[string]string{"STATE_binding-uid": postUID}, load: errors.New("no cluster"),
			wantErr: `could not revoke the job's token (secret "ci"/"ci-run-1"): no cluster`, wantLog: []string{"post: removed the kubeconfig file\n"}},
		"not deleted": {state: map[string]string{"STATE_binding-uid": postUID}, drop: errors.New("forbidden s3cret"), wantDrop: true,
			wantErr: `could not revoke the job's token (secret "ci"/"ci-run-1"): see the warning above`,
			wantLog: []string{"warning: could not delete secret ci/ci-run-1, so its token stays valid until it expires: forbidden " + redact.New("s3cret").Text("s3cret") + "\n",
				"post: removed the kubeconfig file\n"}},
		"a kubeconfig elsewhere": {state: map[string]string{"STATE_binding-uid": postUID, "STATE_kubeconfig": "/etc/passwd"},
			wantErr: `could not revoke the job's token (secret "ci"/"ci-run-1"): not using STATE_kubeconfig "/etc/passwd": not a file the main stage wrote` +
				"\n" + `not using STATE_kubeconfig "/etc/passwd": not a file the main stage wrote`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			kubeconfig := filepath.Join(dir, "argo-cred-kubeconfig-0123456789abcdef")
			if err := os.WriteFile(kubeconfig, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			vars := map[string]string{"RUNNER_TEMP": dir}
			if tc.state != nil {
				vars["STATE_kubeconfig"], vars["STATE_binding"], vars["STATE_binding-namespace"] = kubeconfig, "ci-run-1", "ci"
			}
			for k, v := range tc.state {
				vars[k] = v
			}
			var log bytes.Buffer
			dropped := false
			err := Post{Runtime: New(lookupIn(vars), &log), Red: redact.New("s3cret"), Binding: func(path string, b Binding) (func(context.Context) error, error) {
				if path != kubeconfig || b != (Binding{Namespace: "ci", Name: "ci-run-1", UID: postUID}) {
					t.Errorf("client of %q for %+v; want the saved kubeconfig and binding", path, b)
				}
				return func(context.Context) error { dropped = true; return tc.drop }, tc.load
			}}.Do(context.Background())
			if got := ""; err != nil {
				got = err.Error()
				if got != tc.wantErr {
					t.Errorf("error %q; want %q", got, tc.wantErr)
				}
			} else if tc.wantErr != "" {
				t.Errorf("no error; want %q", tc.wantErr)
			}
			if got := log.String(); got != strings.Join(tc.wantLog, "") {
				t.Errorf("log %q; want %q", got, strings.Join(tc.wantLog, ""))
			}
			if dropped != tc.wantDrop {
				t.Errorf("dropped %v; want %v", dropped, tc.wantDrop)
			}
		})
	}
}

// The outputs: token-expires-at empty for a token that does not expire,
// probe-result only when the probe ran: the report as JSON.
func TestSetOutputs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "output")
	rt := New(lookupIn(map[string]string{"GITHUB_OUTPUT": out}), &bytes.Buffer{})
	if err := rt.SetOutputs("argo:443", "ci", token.Token{}, nil, ""); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	if got := string(b); !strings.Contains(got, "\nargo:443\n") || !strings.Contains(got, "token-expires-at<<") || strings.Contains(got, "probe-result") {
		t.Errorf("outputs without a probe:\n%s", got)
	}
	tok := token.Token{Source: "env", Expiry: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := rt.SetOutputs("argo:443", "ci", tok, &probe.Report{Server: "argo:443"}, "system:serviceaccount:ci:ci"); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(out)
	if got := string(b); !strings.Contains(got, "\n2030-01-02T03:04:05Z\n") || !strings.Contains(got, "probe-result<<") || !strings.Contains(got, `"source": "env"`) {
		t.Errorf("outputs with a probe:\n%s", got)
	}
}
