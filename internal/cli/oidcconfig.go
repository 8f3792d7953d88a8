package cli

import (
	"context"
	"strings"

	"github.com/spf13/pflag"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/github"
	"github.com/argo-cred/argo-cred/internal/gitlab"
	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/keyless"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/token"
)

// oidcConfigOptions: the CI's flags (github or gitlab), the jobs' ref and environment, the rest.
type oidcConfigOptions struct {
	github           github.Flags
	gitlab           gitlab.Flags
	ref, environment string
	keyless.Config
}

// oidcConfig prints (--apply: applies) what the cluster needs for the CI jobs' own tokens.
func (a *app) oidcConfig(ctx context.Context, o *Options, oc *oidcConfigOptions) error {
	c := oc.Config
	c.Audiences, c.Namespace = o.Audiences, o.Namespace
	c.Connect = func() (*kube.Client, string, error) {
		kc, c, err := a.lifecycle(&LifecycleOptions{Options: *o}, false)
		return kc, c.Namespace, err
	}
	if oc.gitlab != (gitlab.Flags{}) {
		return gitlab.OIDCConfig{Config: c, Flags: oc.gitlab, Ref: oc.ref, Environment: oc.environment, GitHub: oc.github != (github.Flags{})}.Do(ctx, a.streams.Out, a.streams.ErrOut)
	}
	return github.OIDCConfig{Config: c, Flags: oc.github, Ref: oc.ref, Environment: oc.environment}.Do(ctx, a.streams.Out, a.streams.ErrOut)
}

func (oc *oidcConfigOptions) flags(fs *pflag.FlagSet, o *Options) {
	fs.SortFlags = false
	oc.github.AddFlags(fs)
	oc.gitlab.AddFlags(fs)
	fs.StringVar(&oc.ref, "ref", "refs/heads/main", "the ref the jobs run on (GitLab: a branch, NAME or refs/heads/NAME, or a tag, refs/tags/NAME)")
	fs.StringVar(&oc.environment, "environment", "", "the environment the jobs run in (GitHub: instead of --ref; GitLab: as well as --ref)")
	fs.StringVar(&o.Namespace, "namespace", o.Namespace, "namespace of the Role and RoleBinding")
	fs.Var(&cred.ListFlag{V: &oc.For}, "for", identity.ForUsage())
	fs.Var(&cred.ListFlag{V: &oc.Allow}, "allow", "RESOURCE:VERB[,VERB…], repeatable (neither --for nor --allow: workflows:list,create)")
	fs.Var(&cred.ListFlag{V: &o.Audiences, Split: true}, "audience", "the audience the jobs request (default "+token.DefaultAudience+")")
	fs.StringVar(&oc.Issuer, "issuer", "", "the issuer (default "+github.Issuer+", or "+gitlab.Issuer+" with --gitlab-project;\nGitHub Enterprise Server: https://HOST/_services/token; self-managed GitLab: its URL)")
	fs.StringVar(&oc.IssuerCAFile, "issuer-ca-file", "", "PEM CA of the issuer, when not a public one")
	fs.BoolVar(&oc.Apply, "apply", false, "apply the Role and RoleBinding")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file, with --apply")
	fs.StringVar(&o.Context, "context", o.Context, "kubeconfig context, with --apply")
	fs.StringVar(&oc.Only, "only", "", "print only this part: "+strings.Join(keyless.Parts, " (the file for kube-apiserver) or ")+" (the Role and RoleBinding)")
	fs.BoolVarP(&o.Verbose, "verbose", "v", o.Verbose, "verbose diagnostics on stderr (ARGO_CRED_VERBOSE)")
}
