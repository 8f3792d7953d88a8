package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// jwtEntry is the jwt entry for issuer of an AuthenticationConfiguration.
func jwtEntry(t *testing.T, doc []byte, issuer string) map[string]any {
	t.Helper()
	var cfg struct {
		APIVersion string           `json:"apiVersion"`
		Kind       string           `json:"kind"`
		JWT        []map[string]any `json:"jwt"`
	}
	if err := yaml.Unmarshal(doc, &cfg); err != nil || cfg.Kind != "AuthenticationConfiguration" || cfg.APIVersion != "apiserver.config.k8s.io/v1" {
		t.Fatalf("not an AuthenticationConfiguration v1 (%v):\n%s", err, doc)
	}
	for _, e := range cfg.JWT {
		if iss, _ := e["issuer"].(map[string]any); iss["url"] == issuer {
			return e
		}
	}
	t.Fatalf("no jwt entry for %s in:\n%s", issuer, doc)
	return nil
}

// gitlabJob is a job of the example .gitlab-ci.yml, or of its component
// instantiated with inputs, and how to run it against the stack: in a
// checkout holding the example's workflow (the stand-in controller runs it
// for 2s), with argo-cred and argo on PATH, the Argo Server and namespace
// as project CI/CD variables.
type gitlabJob struct {
	s   *testenv.Stack
	ns  string
	run testenv.GitLabRun
}

func newGitLabJob(t *testing.T, s *testenv.Stack, ns string) *gitlabJob {
	t.Helper()
	dir, bin := t.TempDir(), t.TempDir()
	wf, err := os.ReadFile(filepath.Join(testenv.Root(), "examples", "github-actions", "workflow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wf = []byte(strings.Replace(string(wf), "  generateName: hello-\n", "  generateName: hello-\n  annotations: {argo-cred.test/duration: 2s}\n", 1))
	must(t, os.WriteFile(filepath.Join(dir, "workflow.yaml"), wf, 0o644))
	must(t, os.Symlink(binary, filepath.Join(bin, "argo-cred")))
	must(t, os.Symlink(s.ArgoBin, filepath.Join(bin, "argo")))
	return &gitlabJob{s: s, ns: ns, run: testenv.GitLabRun{Dir: dir, Path: bin,
		ProjectVariables: map[string]string{"ARGO_SERVER": s.ArgoServer, "ARGO_SECURE": "false", "ARGO_NAMESPACE": ns}}}
}

// exampleJobs are the jobs of examples/gitlab-ci/.gitlab-ci.yml.
func exampleJobs(t *testing.T) map[string]testenv.GitLabJob {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "examples", "gitlab-ci", ".gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := testenv.ParseGitLabCI(b)
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

// GitLab CI, keyless, end to end: the stack's kube-apiserver trusts the
// GitLab stand-in through the jwt entry oidc-config --gitlab-project
// prints; its --apply binds the job's user; the example .gitlab-ci.yml's
// jobs, run as gitlab-runner's shell executor runs them, submit a workflow
// with the real argo (and wait for it through exec), and the component does
// the same with its inputs; each failure ends the job with argo-cred's exit
// code and one error line, before any argo command; no job log holds the
// token.
func TestIntegrationGitLabCI(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	if s.GitLabIssuer == "" {
		t.Fatal("the stack has no GitLab issuer (STACK_GITLAB_ISSUER): restart it with this tree's test/stack/stack.sh")
	}
	ns := s.Namespace(t)
	r := run(t, []string{"KUBECONFIG=" + s.Kubeconfig}, "oidc-config", "--gitlab-project", s.GitLabProject, "--gitlab-project-id", s.GitLabProjectID,
		"--gitlab-namespace-id", s.GitLabNamespaceID, "--namespace", ns, "--audience", s.GitLabAudience, "--issuer", s.GitLabIssuer,
		"--issuer-ca-file", s.CAFile, "--allow", "workflows:create,get,watch", "--apply")
	user := "gitlab:project_path:" + s.GitLabProject + ":ref_type:branch:ref:main:project_id:" + s.GitLabProjectID
	if r.code != 0 || !strings.Contains(r.stderr, "rolebinding/gitlab-argo-cred-test-app-") || !strings.Contains(r.stdout, "name: "+user+"\n") {
		t.Fatalf("oidc-config --gitlab-project --apply: exit %d\n%s\n%s", r.code, r.stderr, r.stdout)
	}
	// The jwt entry printed is the one the stack runs with.
	running, err := os.ReadFile(s.AuthConfig)
	if err != nil {
		t.Fatal(err)
	}
	printed := strings.Split(r.stdout, "\n---\n")[0]
	if diff := cmp.Diff(jwtEntry(t, running, s.GitLabIssuer), jwtEntry(t, []byte(printed), s.GitLabIssuer)); diff != "" {
		t.Errorf("oidc-config's jwt entry differs from the stack's (-stack +printed):\n%s", diff)
	}

	jobs := exampleJobs(t)
	for _, name := range []string{"argo-submit", "argo-submit-wait"} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			res := s.RunGitLabJob(t, jobs[name], newGitLabJob(t, s, ns).run)
			t.Logf("job %s: %s", name, time.Since(start).Round(time.Millisecond))
			want := []string{"$ argo submit workflow.yaml", "Name:", "hello-"}
			if name == "argo-submit-wait" {
				want = []string{"$ argo-cred exec --for submit,wait -- argo submit --wait workflow.yaml", "Name:", "hello-", "Succeeded"}
			}
			for _, w := range want {
				if res.Code != 0 || !strings.Contains(res.Log, w) {
					t.Errorf("exit %d; the log lacks %q:\n%s", res.Code, w, res.Log)
				}
			}
			if testing.Verbose() {
				t.Logf("job log:\n%s", res.Log)
			}
			noLeak(t, res.IDTokens[0], "the job log", res.Log)
		})
	}
	t.Run("component", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(testenv.Root(), "examples", "gitlab-ci", "component", "templates", "argo-cred.yml"))
		if err != nil {
			t.Fatal(err)
		}
		text, err := testenv.InterpolateComponent(string(b), map[string]string{"server": s.ArgoServer, "namespace": ns, "job-name": "deploy-argo",
			"for": "submit,wait", "command": "submit --wait workflow.yaml"})
		if err != nil {
			t.Fatal(err)
		}
		cjobs, err := testenv.ParseGitLabCI([]byte(text))
		if err != nil || len(cjobs) != 1 {
			t.Fatalf("%v: %s", err, text)
		}
		j := newGitLabJob(t, s, ns)
		delete(j.run.ProjectVariables, "ARGO_SERVER") // the input's
		delete(j.run.ProjectVariables, "ARGO_NAMESPACE")
		res := s.RunGitLabJob(t, cjobs["deploy-argo"], j.run)
		if res.Code != 0 || !strings.Contains(res.Log, "$ argo-cred exec -- argo submit --wait workflow.yaml") || !strings.Contains(res.Log, "Succeeded") {
			t.Errorf("component job: exit %d\n%s", res.Code, res.Log)
		}
		noLeak(t, res.IDTokens[0], "the job log", res.Log)
	})

	other := "project_path:evil/app:ref_type:branch:ref:main"
	tests := map[string]struct {
		aud    string
		claims map[string]any
		code   int
		line   string
	}{
		"wrong audience": {aud: "not-argo-cred", code: 5, line: "must trust issuer " + s.GitLabIssuer + " for audience not-argo-cred"},
		"untrusted key":  {claims: map[string]any{"untrusted": true}, code: 5, line: "the cluster did not accept the OIDC token"},
		"expired":        {claims: map[string]any{"ttl": -10}, code: 3, line: "expires in 0s, less than --min-lifetime"},
		"another project": {claims: map[string]any{"project_id": "666", "project_path": "evil/app", "namespace_id": "665", "namespace_path": "evil", "sub": other},
			code: 5, line: "the token must pass its claim rules (GitHub: the owner's id; GitLab: the project's and namespace's ids)"},
		// A project deleted and created again under the path: the same sub,
		// another id, refused by the claim rule.
		"re-created project": {claims: map[string]any{"project_id": "202"}, code: 5, line: "the token must pass its claim rules (GitHub: the owner's id; GitLab: the project's and namespace's ids)"},
		"another namespace":  {claims: map[string]any{"namespace_id": "666"}, code: 5, line: "the token must pass its claim rules (GitHub: the owner's id; GitLab: the project's and namespace's ids)"},
		// GitLab's ids are strings: a number, even the right one, fails closed.
		"project id a number": {claims: map[string]any{"project_id": 201}, code: 5, line: "the token must pass its claim rules (GitHub: the owner's id; GitLab: the project's and namespace's ids)"},
		// Accepted, but another user, bound nowhere.
		"another branch": {claims: map[string]any{"ref": "feature", "ref_path": "refs/heads/feature", "sub": "project_path:" + s.GitLabProject + ":ref_type:branch:ref:feature"},
			code: 6, line: `the cluster maps the token to user "gitlab:project_path:` + s.GitLabProject + ":ref_type:branch:ref:feature:project_id:" + s.GitLabProjectID + `"`},
		"an environment": {claims: map[string]any{"environment": "prod"}, code: 6, line: `the cluster maps the token to user "` + user + `:environment:prod"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			j := newGitLabJob(t, s, ns)
			j.run.Aud, j.run.Claims = tc.aud, tc.claims
			// The cluster's answer to the token, named: argo-cred asks who it is.
			j.run.ProjectVariables["KUBECONFIG"] = s.Kubeconfig
			res := s.RunGitLabJob(t, jobs["argo-submit"], j.run)
			var errLines []string
			for _, l := range strings.Split(res.Log, "\n") {
				if strings.HasPrefix(l, "error: ") {
					errLines = append(errLines, l)
				}
			}
			if res.Code != tc.code || len(errLines) != 1 || !strings.Contains(res.Log, tc.line) || strings.Contains(res.Log, "$ argo submit") {
				t.Errorf("exit %d, error lines %q; want exit %d, one error line, %q, and no argo submit:\n%s", res.Code, errLines, tc.code, tc.line, res.Log)
			}
			noLeak(t, res.IDTokens[0], "the job log", res.Log)
		})
	}
}

// Each GitLab job asks --for exactly the profiles of the argo commands it
// runs: the example's jobs, and the component's job with the inputs of
// docs/gitlab-ci.md.
func TestGitLabExamplesGrantsAreTheirCommands(t *testing.T) {
	jobs := exampleJobs(t)
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "examples", "gitlab-ci", "component", "templates", "argo-cred.yml"))
	must(t, err)
	text, err := testenv.InterpolateComponent(string(b), map[string]string{"server": "argo.example.com:443", "namespace": "ci",
		"for": "submit,wait", "command": "submit --wait workflow.yaml"})
	must(t, err)
	component, err := testenv.ParseGitLabCI([]byte(text))
	must(t, err)
	jobs["component"] = component["argo"]
	for name, j := range jobs {
		lines := j.Script
		for k, v := range j.Variables {
			lines = append(lines, k+"="+v)
		}
		job := strings.Join(lines, "\n")
		asked, err := testenv.ForProfiles(job)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if diff := cmp.Diff(testenv.ArgoProfiles(job), asked); diff != "" {
			t.Errorf("%s: --for (-its argo commands' profiles +asked):\n%s", name, diff)
		}
	}
}

// The component's command input lands in its script line, which the job's
// shell runs with the ID token in its environment: an input that is more
// than argo's arguments (a ;, a $, a quote, a line break) is refused when
// the pipeline is created, as GitLab refuses an input its regex does not
// match; plain arguments pass.
func TestGitLabComponentCommandIsNoScript(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "examples", "gitlab-ci", "component", "templates", "argo-cred.yml"))
	must(t, err)
	for command, ok := range map[string]bool{
		"submit --wait workflow.yaml": true, "--loglevel debug list -o name": true, "submit -p msg=hi -l app.kubernetes.io/name=x --serviceaccount ci-sa wf/a_b.yaml": true,
		"submit wf.yaml; env": false, "submit wf.yaml && curl -d @- x": false, "submit $(env)": false, "submit `env`": false, "version | tee x": false,
		"submit $ARGO_ID_TOKEN": false, "submit 'a b'": false, "submit wf.yaml\nenv": false, "submit wf.yaml > /tmp/x": false, "submit *": false,
	} {
		_, err := testenv.InterpolateComponent(string(b), map[string]string{"server": "argo.example.com:443", "namespace": "ci", "command": command})
		if (err == nil) != ok {
			t.Errorf("command %q: %v; want accepted %v", command, err, ok)
		}
	}
}
