// Package keyless is what a cluster needs so that a CI's jobs can use their
// own OIDC token, whatever the CI: the AuthenticationConfiguration's jwt
// entry for kube-apiserver and a Role and RoleBinding for the jobs' user,
// printed and, on request, applied. Each CI (internal/github,
// internal/gitlab) says which claims it pins and how a job's user is named.
package keyless

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/token"
)

// What oidc-config prints, each alone with Only: the file for kube-apiserver
// (on the control-plane hosts) and the RBAC (for kubectl apply), which
// different people often handle.
const (
	OnlyAuthConfig = "authentication-config"
	OnlyRBAC       = "rbac"
)

// Parts are the values of Config.Only (--only).
var Parts = []string{OnlyAuthConfig, OnlyRBAC}

// ID is a CI's numeric id of a project, repository or owner: a positive
// integer, which GitHub's and GitLab's tokens carry as a string.
var ID = regexp.MustCompile(`^[1-9][0-9]{0,19}$`)

// NotInName says r is not in a ref or environment of a user: a ':', which
// would make one user look like another's, or a Unicode space, control or
// format character (YAML prints a NEL as a space: the printed RoleBinding
// would bind another user than --apply).
func NotInName(r rune) bool { return r == ':' || unicode.In(r, unicode.Z, unicode.C) }

// OrPlaceholder is id, or placeholder when it was not given.
func OrPlaceholder(id, placeholder string) string {
	if id == "" {
		return placeholder
	}
	return id
}

// Config is what every CI's oidc-config shares.
type Config struct {
	// Issuer issues the tokens; IssuerCAFile is its PEM CA, if any.
	Issuer, IssuerCAFile string
	// Audiences: the first is the audience the jobs request; none:
	// token.DefaultAudience.
	Audiences []string
	// Namespace is the printed Role's and RoleBinding's; empty: NAMESPACE.
	Namespace string
	// Allow are the grants (RESOURCE:VERB[,VERB…]) besides For's profiles'
	// (internal/profile); neither: workflows:list,create.
	Allow, For []string
	// Only is one of Parts to print alone; empty: both.
	Only string
	// Apply applies the Role and RoleBinding through Connect, which returns
	// the Kubernetes client and the namespace to apply in.
	Apply   bool
	Connect func() (*kube.Client, string, error)
}

// Job is one CI's part of the documents, for one project and ref.
type Job struct {
	// CI names the CI's ids in the placeholder warning: "GitHub's".
	CI string
	// Rules are the jwt entry's claimValidationRules; Username is the CEL
	// expression of the user a token maps to.
	Rules    []map[string]string
	Username string
	// Who is the comment line above the AuthenticationConfiguration (which
	// jobs get which user).
	Who string
	// User is the user of the jobs the RBAC is for; Name its Role's and
	// RoleBinding's.
	User, Name string
	// Note is the comment above everything when the documents hold
	// placeholders; Missing are the flags that fill them.
	Note    string
	Missing []string
}

// CheckOnly refuses an unknown Only.
func (c Config) CheckOnly() error {
	if c.Only != "" && !slices.Contains(Parts, c.Only) {
		return exitcode.New(exitcode.Usage, "use "+strings.Join(Parts, " or ")+", or no --only for both", "unknown --only %q", c.Only)
	}
	return nil
}

// Audience is the audience the jobs request.
func (c Config) Audience() string {
	if len(c.Audiences) > 0 {
		return c.Audiences[0]
	}
	return token.DefaultAudience
}

// AuthenticationConfig is the AuthenticationConfiguration (v1, Kubernetes
// 1.34; v1beta1 on 1.30–1.33) with one jwt entry: tokens of issuer for
// audience that pass rules, mapped to the user username (never one that
// starts with system:).
func AuthenticationConfig(issuer, caPEM, audience string, rules []map[string]string, username string) map[string]any {
	iss := map[string]any{"url": issuer, "audiences": []string{audience}}
	if caPEM != "" {
		iss["certificateAuthority"] = caPEM
	}
	return map[string]any{
		"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AuthenticationConfiguration",
		"jwt": []map[string]any{{
			"issuer":               iss,
			"claimValidationRules": rules,
			"claimMappings":        map[string]any{"username": map[string]string{"expression": username}},
			"userValidationRules":  []map[string]string{{"expression": "!user.username.startsWith('system:')", "message": "the username must not start with system:"}},
		}},
	}
}

var notSlug = regexp.MustCompile(`[^a-z0-9]+`)

// BindingName names the Role and RoleBinding for user, a user of the
// project path: prefix, "-", a readable slug of path, and the first 10 hex
// digits of the SHA-256 of the exact user, so that projects whose slugs are
// equal (app.x, app_x, APP-X; long names cut alike), and the refs and
// environments of one project, never share a name. A DNS label of at most
// 63 characters.
func BindingName(prefix, path, user string) string {
	sum := sha256.Sum256([]byte(user))
	hash := hex.EncodeToString(sum[:])[:10]
	maxSlug := 63 - len(prefix) - 2 - 10
	slug := strings.Trim(notSlug.ReplaceAllString(strings.ToLower(path), "-"), "-")
	if len(slug) > maxSlug {
		slug = strings.TrimRight(slug[:maxSlug], "-")
	}
	if slug == "" {
		return prefix + "-" + hash
	}
	return prefix + "-" + slug + "-" + hash
}

// Do prints j's documents to out (a warning on errOut when they hold
// placeholders) and, with Apply, applies the Role and RoleBinding, naming
// each change on errOut. The CI checked its own flags before.
func (c Config) Do(ctx context.Context, j Job, out, errOut io.Writer) error {
	if err := checkIssuer(c.Issuer); err != nil {
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
	doc, err := c.documents(ca, j, grants)
	if err != nil {
		return err
	}
	if len(j.Missing) > 0 {
		fmt.Fprintln(errOut, "warning: the output has placeholders for "+j.CI+" ids: give "+strings.Join(j.Missing, " and "))
	}
	if c.Namespace == "" && !c.Apply && c.Only != OnlyAuthConfig {
		fmt.Fprintln(errOut, "warning: the Role and RoleBinding are in the placeholder namespace NAMESPACE: give --namespace")
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
	if err := sameSubject(ctx, kc, ns, j.Name, j.User); err != nil {
		return err
	}
	changes, err := identity.Apply(ctx, kc, ns, identity.UserObjects(j.Name, ns, j.User, grants), false)
	for _, ch := range changes {
		fmt.Fprintf(errOut, "%s/%s %s\n", strings.ToLower(ch.Kind), ch.Name, ch.What)
	}
	return err
}

// checkIssuer refuses an issuer kube-apiserver would refuse (https only,
// no userinfo, query or fragment), and anything but printable ASCII: the
// issuer is printed in comments too, where a line break (YAML 1.1 counts
// NEL and U+2028 as well) would add lines to the documents.
func checkIssuer(issuer string) error {
	bad := strings.IndexFunc(issuer, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0
	u, err := url.Parse(issuer)
	if bad || err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(issuer, "#") {
		return exitcode.New(exitcode.Usage, "give --issuer https://HOST[/PATH], the tokens' iss claim exactly", "invalid --issuer %q", issuer)
	}
	return nil
}

// grants reads For and Allow: the profiles' grants and Allow's, or the
// default when neither is given.
func (c Config) grants() ([]identity.Grant, error) {
	return identity.GrantsFor(c.Allow, c.For, "workflows:list,create")
}

// documents are the YAML documents printed, with their comments: the
// placeholder note, the AuthenticationConfiguration and the Role and
// RoleBinding of j's user, as Only says.
func (c Config) documents(ca string, j Job, grants []identity.Grant) (string, error) {
	ns := c.Namespace
	if ns == "" {
		ns = "NAMESPACE"
	}
	b, err := yaml.Marshal(AuthenticationConfig(c.Issuer, ca, c.Audience(), j.Rules, j.Username))
	if err != nil {
		return "", err
	}
	var out strings.Builder
	out.WriteString(j.Note)
	if c.Only != OnlyRBAC {
		fmt.Fprintf(&out, "# kube-apiserver --authentication-config (a file on every control-plane host; Kubernetes 1.34: v1,\n"+
			"# 1.30-1.33: apiserver.config.k8s.io/v1beta1). If the file exists, add the jwt entry to it.\n# %s\n%s", j.Who, b)
	}
	if c.Only == OnlyRBAC {
		fmt.Fprintf(&out, "# The Role and RoleBinding of the user %q (kubectl apply -f -).\n", j.User)
	}
	if c.Only != OnlyAuthConfig {
		for i, obj := range identity.UserObjects(j.Name, ns, j.User, grants) {
			b, err := yaml.Marshal(obj.Body)
			if err != nil {
				return "", err
			}
			if i > 0 || c.Only != OnlyRBAC {
				out.WriteString("---\n")
			}
			out.Write(b)
		}
	}
	return out.String(), nil
}
