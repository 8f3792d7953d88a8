package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// GitLabJob is a job of a .gitlab-ci.yml as the runner receives it: its
// variables (the file's, then the job's), the ID tokens it declares
// (variable name → audiences) and its script (before_script, then
// script).
type GitLabJob struct {
	Name, Image string
	Variables   map[string]string
	IDTokens    map[string][]string
	Script      []string
}

// gitlabKeywords are the top-level keys of a .gitlab-ci.yml that are not
// jobs.
var gitlabKeywords = []string{"default", "include", "stages", "variables", "workflow", "image", "services", "cache", "before_script", "after_script", "spec"}

// ParseGitLabCI reads the jobs of a .gitlab-ci.yml (hidden jobs, whose
// names start with ".", left out).
func ParseGitLabCI(text []byte) (map[string]GitLabJob, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, err
	}
	def, _ := doc["default"].(map[string]any)
	jobs := map[string]GitLabJob{}
	for name, v := range doc {
		body, ok := v.(map[string]any)
		if slices.Contains(gitlabKeywords, name) || strings.HasPrefix(name, ".") || !ok {
			continue
		}
		j := GitLabJob{Name: name, Variables: map[string]string{}, IDTokens: map[string][]string{}}
		for _, vars := range []any{doc["variables"], body["variables"]} {
			m, _ := vars.(map[string]any)
			for k, v := range m {
				if full, ok := v.(map[string]any); ok { // {value: …, description: …}
					v = full["value"]
				}
				j.Variables[k] = fmt.Sprint(v)
			}
		}
		ids, _ := body["id_tokens"].(map[string]any)
		for k, v := range ids {
			aud, _ := v.(map[string]any)
			switch a := aud["aud"].(type) {
			case string:
				j.IDTokens[k] = []string{a}
			case []any:
				for _, s := range a {
					j.IDTokens[k] = append(j.IDTokens[k], fmt.Sprint(s))
				}
			default:
				return nil, fmt.Errorf("job %s: id_tokens %s has no aud", name, k)
			}
		}
		j.Image = imageOf(body["image"], imageOf(def["image"], ""))
		before := lines(def["before_script"])
		if b, ok := body["before_script"]; ok {
			before = lines(b)
		}
		j.Script = append(before, lines(body["script"])...)
		if len(lines(body["script"])) == 0 {
			return nil, fmt.Errorf("job %s: no script", name)
		}
		jobs[name] = j
	}
	return jobs, nil
}

func imageOf(v any, def string) string {
	switch i := v.(type) {
	case string:
		return i
	case map[string]any:
		return fmt.Sprint(i["name"])
	}
	return def
}

// lines is a script: one string, or a list of them (nested lists
// flattened, as GitLab does for !reference).
func lines(v any) []string {
	switch s := v.(type) {
	case string:
		return []string{s}
	case []any:
		var out []string
		for _, x := range s {
			out = append(out, lines(x)...)
		}
		return out
	}
	return nil
}

var inputRef = regexp.MustCompile(`\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]`)

// InterpolateComponent is what GitLab does with a CI/CD component (or any
// file with a spec: header) included with inputs: the header, up to the
// first "---" line, declares the inputs (a default makes one optional, a
// regex must match the value, unanchored, as GitLab's RE2 match? does);
// every $[[ inputs.NAME ]] of the rest is replaced by the input's value. An
// input not declared, a required one not given, or one its regex does not
// match is an error, as in GitLab.
func InterpolateComponent(text string, inputs map[string]string) (string, error) {
	header, body, ok := strings.Cut(text, "\n---\n")
	if !ok {
		return "", fmt.Errorf("no spec header: a component is `spec:`, a --- line, then the jobs")
	}
	var spec struct {
		Spec struct {
			Inputs map[string]*struct {
				Default *string `json:"default"`
				Regex   string  `json:"regex"`
			} `json:"inputs"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(header), &spec); err != nil {
		return "", fmt.Errorf("the spec header: %w", err)
	}
	values := map[string]string{}
	for name := range inputs {
		if _, ok := spec.Spec.Inputs[name]; !ok {
			return "", fmt.Errorf("unknown input name provided: `%s`", name)
		}
	}
	for name, in := range spec.Spec.Inputs {
		v, given := inputs[name]
		switch {
		case given:
		case in != nil && in.Default != nil:
			v = *in.Default
		default:
			return "", fmt.Errorf("`%s` input: required value has not been provided", name)
		}
		if in != nil && in.Regex != "" {
			re, err := regexp.Compile(in.Regex)
			if err != nil || !re.MatchString(v) {
				return "", fmt.Errorf("`%s` input: provided value does not match required RegEx pattern", name)
			}
		}
		values[name] = v
	}
	var missing error
	out := inputRef.ReplaceAllStringFunc(body, func(ref string) string {
		name := inputRef.FindStringSubmatch(ref)[1]
		v, ok := values[name]
		if !ok {
			missing = fmt.Errorf("unknown interpolation key: `%s`", name)
		}
		return v
	})
	if missing != nil {
		return "", missing
	}
	if strings.Contains(out, "$[[") {
		return "", fmt.Errorf("an interpolation block left: %q", out[strings.Index(out, "$[["):])
	}
	return out, nil
}

// GitLabRun is how a job runs: in Dir (the checkout), with the binaries of
// Path first on PATH (what the job's image, or the shell runner's host,
// has), with the project's CI/CD variables (which override the file's);
// Claims go over the stand-in's default claims of each ID token, and Aud,
// if set, replaces the audience the job asked for.
type GitLabRun struct {
	Dir, Path        string
	ProjectVariables map[string]string
	Claims           map[string]any
	Aud              string
}

// GitLabResult is a job's log (stdout and stderr, as the runner's trace
// merges them), its exit code and the ID tokens it was given.
type GitLabResult struct {
	Log      string
	Code     int
	IDTokens []string
}

// RunGitLabJob runs job as gitlab-runner's shell executor does with bash
// (gitlab-runner's shells/bash.go and shells/abstract.go, as of its commit
// d79f3e7b8 on main; its own exec command is gone and the Go module proxy
// serves no version of it):
// one script that exports every variable (the predefined CI_* ones, the
// file's and the job's, the project's, each ID token), changes to the
// checkout, and for each script line echoes "$ LINE" in bold green and runs
// it, all under errexit and pipefail, in a subshell with stdin from
// /dev/null. Each ID token is minted by the stack's GitLab stand-in for the
// job's audience.
func (s *Stack) RunGitLabJob(t testing.TB, job GitLabJob, run GitLabRun) GitLabResult {
	t.Helper()
	vars := s.gitlabPredefined(job, run.Dir)
	names := slices.Sorted(maps.Keys(job.Variables))
	for _, k := range names {
		vars = append(vars, [2]string{k, os.Expand(job.Variables[k], lookupIn(vars))})
	}
	for _, k := range slices.Sorted(maps.Keys(run.ProjectVariables)) {
		vars = append(vars, [2]string{k, run.ProjectVariables[k]})
	}
	var res GitLabResult
	for _, k := range slices.Sorted(maps.Keys(job.IDTokens)) {
		aud := os.Expand(job.IDTokens[k][0], lookupIn(vars))
		if run.Aud != "" {
			aud = run.Aud
		}
		tok := s.GitLabIDToken(t, aud, run.Claims)
		res.IDTokens = append(res.IDTokens, tok)
		vars = append(vars, [2]string{k, tok})
	}
	var body strings.Builder
	for _, v := range vars {
		fmt.Fprintf(&body, "export %s=%s\n", v[0], shQuote(v[1]))
	}
	fmt.Fprintf(&body, "cd %s\n", shQuote(run.Dir))
	for _, line := range job.Script {
		line = strings.TrimSpace(line)
		first, _, multi := strings.Cut(line, "\n")
		notice := "$ " + line
		if multi {
			notice = "$ " + first + " # collapsed multi-line command"
		}
		fmt.Fprintf(&body, "echo %s\n%s\n", shQuote("\x1b[32;1m"+notice+"\x1b[0;m"), line)
	}
	script := "#!/usr/bin/env bash\n\ntrap 'exit 1' TERM\n\n" +
		`case "$(set -o)" in *"pipefail"*) set -o pipefail;; esac; set -o errexit` + "\n" +
		"set +o noclobber\n(trap 'exit 1' TERM; eval " + shQuote(body.String()) + ") < /dev/null\nexit 0\n"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash")
	cmd.Stdin = strings.NewReader(script)
	cmd.Env = []string{"PATH=" + run.Path + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	res.Log, res.Code = string(out), -1
	if cmd.ProcessState != nil {
		res.Code = cmd.ProcessState.ExitCode()
	}
	if err != nil && res.Code <= 0 {
		t.Fatalf("running job %s: %v\n%s", job.Name, err, out)
	}
	return res
}

// gitlabPredefined are the variables GitLab gives every job of the stack's
// project (a pipeline for a push to main).
func (s *Stack) gitlabPredefined(job GitLabJob, dir string) [][2]string {
	u, _ := url.Parse(s.GitLabIssuer)
	ns, name, _ := strings.Cut(s.GitLabProject, "/")
	return [][2]string{{"CI", "true"}, {"GITLAB_CI", "true"}, {"CI_SERVER", "yes"}, {"CI_SERVER_URL", s.GitLabIssuer}, {"CI_SERVER_HOST", u.Hostname()},
		{"CI_SERVER_FQDN", u.Host}, {"CI_PROJECT_ID", s.GitLabProjectID}, {"CI_PROJECT_PATH", s.GitLabProject}, {"CI_PROJECT_NAME", name},
		{"CI_PROJECT_NAMESPACE", ns}, {"CI_PROJECT_NAMESPACE_ID", s.GitLabNamespaceID}, {"CI_PROJECT_DIR", dir}, {"CI_BUILDS_DIR", filepath.Dir(dir)},
		{"CI_REGISTRY_IMAGE", u.Host + "/" + s.GitLabProject}, {"CI_COMMIT_REF_NAME", "main"}, {"CI_COMMIT_BRANCH", "main"},
		{"CI_COMMIT_SHA", "0123456789abcdef"}, {"CI_PIPELINE_ID", "1"}, {"CI_PIPELINE_SOURCE", "push"}, {"CI_JOB_ID", "1"},
		{"CI_JOB_NAME", job.Name}, {"CI_JOB_IMAGE", job.Image}, {"CI_JOB_TOKEN", "glcbt-job-token-not-a-credential-here"}, {"GITLAB_USER_LOGIN", "root"}}
}

// GitLabIDToken is an ID token of the stack's GitLab stand-in for aud,
// claims over its defaults (a job on main of the trusted project).
func (s *Stack) GitLabIDToken(t testing.TB, aud string, claims map[string]any) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.GitLabTokenURL+"?audience="+url.QueryEscape(aud), nil)
	req.Header.Set("Authorization", "bearer "+OIDCRequestToken(claims))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("minting a GitLab ID token: %v", err)
	}
	defer resp.Body.Close()
	var v struct{ Value string }
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &v) != nil || v.Value == "" {
		t.Fatalf("minting a GitLab ID token: HTTP %d %s", resp.StatusCode, b)
	}
	return v.Value
}

func lookupIn(vars [][2]string) func(string) string {
	return func(k string) string {
		for i := len(vars) - 1; i >= 0; i-- {
			if vars[i][0] == k {
				return vars[i][1]
			}
		}
		return ""
	}
}

// shQuote is POSIX single quoting, as gitlab-runner's PosixShellEscape.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// HasLack fails t for each of has that text (named where) lacks, and each
// of lack it has.
func HasLack(t testing.TB, where, text string, has, lack []string) {
	t.Helper()
	for _, s := range has {
		if !strings.Contains(text, s) {
			t.Errorf("%s lacks %q:\n%s", where, s, text)
		}
	}
	for _, s := range lack {
		if strings.Contains(text, s) {
			t.Errorf("%s has %q:\n%s", where, s, text)
		}
	}
}
