package cli

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/token"
)

// GitHubIssuer is the issuer of GitHub Actions' OIDC tokens.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// oidcConfigOptions are oidc-config's own flags.
type oidcConfigOptions struct {
	repo, ref, environment, issuer, issuerCA string
	apply                                    bool
}

var repoName = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// authenticationConfig is the AuthenticationConfiguration (v1, Kubernetes
// 1.34; v1beta1 on 1.30–1.33) that trusts issuer's tokens for audience
// from repositories of owner, mapping each to the user "gha:<sub>".
func authenticationConfig(issuer, caPEM, audience, owner string) map[string]any {
	iss := map[string]any{"url": issuer, "audiences": []string{audience}}
	if caPEM != "" {
		iss["certificateAuthority"] = caPEM
	}
	return map[string]any{
		"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AuthenticationConfiguration",
		"jwt": []map[string]any{{
			"issuer": iss,
			"claimValidationRules": []map[string]string{{"expression": fmt.Sprintf("claims.repository_owner == %q", owner),
				"message": "the token is not from a repository of " + owner}},
			"claimMappings":       map[string]any{"username": map[string]string{"expression": `"gha:" + claims.sub`}},
			"userValidationRules": []map[string]string{{"expression": "!user.username.startsWith('system:')", "message": "the username must not start with system:"}},
		}},
	}
}

// githubUser is the user the configuration maps a GitHub job's token to:
// "gha:" + its default sub claim.
func githubUser(repo, ref, environment string) string {
	if environment != "" {
		return "gha:repo:" + repo + ":environment:" + environment
	}
	return "gha:repo:" + repo + ":ref:" + ref
}

func (a *app) oidcConfig(ctx context.Context, o *options, oc *oidcConfigOptions) error {
	if !repoName.MatchString(oc.repo) {
		return exitcode.New(exitcode.Usage, "give --github-repo OWNER/REPO", "invalid --github-repo %q", oc.repo)
	}
	if oc.environment != "" && oc.ref != "refs/heads/main" {
		return exitcode.New(exitcode.Usage, "give one: a job in an environment has the environment in its subject, not the ref", "--ref and --environment both given")
	}
	if strings.ContainsAny(oc.ref+oc.environment, " :\n") {
		return exitcode.New(exitcode.Usage, "", "invalid --ref or --environment")
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
	grants, err := parseGrants(o.Allow, "workflows:list,create")
	if err != nil {
		return err
	}
	user := githubUser(oc.repo, oc.ref, oc.environment)
	ns := o.Namespace
	if ns == "" {
		ns = "NAMESPACE"
	}
	name := "gha-" + strings.Trim(regexp.MustCompile(`[^a-z0-9-]+`).ReplaceAllString(strings.ToLower(oc.repo), "-"), "-")
	if len(name) > 40 {
		name = strings.TrimRight(name[:40], "-")
	}
	objs := identity.UserObjects(name, ns, user, grants)

	b, err := yaml.Marshal(authenticationConfig(oc.issuer, ca, audience, owner))
	if err != nil {
		return err
	}
	fmt.Fprintf(a.streams.Out, "# kube-apiserver --authentication-config (a file on every control-plane host; Kubernetes 1.34: v1,\n"+
		"# 1.30-1.33: apiserver.config.k8s.io/v1beta1). If the file exists, add the jwt entry to it.\n"+
		"# GitHub jobs of %s get the user %q.\n%s", owner, user, b)
	for _, obj := range objs {
		b, err := yaml.Marshal(obj.Body)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.streams.Out, "---\n%s", b)
	}
	if !oc.apply {
		return nil
	}
	kc, c, err := a.lifecycle(o, false)
	if err != nil {
		return err
	}
	changes, err := identity.Apply(ctx, kc, c.Namespace, identity.UserObjects(name, c.Namespace, user, grants))
	for _, ch := range changes {
		fmt.Fprintf(a.streams.ErrOut, "%s/%s %s\n", strings.ToLower(ch.Kind), ch.Name, ch.What)
	}
	return err
}
