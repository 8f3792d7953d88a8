package gitlab

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/keyless"
	"github.com/argo-cred/argo-cred/internal/testenv"
)

// run runs c as argo-cred would: stderr gets the error line, code its exit
// code.
func run(c OIDCConfig) (stdout, stderr string, code int) {
	var out, errOut strings.Builder
	err := c.Do(context.Background(), &out, &errOut)
	if err != nil {
		errOut.WriteString(exitcode.Line(err) + "\n")
	}
	return out.String(), errOut.String(), int(exitcode.Of(err))
}

// app is oidc-config for my-group/sub/app in namespace ci, on main.
func app(f func(*OIDCConfig)) OIDCConfig {
	c := OIDCConfig{Flags: Flags{Project: "my-group/sub/app"}, Ref: "refs/heads/main", Config: keyless.Config{Namespace: "ci"}}
	if f != nil {
		f(&c)
	}
	return c
}

// Every flag's refusals happen before anything is printed; without
// GitLab's ids the output has placeholders that never match a token, the
// flags that fill them named in a comment and on stderr (exit 0); the ids
// pin project_id and namespace_id as strings; ref, tag and environment
// name the user.
func TestOIDCConfig(t *testing.T) {
	ids := func(c *OIDCConfig) { c.ProjectID, c.NamespaceID = "42", "7" }
	tests := map[string]struct {
		c         OIDCConfig
		code      int
		has, lack []string
		stderr    string
	}{
		"no ids": {c: app(nil), has: []string{
			"# PLACEHOLDERS: PROJECT_ID (--gitlab-project-id) and NAMESPACE_ID (--gitlab-namespace-id).",
			"# curl -sS https://gitlab.com/api/v4/projects/my-group%2Fsub%2Fapp | jq .id,.namespace.id",
			`claims.project_id == "PROJECT_ID"`, `claims.namespace_id == "NAMESPACE_ID"`, "url: https://gitlab.com\n",
			"name: gitlab:project_path:my-group/sub/app:ref_type:branch:ref:main:project_id:PROJECT_ID\n"},
			stderr: "warning: the output has placeholders for GitLab's ids: give --gitlab-project-id and --gitlab-namespace-id\n"},
		"ids": {c: app(ids), has: []string{`claims.project_id == "42"`, `claims.namespace_id == "7"`, "the token is not from namespace my-group/sub (namespace id 7)",
			"name: gitlab:project_path:my-group/sub/app:ref_type:branch:ref:main:project_id:42\n", "name: gitlab-my-group-sub-app-"},
			lack: []string{"PLACEHOLDER", "PROJECT_ID", "NAMESPACE_ID"}},
		"rbac without the namespace id": {c: app(func(c *OIDCConfig) { c.ProjectID, c.Only = "42", keyless.OnlyRBAC }), lack: []string{"PLACEHOLDER", "claims"}},
		"rbac without ids": {c: app(func(c *OIDCConfig) { c.Only = keyless.OnlyRBAC }), has: []string{"# PLACEHOLDERS: PROJECT_ID (--gitlab-project-id). Run again"},
			stderr: "warning: the output has placeholders for GitLab's ids: give --gitlab-project-id\n"},
		"a tag":            {c: app(func(c *OIDCConfig) { ids(c); c.Ref = "refs/tags/v1.2" }), has: []string{":ref_type:tag:ref:v1.2:project_id:42\n"}},
		"a branch by name": {c: app(func(c *OIDCConfig) { ids(c); c.Ref = "release" }), has: []string{":ref_type:branch:ref:release:project_id:42\n"}},
		"an environment": {c: app(func(c *OIDCConfig) { ids(c); c.Environment = "prod" }),
			has: []string{":ref_type:branch:ref:main:project_id:42:environment:prod\n"}},
		"self-managed": {c: app(func(c *OIDCConfig) { ids(c); c.Issuer = "https://gitlab.example.com" }), has: []string{"url: https://gitlab.example.com\n"}},
		// --for grants exactly the profiles', as provision --for does.
		"for submit,wait": {c: app(func(c *OIDCConfig) { ids(c); c.Only, c.For = keyless.OnlyRBAC, []string{"submit,wait"} }),
			has: []string{"  - workflows\n  verbs:\n  - create\n  - get\n  - watch\n"}, lack: []string{"list"}},
		"for logs": {c: app(func(c *OIDCConfig) { ids(c); c.Only, c.For = keyless.OnlyRBAC, []string{"logs"} }),
			has: []string{"  - pods/log\n  verbs:\n  - get\n"}},
		"for unknown": {c: app(func(c *OIDCConfig) { ids(c); c.For = []string{"deploy"} }), code: 2, stderr: "invalid --for"},
		"no namespace given": {c: app(func(c *OIDCConfig) { ids(c); c.Namespace = "" }), has: []string{"namespace: NAMESPACE\n"},
			stderr: "warning: the Role and RoleBinding are in the placeholder namespace NAMESPACE: give --namespace\n"},

		"apply without ids":   {c: app(func(c *OIDCConfig) { c.Apply = true }), code: 2, stderr: "it never binds a placeholder user; give --gitlab-project-id and --gitlab-namespace-id"},
		"apply without ns id": {c: app(func(c *OIDCConfig) { c.Apply, c.ProjectID = true, "42" }), code: 2, stderr: "give --gitlab-project-id and --gitlab-namespace-id"},
		"id not digits":       {c: app(func(c *OIDCConfig) { c.ProjectID = "my-group/app" }), code: 2, stderr: `invalid --gitlab-project-id "my-group/app"`},
		"id with a quote":     {c: app(func(c *OIDCConfig) { c.NamespaceID = `7" || true || "` }), code: 2, stderr: "invalid --gitlab-namespace-id"},
		"id with a leading 0": {c: app(func(c *OIDCConfig) { c.ProjectID = "042" }), code: 2, stderr: `invalid --gitlab-project-id "042"`},
		"no namespace":        {c: app(func(c *OIDCConfig) { c.Project = "app" }), code: 2, stderr: `invalid --gitlab-project "app"`},
		"a colon in the path": {c: app(func(c *OIDCConfig) { c.Project = "g/app:ref_type:tag" }), code: 2, stderr: "invalid --gitlab-project"},
		"a merge request ref": {c: app(func(c *OIDCConfig) { c.Ref = "refs/merge-requests/1/head" }), code: 2, stderr: `invalid --ref "refs/merge-requests/1/head"; give a branch`},
		"a colon in the ref":  {c: app(func(c *OIDCConfig) { c.Ref = "main:project_id:1" }), code: 2, stderr: "invalid --ref"},
		// YAML turns a NEL into a space, and cannot print a C1 control: the
		// printed RoleBinding would bind another user than --apply.
		"a NEL in the env":              {c: app(func(c *OIDCConfig) { c.Environment = "prod\u0085x" }), code: 2, stderr: "invalid --environment"},
		"a C1 control in the ref":       {c: app(func(c *OIDCConfig) { c.Ref = "main\u0080" }), code: 2, stderr: "invalid --ref"},
		"a zero-width space in the ref": {c: app(func(c *OIDCConfig) { c.Ref = "ma\u200bin" }), code: 2, stderr: "invalid --ref"},
		"a space in the env":            {c: app(func(c *OIDCConfig) { c.Environment = "prod x" }), code: 2, stderr: "invalid --environment"},
		"github flags as well":          {c: app(func(c *OIDCConfig) { c.GitHub = true }), code: 2, stderr: "--gitlab-* and --github-* flags both given"},
		"unknown only":                  {c: app(func(c *OIDCConfig) { c.Only = "kubeconfig" }), code: 2, stderr: `unknown --only "kubeconfig"`},
		// The issuer lands in a comment (the ids' lookup) and the jwt entry:
		// one kube-apiserver takes (https, no userinfo, query or fragment),
		// never a line break that would add lines to the documents.
		"issuer with a line break": {c: app(func(c *OIDCConfig) { c.Issuer = "https://gitlab.example.com\nkind: ClusterRoleBinding\n#" }), code: 2, stderr: "invalid --issuer"},
		"issuer with a NEL":        {c: app(func(c *OIDCConfig) { c.Issuer = "https://gitlab.example.com\u0085kind: x" }), code: 2, stderr: "invalid --issuer"},
		"issuer http":              {c: app(func(c *OIDCConfig) { c.Issuer = "http://gitlab.example.com" }), code: 2, stderr: "invalid --issuer"},
		"issuer with userinfo":     {c: app(func(c *OIDCConfig) { c.Issuer = "https://u:p@gitlab.example.com" }), code: 2, stderr: "invalid --issuer"},
		"issuer with a query":      {c: app(func(c *OIDCConfig) { c.Issuer = "https://gitlab.example.com/?a=b" }), code: 2, stderr: "invalid --issuer"},
		"issuer CA not a file":     {c: app(func(c *OIDCConfig) { c.IssuerCAFile = "/nonexistent/ca.pem" }), code: 2, stderr: "give --issuer-ca-file a PEM file"},
		"allow not a grant":        {c: app(func(c *OIDCConfig) { c.Allow = []string{"workflows"} }), code: 2, stderr: "workflows"},
		"rbac only, no project":    {c: app(func(c *OIDCConfig) { c.Project, c.Only = "", keyless.OnlyRBAC }), code: 2, stderr: `invalid --gitlab-project ""`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := run(tc.c)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) || (tc.code == 0 && stderr != tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.stderr)
			}
			if tc.code != 0 && stdout != "" {
				t.Errorf("a refusal printed on stdout:\n%s", stdout)
			}
			testenv.HasLack(t, "stdout", stdout, tc.has, tc.lack)
		})
	}
}

// The jwt entry as kube-apiserver reads it, the issuer's CA inline.
func TestOIDCConfigEntry(t *testing.T) {
	ca := t.TempDir() + "/ca.pem"
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(app(func(c *OIDCConfig) {
		c.ProjectID, c.NamespaceID, c.Only, c.Issuer, c.IssuerCAFile, c.Audiences = "42", "7", keyless.OnlyAuthConfig, "https://127.0.0.1:22752", ca, []string{"argo"}
	}))
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		JWT []map[string]any `json:"jwt"`
	}
	if err := yaml.Unmarshal([]byte(stdout), &got); err != nil || len(got.JWT) != 1 {
		t.Fatalf("%v: %s", err, stdout)
	}
	want := map[string]any{
		"issuer": map[string]any{"url": "https://127.0.0.1:22752", "audiences": []any{"argo"}, "certificateAuthority": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
		"claimValidationRules": []any{
			map[string]any{"expression": `claims.project_id == "42"`, "message": "the token is not from project my-group/sub/app (project id 42)"},
			map[string]any{"expression": `claims.namespace_id == "7"`, "message": "the token is not from namespace my-group/sub (namespace id 7)"},
		},
		"claimMappings":       map[string]any{"username": map[string]any{"expression": username}},
		"userValidationRules": []any{map[string]any{"expression": "!user.username.startsWith('system:')", "message": "the username must not start with system:"}},
	}
	if diff := cmp.Diff(want, got.JWT[0]); diff != "" {
		t.Errorf("jwt entry (-want +got):\n%s", diff)
	}
	if !strings.Contains(stdout, `get the user "gitlab:<sub>:project_id:<project_id>", and ":environment:<environment>" when the job names one.`) {
		t.Errorf("the comment does not say which user a job gets:\n%s", stdout)
	}
}

// What a cluster needs for the jobs of my-group/app on main, ids given:
// the jwt entry for kube-apiserver, then the Role and RoleBinding.
func ExampleOIDCConfig_Do() {
	c := OIDCConfig{Flags: Flags{Project: "my-group/app", ProjectID: "42", NamespaceID: "7"}, Ref: "main",
		Config: keyless.Config{Namespace: "ci", Audiences: []string{"https://argo.example"}, Allow: []string{"workflows:create"}}}
	_ = c.Do(context.Background(), os.Stdout, os.Stderr)
	// Output:
	// # kube-apiserver --authentication-config (a file on every control-plane host; Kubernetes 1.34: v1,
	// # 1.30-1.33: apiserver.config.k8s.io/v1beta1). If the file exists, add the jwt entry to it.
	// # GitLab CI jobs of my-group/app (project id 42, namespace id 7) get the user "gitlab:project_path:my-group/app:ref_type:branch:ref:main:project_id:42".
	// apiVersion: apiserver.config.k8s.io/v1
	// jwt:
	// - claimMappings:
	//     username:
	//       expression: '"gitlab:" + claims.sub + ":project_id:" + claims.project_id + (has(claims.environment)
	//         && claims.environment != "" ? ":environment:" + claims.environment : "")'
	//   claimValidationRules:
	//   - expression: claims.project_id == "42"
	//     message: the token is not from project my-group/app (project id 42)
	//   - expression: claims.namespace_id == "7"
	//     message: the token is not from namespace my-group (namespace id 7)
	//   issuer:
	//     audiences:
	//     - https://argo.example
	//     url: https://gitlab.com
	//   userValidationRules:
	//   - expression: '!user.username.startsWith(''system:'')'
	//     message: 'the username must not start with system:'
	// kind: AuthenticationConfiguration
	// ---
	// apiVersion: rbac.authorization.k8s.io/v1
	// kind: Role
	// metadata:
	//   labels:
	//     app.kubernetes.io/managed-by: argo-cred
	//     argo-cred/client: gitlab-my-group-app-edb3a641bd
	//   name: gitlab-my-group-app-edb3a641bd
	//   namespace: ci
	// rules:
	// - apiGroups:
	//   - argoproj.io
	//   resources:
	//   - workflows
	//   verbs:
	//   - create
	// ---
	// apiVersion: rbac.authorization.k8s.io/v1
	// kind: RoleBinding
	// metadata:
	//   labels:
	//     app.kubernetes.io/managed-by: argo-cred
	//     argo-cred/client: gitlab-my-group-app-edb3a641bd
	//   name: gitlab-my-group-app-edb3a641bd
	//   namespace: ci
	// roleRef:
	//   apiGroup: rbac.authorization.k8s.io
	//   kind: Role
	//   name: gitlab-my-group-app-edb3a641bd
	// subjects:
	// - apiGroup: rbac.authorization.k8s.io
	//   kind: User
	//   name: gitlab:project_path:my-group/app:ref_type:branch:ref:main:project_id:42
}
