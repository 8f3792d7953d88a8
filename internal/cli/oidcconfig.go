package cli

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
	"github.com/argo-cred/argo-cred/internal/github"
	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/token"
)

// The placeholders oidc-config prints for the ids it was not given: they
// never match a token, so a configuration applied with one fails closed.
const (
	ownerIDPlaceholder = "OWNER_ID"
	repoIDPlaceholder  = "REPOSITORY_ID"
)

// oidcConfigOptions are oidc-config's own flags.
type oidcConfigOptions struct {
	repo, ref, environment, issuer, issuerCA string
	ownerID, repoID                          string // GitHub's numeric ids of the owner and the repository
	apply                                    bool
	// only is what to print: "" for both, or one of oidcParts.
	only string
	// allow are the grants, as provision's --allow.
	allow []string
}

// What oidc-config prints, each alone with --only: the file for
// kube-apiserver (on the control-plane hosts) and the RBAC (for kubectl
// apply), which different people often handle.
const (
	onlyAuthConfig = "authentication-config"
	onlyRBAC       = "rbac"
)

var oidcParts = []string{onlyAuthConfig, onlyRBAC}

var (
	repoName = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	// GitHub's ids are positive integers; its claims carry them as strings.
	githubID = regexp.MustCompile(`^[1-9][0-9]{0,19}$`)
)

// placeholderNote is the comment above the documents when an id they hold
// was not given: which placeholder, which flag, and how to find the id.
// The AuthenticationConfiguration holds the owner's id, the RBAC the
// repository's (in the user).
// It also returns the flags missing.
func placeholderNote(repo string, oc *oidcConfigOptions) (note string, flags []string) {
	var missing []string
	if oc.ownerID == "" && oc.only != onlyRBAC {
		missing, flags = append(missing, ownerIDPlaceholder+" (--github-owner-id)"), append(flags, "--github-owner-id")
	}
	if oc.repoID == "" && oc.only != onlyAuthConfig {
		missing, flags = append(missing, repoIDPlaceholder+" (--github-repo-id)"), append(flags, "--github-repo-id")
	}
	if len(missing) == 0 {
		return "", nil
	}
	return fmt.Sprintf("# PLACEHOLDERS: %s. Run again with GitHub's numeric ids of the owner and the repository:\n"+
		"# gh api repos/%s --jq .owner.id,.id\n", strings.Join(missing, " and "), repo), flags
}

// checkOIDCConfig refuses oidc-config's flags before anything is printed
// or applied.
func checkOIDCConfig(oc *oidcConfigOptions) error {
	if oc.only != "" && !slices.Contains(oidcParts, oc.only) {
		return exitcode.New(exitcode.Usage, "use "+strings.Join(oidcParts, " or ")+", or no --only for both", "unknown --only %q", oc.only)
	}
	if !repoName.MatchString(oc.repo) {
		return exitcode.New(exitcode.Usage, "give --github-repo OWNER/REPO", "invalid --github-repo %q", oc.repo)
	}
	if oc.environment != "" && oc.ref != "refs/heads/main" {
		return exitcode.New(exitcode.Usage, "give one: a job in an environment has the environment in its subject, not the ref", "--ref and --environment both given")
	}
	if strings.ContainsAny(oc.ref+oc.environment, " :\n") {
		return exitcode.New(exitcode.Usage, "", "invalid --ref or --environment")
	}
	idHint := "GitHub's numeric id, digits only: gh api repos/" + oc.repo + " --jq .owner.id,.id"
	for _, f := range []struct{ flag, v string }{{"--github-owner-id", oc.ownerID}, {"--github-repo-id", oc.repoID}} {
		if f.v != "" && !githubID.MatchString(f.v) {
			return exitcode.New(exitcode.Usage, idHint, "invalid %s %q", f.flag, f.v)
		}
	}
	if oc.apply && (oc.ownerID == "" || oc.repoID == "") {
		return exitcode.New(exitcode.Usage, "give --github-owner-id and --github-repo-id (gh api repos/"+oc.repo+" --jq .owner.id,.id); without them oidc-config only prints, with placeholders",
			"--apply needs GitHub's ids of the owner and the repository: it never binds a placeholder user")
	}
	return nil
}

func (a *app) oidcConfig(ctx context.Context, o *Options, oc *oidcConfigOptions) error {
	if err := checkOIDCConfig(oc); err != nil {
		return err
	}
	var ca string
	if oc.issuerCA != "" {
		b, err := files.Read(oc.issuerCA, 1<<20)
		if err != nil {
			return exitcode.Wrap(exitcode.Usage, "give --issuer-ca-file a PEM file", err)
		}
		ca = string(b)
	}
	audience := token.DefaultAudience
	if len(o.Audiences) > 0 {
		audience = o.Audiences[0]
	}
	owner, _, _ := strings.Cut(oc.repo, "/")
	grants, err := identity.ParseGrants(oc.allow, "workflows:list,create")
	if err != nil {
		return err
	}
	ownerID, repoID := oc.ownerID, oc.repoID
	if ownerID == "" {
		ownerID = ownerIDPlaceholder
	}
	if repoID == "" {
		repoID = repoIDPlaceholder
	}
	user := github.User(oc.repo, oc.ref, oc.environment, repoID)
	name := github.BindingName(oc.repo, user)
	ns := o.Namespace
	if ns == "" {
		ns = "NAMESPACE"
	}
	objs := identity.UserObjects(name, ns, user, grants)

	b, err := yaml.Marshal(github.AuthenticationConfig(oc.issuer, ca, audience, owner, ownerID))
	if err != nil {
		return err
	}
	note, missing := placeholderNote(oc.repo, oc)
	if note != "" {
		a.note("warning: the output has placeholders for GitHub's ids: give " + strings.Join(missing, " and "))
	}
	// The configuration maps every job to its user; the repository's id in
	// it is the token's, whatever was given here.
	userComment := fmt.Sprintf("%q", user)
	if oc.only == onlyAuthConfig && oc.repoID == "" {
		userComment = `"gha:<sub>:repository_id:<repository_id>"`
	}
	var out strings.Builder
	out.WriteString(note)
	if oc.only != onlyRBAC {
		fmt.Fprintf(&out, "# kube-apiserver --authentication-config (a file on every control-plane host; Kubernetes 1.34: v1,\n"+
			"# 1.30-1.33: apiserver.config.k8s.io/v1beta1). If the file exists, add the jwt entry to it.\n"+
			"# GitHub jobs of %s (owner id %s) get the user %s.\n%s", owner, ownerID, userComment, b)
	}
	if oc.only == onlyRBAC {
		fmt.Fprintf(&out, "# The Role and RoleBinding of the user %q (kubectl apply -f -).\n", user)
	}
	if oc.only != onlyAuthConfig {
		for i, obj := range objs {
			b, err := yaml.Marshal(obj.Body)
			if err != nil {
				return err
			}
			if i > 0 || oc.only != onlyRBAC {
				out.WriteString("---\n")
			}
			out.Write(b)
		}
	}
	if _, err := io.WriteString(a.streams.Out, out.String()); err != nil {
		return err
	}
	if !oc.apply {
		return nil
	}
	kc, c, err := a.lifecycle(&LifecycleOptions{Options: *o}, false)
	if err != nil {
		return err
	}
	if err := sameSubject(ctx, kc, c.Namespace, name, user); err != nil {
		return err
	}
	changes, err := identity.Apply(ctx, kc, c.Namespace, identity.UserObjects(name, c.Namespace, user, grants), false)
	for _, ch := range changes {
		fmt.Fprintf(a.streams.ErrOut, "%s/%s %s\n", strings.ToLower(ch.Kind), ch.Name, ch.What)
	}
	return err
}

// sameSubject refuses to apply over RoleBinding ns/name when it exists and
// binds anything but exactly user: it would hand that binding, and its
// Role's rules, to another repository's jobs.
func sameSubject(ctx context.Context, kc *kube.Client, ns, name, user string) error {
	type subject struct {
		Kind      string `json:"kind"`
		APIGroup  string `json:"apiGroup"`
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	}
	var rb struct {
		Subjects []subject `json:"subjects"`
	}
	found, err := kc.Get(ctx, kube.RoleBindingKind, ns, name, &rb)
	switch {
	case apierrors.IsForbidden(err):
		return exitcode.Wrap(exitcode.MissingAccess, "the kubeconfig's identity needs get, create and patch on roles and rolebindings in "+ns, err)
	case err != nil:
		return exitcode.Wrap(exitcode.Unexpected, "check --kubeconfig, --context and that the Kubernetes API server is reachable", err)
	}
	want := subject{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: user}
	if !found || (len(rb.Subjects) == 1 && rb.Subjects[0] == want) {
		return nil
	}
	var now []string
	for _, s := range rb.Subjects {
		now = append(now, fmt.Sprintf("%s %q", s.Kind, s.Name))
	}
	bound := "no subject"
	if len(now) > 0 {
		bound = strings.Join(now, ", ")
	}
	return exitcode.New(exitcode.Usage, "it is not this repository's binding: leave it, or delete it (kubectl delete rolebinding -n "+ns+" "+name+") if it is stale",
		"refusing to apply over rolebinding %s/%s: it binds %s, not User %q", ns, name, bound, user)
}
