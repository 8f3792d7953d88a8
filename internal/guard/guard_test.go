package guard

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    Target
		want []string
	}{
		{"container", Target{Kubeconfig: "/k", Context: "c", Container: "argo-cred-0a1b"},
			[]string{"--kubeconfig", "/k", "--context", "c", "--container", "argo-cred-0a1b"}},
		{"binding", Target{Kubeconfig: "/k", Namespace: "ci", Secret: "gha-run-1", UID: "u-1"},
			[]string{"--kubeconfig", "/k", "--context", "", "--container", "", "--binding", "ci/gha-run-1/u-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.t.Args()); diff != "" {
				t.Errorf("Args (-want +got):\n%s", diff)
			}
			got, err := parse(tc.t.Args())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.t, got); diff != "" {
				t.Errorf("parse(Args) (-want +got):\n%s", diff)
			}
		})
	}
}

// A released guard does nothing, whatever it guards; unknown arguments are
// exit code 2.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  int
	}{
		{"released", Target{Container: "argo-cred-x", Namespace: "ci", Secret: "s", UID: "u"}.Args(), "done", 0},
		{"orphaned, nothing to undo", Target{}.Args(), "", 0},
		{"unknown flag", []string{"--nope"}, "done", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if got := Run(tc.args, strings.NewReader(tc.stdin), &stderr, strings.ToUpper); got != tc.want || stderr.Len() != 0 {
				t.Errorf("exit %d, stderr %q; want %d and nothing", got, stderr.String(), tc.want)
			}
		})
	}
}
