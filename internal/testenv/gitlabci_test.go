package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The example .gitlab-ci.yml as the emulated runner reads it: its jobs,
// the ID token each declares, the file's variables, the script in order.
func TestParseGitLabCIExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(Root(), "examples", "gitlab-ci", ".gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := ParseGitLabCI(b)
	if err != nil {
		t.Fatal(err)
	}
	j, ok := jobs["argo-submit-wait"]
	if !ok || len(jobs) != 2 {
		t.Fatalf("jobs %v; want argo-submit and argo-submit-wait", jobs)
	}
	want := GitLabJob{Name: "argo-submit-wait", Image: j.Image, IDTokens: map[string][]string{"ARGO_ID_TOKEN": {"argo-cred"}},
		Variables: map[string]string{"ARGO_SERVER": "argo.example.com:443", "ARGO_NAMESPACE": "ci", "ARGO_CRED_OIDC_ENV": "ARGO_ID_TOKEN"},
		Script:    []string{"argo-cred exec --for submit,wait -- argo submit --wait workflow.yaml"}}
	if diff := cmp.Diff(want, j); diff != "" || !strings.HasSuffix(j.Image, "/argo-cred-job:v"+strings.TrimPrefix(strings.TrimSpace(readFile(t, "VERSION")), "v")) {
		t.Errorf("job (-want +got):\n%s\nimage %q", diff, j.Image)
	}
}

// A component's inputs: defaults fill those not given, every
// $[[ inputs.x ]] is replaced; an unknown input, a required one missing
// and one its regex does not match are refused, as GitLab refuses them.
func TestInterpolateComponent(t *testing.T) {
	src := "spec:\n  inputs:\n    server:\n    stage:\n      default: deploy\n---\njob:\n  stage: $[[ inputs.stage ]]\n  script: [echo $[[inputs.server]]]\n"
	got, err := InterpolateComponent(src, map[string]string{"server": "a:1"})
	if err != nil || got != "job:\n  stage: deploy\n  script: [echo a:1]\n" {
		t.Errorf("got %q, %v", got, err)
	}
	src = strings.Replace(src, "    stage:\n", "    stage:\n      regex: ^[a-z]+$\n", 1)
	for inputs, want := range map[string]string{"": "`server` input: required value has not been provided", "server=a,serve=b": "unknown input name provided: `serve`",
		"server=a,stage=x;y": "`stage` input: provided value does not match required RegEx pattern"} {
		in := map[string]string{}
		for _, kv := range strings.Split(inputs, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				in[k] = v
			}
		}
		if _, err := InterpolateComponent(src, in); err == nil || err.Error() != want {
			t.Errorf("inputs %q: %v; want %q", inputs, err, want)
		}
	}
}

func readFile(t *testing.T, rel string) string {
	b, err := os.ReadFile(filepath.Join(Root(), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
