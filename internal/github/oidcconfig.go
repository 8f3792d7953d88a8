package github

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/token"
)

// The placeholders OIDCConfig prints for the ids it was not given: they
// never match a token, so a configuration applied with one fails closed.
const (
	ownerIDPlaceholder = "OWNER_ID"
	repoIDPlaceholder  = "REPOSITORY_ID"
)

// What OIDCConfig prints, each alone with Only: the file for
// kube-apiserver (on the control-plane hosts) and the RBAC (for kubectl
// apply), which different people often handle.
const (
	onlyAuthConfig = "authentication-config"
	onlyRBAC       = "rbac"
)

// OIDCParts are the values of OIDCConfig.Only (--only).
var OIDCParts = []string{onlyAuthConfig, onlyRBAC}

var (
	repoName = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	// GitHub's ids are positive integers; its claims carry them as strings.
	githubID = regexp.MustCompile(`^[1-9][0-9]{0,19}$`)
)

// OIDCConfig is what a cluster needs so that the GitHub Actions jobs of a
// repository can use their own OIDC token: the AuthenticationConfiguration
// for kube-apiserver, and a Role and RoleBinding for the jobs' user. Do
// prints them, and with Apply applies the Role and RoleBinding.
type OIDCConfig struct {
	// Repo is OWNER/REPO; OwnerID and RepoID are GitHub's numeric ids of
	// the owner and the repository, placeholders when empty.
	Repo, OwnerID, RepoID string
	// Ref or Environment is where the jobs run.
	Ref, Environment string
	// Issuer issues the tokens; IssuerCAFile is its PEM CA, if any.
	Issuer, IssuerCAFile string
	// Audiences: the first is the audience the jobs request; none:
	// token.DefaultAudience.
	Audiences []string
	// Namespace is the printed Role's and RoleBinding's; empty: NAMESPACE.
	Namespace string
	// Allow are the grants (RESOURCE:VERB[,VERB…]); none: workflows:list,create.
	Allow []string
	// Only is one of OIDCParts to print alone; empty: both.
	Only string
	// Apply applies the Role and RoleBinding through Connect, which returns
	// the Kubernetes client and the namespace to apply in.
	Apply   bool
	Connect func() (*kube.Client, string, error)
}

// Check refuses flags before anything is printed or applied.
func (c OIDCConfig) Check() error {
	if c.Only != "" && !slices.Contains(OIDCParts, c.Only) {
		return exitcode.New(exitcode.Usage, "use "+strings.Join(OIDCParts, " or ")+", or no --only for both", "unknown --only %q", c.Only)
	}
	if !repoName.MatchString(c.Repo) {
		return exitcode.New(exitcode.Usage, "give --github-repo OWNER/REPO", "invalid --github-repo %q", c.Repo)
	}
	if c.Environment != "" && c.Ref != "refs/heads/main" {
		return exitcode.New(exitcode.Usage, "give one: a job in an environment has the environment in its subject, not the ref", "--ref and --environment both given")
	}
	if strings.ContainsAny(c.Ref+c.Environment, " :\n") {
		return exitcode.New(exitcode.Usage, "", "invalid --ref or --environment")
	}
	idHint := "GitHub's numeric id, digits only: gh api repos/" + c.Repo + " --jq .owner.id,.id"
	for _, f := range []struct{ flag, v string }{{"--github-owner-id", c.OwnerID}, {"--github-repo-id", c.RepoID}} {
		if f.v != "" && !githubID.MatchString(f.v) {
			return exitcode.New(exitcode.Usage, idHint, "invalid %s %q", f.flag, f.v)
		}
	}
	if c.Apply && (c.OwnerID == "" || c.RepoID == "") {
		return exitcode.New(exitcode.Usage, "give --github-owner-id and --github-repo-id (gh api repos/"+c.Repo+" --jq .owner.id,.id); without them oidc-config only prints, with placeholders",
			"--apply needs GitHub's ids of the owner and the repository: it never binds a placeholder user")
	}
	return nil
}

// Do checks c, prints the documents to out (a warning on errOut when they
// hold placeholders) and, with Apply, applies the Role and RoleBinding,
// naming each change on errOut.
func (c OIDCConfig) Do(ctx context.Context, out, errOut io.Writer) error {
	if err := c.Check(); err != nil {
		return err
	}
	var ca string
	if c.IssuerCAFile != "" {
		b, err := files.Read(c.IssuerCAFile, 1<<20)
		if err != nil {
			return exitcode.Wrap(exitcode.Usage, "give --issuer-ca-file a PEM file", err)
		}
		ca = string(b)
	}
	grants, err := c.grants()
	if err != nil {
		return err
	}
	repoID := c.RepoID
	if repoID == "" {
		repoID = repoIDPlaceholder
	}
	user := User(c.Repo, c.Ref, c.Environment, repoID)
	name := BindingName(c.Repo, user)
	doc, err := c.documents(ca, user, name, grants)
	if err != nil {
		return err
	}
	if note, missing := c.placeholderNote(); note != "" {
		fmt.Fprintln(errOut, "warning: the output has placeholders for GitHub's ids: give "+strings.Join(missing, " and "))
	}
	if _, err := io.WriteString(out, doc); err != nil {
		return err
	}
	if !c.Apply {
		return nil
	}
	kc, ns, err := c.Connect()
	if err != nil {
		return err
	}
	if err := sameSubject(ctx, kc, ns, name, user); err != nil {
		return err
	}
	changes, err := identity.Apply(ctx, kc, ns, identity.UserObjects(name, ns, user, grants), false)
	for _, ch := range changes {
		fmt.Fprintf(errOut, "%s/%s %s\n", strings.ToLower(ch.Kind), ch.Name, ch.What)
	}
	return err
}

// grants reads Allow.
func (c OIDCConfig) grants() ([]identity.Grant, error) {
	allow := c.Allow
	if len(allow) == 0 {
		allow = []string{"workflows:list,create"}
	}
	var grants []identity.Grant
	for _, s := range allow {
		g, err := identity.ParseGrant(s)
		if err != nil {
			return nil, err
		}
		grants = append(grants, g)
	}
	return grants, nil
}

// documents are the YAML documents printed, with their comments: the
// placeholder note, the AuthenticationConfiguration and the Role and
// RoleBinding name of user, as Only says.
func (c OIDCConfig) documents(ca, user, name string, grants []identity.Grant) (string, error) {
	audience := token.DefaultAudience
	if len(c.Audiences) > 0 {
		audience = c.Audiences[0]
	}
	owner, _, _ := strings.Cut(c.Repo, "/")
	ownerID := c.OwnerID
	if ownerID == "" {
		ownerID = ownerIDPlaceholder
	}
	ns := c.Namespace
	if ns == "" {
		ns = "NAMESPACE"
	}
	b, err := yaml.Marshal(AuthenticationConfig(c.Issuer, ca, audience, owner, ownerID))
	if err != nil {
		return "", err
	}
	// The configuration maps every job to its user; the repository's id in
	// it is the token's, whatever was given here.
	userComment := fmt.Sprintf("%q", user)
	if c.Only == onlyAuthConfig && c.RepoID == "" {
		userComment = `"gha:<sub>:repository_id:<repository_id>"`
	}
	var out strings.Builder
	note, _ := c.placeholderNote()
	out.WriteString(note)
	if c.Only != onlyRBAC {
		fmt.Fprintf(&out, "# kube-apiserver --authentication-config (a file on every control-plane host; Kubernetes 1.34: v1,\n"+
			"# 1.30-1.33: apiserver.config.k8s.io/v1beta1). If the file exists, add the jwt entry to it.\n"+
			"# GitHub jobs of %s (owner id %s) get the user %s.\n%s", owner, ownerID, userComment, b)
	}
	if c.Only == onlyRBAC {
		fmt.Fprintf(&out, "# The Role and RoleBinding of the user %q (kubectl apply -f -).\n", user)
	}
	if c.Only != onlyAuthConfig {
		for i, obj := range identity.UserObjects(name, ns, user, grants) {
			b, err := yaml.Marshal(obj.Body)
			if err != nil {
				return "", err
			}
			if i > 0 || c.Only != onlyRBAC {
				out.WriteString("---\n")
			}
			out.Write(b)
		}
	}
	return out.String(), nil
}

// placeholderNote is the comment above the documents when an id they hold
// was not given: which placeholder, which flag, and how to find the id.
// The AuthenticationConfiguration holds the owner's id, the RBAC the
// repository's (in the user).
// It also returns the flags missing.
func (c OIDCConfig) placeholderNote() (note string, flags []string) {
	var missing []string
	if c.OwnerID == "" && c.Only != onlyRBAC {
		missing, flags = append(missing, ownerIDPlaceholder+" (--github-owner-id)"), append(flags, "--github-owner-id")
	}
	if c.RepoID == "" && c.Only != onlyAuthConfig {
		missing, flags = append(missing, repoIDPlaceholder+" (--github-repo-id)"), append(flags, "--github-repo-id")
	}
	if len(missing) == 0 {
		return "", nil
	}
	return fmt.Sprintf("# PLACEHOLDERS: %s. Run again with GitHub's numeric ids of the owner and the repository:\n"+
		"# gh api repos/%s --jq .owner.id,.id\n", strings.Join(missing, " and "), c.Repo), flags
}
