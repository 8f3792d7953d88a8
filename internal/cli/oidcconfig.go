package cli

import (
	"context"
	"strings"

	"github.com/spf13/pflag"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/github"
	"github.com/argo-cred/argo-cred/internal/keyless"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/token"
)

// oidcConfigOptions are oidc-config's own flags.
type oidcConfigOptions struct {
	repo, ref, environment, issuer, issuerCA string
	ownerID, repoID                          string // GitHub's numeric ids of the owner and the repository
	apply                                    bool
	// only is what to print: "" for both, or one of keyless.Parts.
	only string
	// allow are the grants, as provision's --allow.
	allow []string
}

// oidcConfig prints (and with --apply applies) what the cluster needs for
// the GitHub jobs' own tokens.
func (a *app) oidcConfig(ctx context.Context, o *Options, oc *oidcConfigOptions) error {
	return github.OIDCConfig{
		Repo: oc.repo, OwnerID: oc.ownerID, RepoID: oc.repoID,
		Ref: oc.ref, Environment: oc.environment,
		Issuer: oc.issuer, IssuerCAFile: oc.issuerCA,
		Audiences: o.Audiences, Namespace: o.Namespace, Allow: oc.allow,
		Only: oc.only, Apply: oc.apply,
		Connect: func() (*kube.Client, string, error) {
			kc, c, err := a.lifecycle(&LifecycleOptions{Options: *o}, false)
			return kc, c.Namespace, err
		},
	}.Do(ctx, a.streams.Out, a.streams.ErrOut)
}

func (oc *oidcConfigOptions) flags(fs *pflag.FlagSet, o *Options) {
	fs.SortFlags = false
	fs.StringVar(&oc.repo, "github-repo", "", "OWNER/REPO of the jobs")
	fs.StringVar(&oc.ownerID, "github-owner-id", "", "GitHub's numeric id of OWNER (claim repository_owner_id)")
	fs.StringVar(&oc.repoID, "github-repo-id", "", "GitHub's numeric id of OWNER/REPO (claim repository_id)")
	fs.StringVar(&oc.ref, "ref", "refs/heads/main", "the ref the jobs run on")
	fs.StringVar(&oc.environment, "environment", "", "the GitHub environment the jobs run in, instead of --ref")
	fs.StringVar(&o.Namespace, "namespace", o.Namespace, "namespace of the Role and RoleBinding")
	fs.Var(&cred.ListFlag{V: &oc.allow}, "allow", "RESOURCE:VERB[,VERB…] on argoproj.io, repeatable (default workflows:list,create)")
	fs.Var(&cred.ListFlag{V: &o.Audiences, Split: true}, "audience", "the audience the jobs request (default "+token.DefaultAudience+")")
	fs.StringVar(&oc.issuer, "issuer", github.Issuer, "the issuer (GitHub Enterprise Server: https://HOST/_services/token)")
	fs.StringVar(&oc.issuerCA, "issuer-ca-file", "", "PEM CA of the issuer, when not a public one")
	fs.BoolVar(&oc.apply, "apply", false, "apply the Role and RoleBinding")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file, with --apply")
	fs.StringVar(&o.Context, "context", o.Context, "kubeconfig context, with --apply")
	fs.StringVar(&oc.only, "only", "", "print only this part: "+strings.Join(keyless.Parts, " (the file for kube-apiserver) or ")+" (the Role and RoleBinding)")
	fs.BoolVarP(&o.Verbose, "verbose", "v", o.Verbose, "verbose diagnostics on stderr (ARGO_CRED_VERBOSE)")
}
