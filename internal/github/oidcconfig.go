package github

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/pflag"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/keyless"
)

// The placeholders OIDCConfig prints for the ids it was not given: they
// never match a token, so a configuration applied with one fails closed.
const (
	ownerIDPlaceholder = "OWNER_ID"
	repoIDPlaceholder  = "REPOSITORY_ID"
)

const (
	onlyAuthConfig = keyless.OnlyAuthConfig
	onlyRBAC       = keyless.OnlyRBAC
)

var repoName = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// Flags are oidc-config's flags for GitHub: the repository and GitHub's
// numeric ids of the owner and the repository, placeholders when empty.
type Flags struct{ Repo, OwnerID, RepoID string }

// AddFlags defines --github-repo, --github-owner-id and --github-repo-id.
func (f *Flags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.Repo, "github-repo", "", "OWNER/REPO of the GitHub Actions jobs")
	fs.StringVar(&f.OwnerID, "github-owner-id", "", "GitHub's numeric id of OWNER (claim repository_owner_id)")
	fs.StringVar(&f.RepoID, "github-repo-id", "", "GitHub's numeric id of OWNER/REPO (claim repository_id)")
}

// OIDCConfig is what a cluster needs so that the GitHub Actions jobs of a
// repository can use their own OIDC token: the AuthenticationConfiguration
// for kube-apiserver, and a Role and RoleBinding for the jobs' user. Do
// prints them, and with Apply applies the Role and RoleBinding.
type OIDCConfig struct {
	keyless.Config
	Flags
	// Ref or Environment is where the jobs run.
	Ref, Environment string
}

// Check refuses flags before anything is printed or applied.
func (c OIDCConfig) Check() error {
	if err := c.CheckOnly(); err != nil {
		return err
	}
	if c.Repo == "" {
		return exitcode.New(exitcode.Usage, "give --github-repo OWNER/REPO for GitHub Actions, or --gitlab-project GROUP/PROJECT for GitLab CI", "oidc-config needs the jobs' repository")
	}
	if !repoName.MatchString(c.Repo) {
		return exitcode.New(exitcode.Usage, "give --github-repo OWNER/REPO", "invalid --github-repo %q", c.Repo)
	}
	if c.Environment != "" && c.Ref != "refs/heads/main" {
		return exitcode.New(exitcode.Usage, "give one: a job in an environment has the environment in its subject, not the ref", "--ref and --environment both given")
	}
	if strings.IndexFunc(c.Ref+c.Environment, keyless.NotInName) >= 0 {
		return exitcode.New(exitcode.Usage, "", "invalid --ref or --environment")
	}
	idHint := "GitHub's numeric id, digits only: gh api repos/" + c.Repo + " --jq .owner.id,.id"
	for _, f := range []struct{ flag, v string }{{"--github-owner-id", c.OwnerID}, {"--github-repo-id", c.RepoID}} {
		if f.v != "" && !keyless.ID.MatchString(f.v) {
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
	repoID, ownerID := keyless.OrPlaceholder(c.RepoID, repoIDPlaceholder), keyless.OrPlaceholder(c.OwnerID, ownerIDPlaceholder)
	owner, _, _ := strings.Cut(c.Repo, "/")
	user := User(c.Repo, c.Ref, c.Environment, repoID)
	// The configuration maps every job to its user; the repository's id in
	// it is the token's, whatever was given here.
	userComment := fmt.Sprintf("%q", user)
	if c.Only == onlyAuthConfig && c.RepoID == "" {
		userComment = `"gha:<sub>:repository_id:<repository_id>"`
	}
	note, missing := c.placeholderNote()
	if c.Issuer == "" {
		c.Issuer = Issuer
	}
	return c.Config.Do(ctx, keyless.Job{CI: "GitHub's", Rules: ownerRules(owner, ownerID), Username: username,
		Who:  fmt.Sprintf("GitHub jobs of %s (owner id %s) get the user %s.", owner, ownerID, userComment),
		User: user, Name: BindingName(c.Repo, user), Note: note, Missing: missing}, out, errOut)
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
