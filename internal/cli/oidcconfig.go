package cli

import (
	"context"

	"github.com/argo-cred/argo-cred/internal/github"
	"github.com/argo-cred/argo-cred/internal/kube"
)

// oidcConfigOptions are oidc-config's own flags.
type oidcConfigOptions struct {
	repo, ref, environment, issuer, issuerCA string
	ownerID, repoID                          string // GitHub's numeric ids of the owner and the repository
	apply                                    bool
	// only is what to print: "" for both, or one of github.OIDCParts.
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
