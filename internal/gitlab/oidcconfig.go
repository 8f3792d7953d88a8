// Package gitlab is what argo-cred knows of GitLab CI: what a cluster needs
// so that a project's jobs can use their own ID token (id_tokens:).
package gitlab

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"

	"github.com/spf13/pflag"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/keyless"
)

// Issuer is the issuer of GitLab.com's ID tokens; a self-managed instance's
// is its own URL.
const Issuer = "https://gitlab.com"

// The placeholders printed for the ids not given: they never match a
// token (GitLab's ids are digits), so a configuration applied with one
// fails closed.
const (
	projectIDPlaceholder   = "PROJECT_ID"
	namespaceIDPlaceholder = "NAMESPACE_ID"
)

// username is the CEL expression that maps a GitLab ID token to its user:
// its sub (the project's path, the ref's type and the ref); the project's
// id, since a project deleted and created again under the same path (or a
// path another project takes over after a rename) gets a new id; and the
// environment the job deploys to, if it names one. GitLab's claims are
// strings: an id of another type fails the concatenation, and the token
// with it.
const username = `"gitlab:" + claims.sub + ":project_id:" + claims.project_id + (has(claims.environment) && claims.environment != "" ? ":environment:" + claims.environment : "")`

// projectPath is a project's full path: its namespace (a group, subgroups,
// or a user) and its own path. Never a ':', which would let one path forge
// another's sub.
var projectPath = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$`)

// isName says s may be a ref's or environment's name in a user (not
// empty, nothing keyless.NotInName refuses).
func isName(s string) bool { return s != "" && strings.IndexFunc(s, keyless.NotInName) < 0 }

// Flags are oidc-config's flags for GitLab: the project's full path and
// GitLab's numeric ids of the project and of its namespace, placeholders
// when empty.
type Flags struct{ Project, ProjectID, NamespaceID string }

// AddFlags defines --gitlab-project, --gitlab-project-id and
// --gitlab-namespace-id.
func (f *Flags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.Project, "gitlab-project", "", "GROUP/PROJECT (full path) of the GitLab CI jobs, instead of --github-repo")
	fs.StringVar(&f.ProjectID, "gitlab-project-id", "", "GitLab's numeric id of the project (claim project_id)")
	fs.StringVar(&f.NamespaceID, "gitlab-namespace-id", "", "GitLab's numeric id of the project's group or user namespace (claim namespace_id)")
}

// OIDCConfig is what a cluster needs so that the GitLab CI jobs of a
// project can use their own ID token: the AuthenticationConfiguration for
// kube-apiserver, pinning the project's and its namespace's ids, and a Role
// and RoleBinding for the jobs' user. Do prints them, and with Apply
// applies the Role and RoleBinding.
type OIDCConfig struct {
	keyless.Config
	Flags
	// Ref is the branch (NAME or refs/heads/NAME) or tag (refs/tags/NAME)
	// the jobs run on; Environment, if set, the environment they deploy to.
	Ref, Environment string
	// GitHub says a --github-* flag was given too.
	GitHub bool
}

// Check refuses flags before anything is printed or applied.
func (c OIDCConfig) Check() error {
	if err := c.CheckOnly(); err != nil {
		return err
	}
	if c.GitHub {
		return exitcode.New(exitcode.Usage, "give --github-* flags for GitHub Actions' jobs or --gitlab-* flags for GitLab CI's, in separate runs", "--gitlab-* and --github-* flags both given")
	}
	if !projectPath.MatchString(c.Project) {
		return exitcode.New(exitcode.Usage, "give --gitlab-project GROUP/PROJECT, the project's full path", "invalid --gitlab-project %q", c.Project)
	}
	if _, _, err := refOf(c.Ref); err != nil {
		return err
	}
	if c.Environment != "" && !isName(c.Environment) {
		return exitcode.New(exitcode.Usage, "", "invalid --environment %q", c.Environment)
	}
	for _, f := range []struct{ flag, v string }{{"--gitlab-project-id", c.ProjectID}, {"--gitlab-namespace-id", c.NamespaceID}} {
		if f.v != "" && !keyless.ID.MatchString(f.v) {
			return exitcode.New(exitcode.Usage, "GitLab's numeric id, digits only: "+c.lookup(), "invalid %s %q", f.flag, f.v)
		}
	}
	if c.Apply && (c.ProjectID == "" || c.NamespaceID == "") {
		return exitcode.New(exitcode.Usage, "give --gitlab-project-id and --gitlab-namespace-id ("+c.lookup()+"); without them oidc-config only prints, with placeholders",
			"--apply needs GitLab's ids of the project and its namespace: it never binds a placeholder user")
	}
	return nil
}

// refOf reads --ref: a branch (NAME, refs/heads/NAME) or a tag
// (refs/tags/NAME), as the ref_type and ref claims say it.
func refOf(ref string) (refType, name string, err error) {
	refType, name = "branch", ref
	if rest, ok := strings.CutPrefix(ref, "refs/"); ok {
		var kind string
		kind, name, _ = strings.Cut(rest, "/")
		refType = map[string]string{"heads": "branch", "tags": "tag"}[kind]
	}
	if refType == "" || !isName(name) {
		return "", "", exitcode.New(exitcode.Usage, "give a branch (NAME or refs/heads/NAME) or a tag (refs/tags/NAME)", "invalid --ref %q", ref)
	}
	return refType, name, nil
}

// User is the user a job of project on ref (and in environment, if not
// empty) maps to, for the project's id projectID: "gitlab:" + GitLab's
// default sub + ":project_id:" + the id [+ ":environment:" + environment].
func User(project, ref, environment, projectID string) string {
	refType, name, _ := refOf(ref)
	user := "gitlab:project_path:" + project + ":ref_type:" + refType + ":ref:" + name + ":project_id:" + projectID
	if environment != "" {
		user += ":environment:" + environment
	}
	return user
}

// lookup says where to find the ids.
func (c OIDCConfig) lookup() string {
	return "curl -sS " + strings.TrimSuffix(c.issuer(), "/") + "/api/v4/projects/" + url.PathEscape(c.Project) + " | jq .id,.namespace.id (a private project: add --header \"PRIVATE-TOKEN: …\")"
}

func (c OIDCConfig) issuer() string {
	if c.Issuer == "" {
		return Issuer
	}
	return c.Issuer
}

// Do checks c, prints the documents to out (a warning on errOut when they
// hold placeholders) and, with Apply, applies the Role and RoleBinding,
// naming each change on errOut.
func (c OIDCConfig) Do(ctx context.Context, out, errOut io.Writer) error {
	if err := c.Check(); err != nil {
		return err
	}
	c.Issuer = c.issuer()
	projectID, namespaceID := keyless.OrPlaceholder(c.ProjectID, projectIDPlaceholder), keyless.OrPlaceholder(c.NamespaceID, namespaceIDPlaceholder)
	user := User(c.Project, c.Ref, c.Environment, projectID)
	// The configuration maps every job to its user; the project's id in it
	// is the token's, whatever was given here.
	userComment := fmt.Sprintf("%q", user)
	if c.Only == keyless.OnlyAuthConfig {
		userComment = `"gitlab:<sub>:project_id:<project_id>", and ":environment:<environment>" when the job names one`
	}
	namespace := c.Project[:strings.LastIndex(c.Project, "/")]
	note, missing := c.placeholderNote()
	return c.Config.Do(ctx, keyless.Job{CI: "GitLab's", Username: username,
		Rules: []map[string]string{
			{"expression": fmt.Sprintf("claims.project_id == %q", projectID), "message": fmt.Sprintf("the token is not from project %s (project id %s)", c.Project, projectID)},
			{"expression": fmt.Sprintf("claims.namespace_id == %q", namespaceID), "message": fmt.Sprintf("the token is not from namespace %s (namespace id %s)", namespace, namespaceID)},
		},
		Who:  fmt.Sprintf("GitLab CI jobs of %s (project id %s, namespace id %s) get the user %s.", c.Project, projectID, namespaceID, userComment),
		User: user, Name: keyless.BindingName("gitlab", c.Project, user), Note: note, Missing: missing}, out, errOut)
}

// placeholderNote is the comment above the documents when an id they hold
// was not given: which placeholder, which flag, and how to find the id.
// The AuthenticationConfiguration holds both ids, the RBAC the project's
// (in the user). It also returns the flags missing.
func (c OIDCConfig) placeholderNote() (note string, flags []string) {
	var missing []string
	if c.ProjectID == "" {
		missing, flags = append(missing, projectIDPlaceholder+" (--gitlab-project-id)"), append(flags, "--gitlab-project-id")
	}
	if c.NamespaceID == "" && c.Only != keyless.OnlyRBAC {
		missing, flags = append(missing, namespaceIDPlaceholder+" (--gitlab-namespace-id)"), append(flags, "--gitlab-namespace-id")
	}
	if len(missing) == 0 {
		return "", nil
	}
	return fmt.Sprintf("# PLACEHOLDERS: %s. Run again with GitLab's numeric ids of the project and its namespace:\n# %s\n",
		strings.Join(missing, " and "), c.lookup()), flags
}
