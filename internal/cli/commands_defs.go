package cli

import (
	"context"
	"embed"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/github"
	"github.com/argo-cred/argo-cred/internal/token"
)

// envCommand is env: the settings, checked.
func (a *app) envCommand() *cobra.Command {
	o := &envOptions{}
	withEnv := a.withEnv(&o.Options, loadEnv(o))
	env := &cobra.Command{
		Use:   "env [flags]",
		Short: "Get a token, check it against the Argo Server, print the ARGO_* settings",
		Long:  help("env"),
		Args:  noArgs,
		RunE:  withEnv(func(cmd *cobra.Command) error { return a.runEnv(cmd.Context(), o) }),
	}
	o.flags(env.Flags())
	completeFlags(env, &o.Options)
	return env
}

// probeCommand is probe: the verdict only.
func (a *app) probeCommand() *cobra.Command {
	o := &probeOptions{}
	withEnv := a.withEnv(&o.Options, loadEnv(o))
	probe := &cobra.Command{
		Use:   "probe [flags]",
		Short: "Get a token and print only the verdict of the check",
		Long:  help("probe"),
		Args:  noArgs,
		RunE:  withEnv(func(cmd *cobra.Command) error { return a.runProbe(cmd.Context(), o) }),
	}
	o.flags(probe.Flags())
	completeFlags(probe, &o.Options)
	return probe
}

// execCommand is exec: COMMAND with the settings.
func (a *app) execCommand() *cobra.Command {
	o := &Options{}
	withEnv := a.withEnv(o, loadEnv(o))
	execCmd := &cobra.Command{
		Use:     "exec [flags] [--] [COMMAND [ARGS...]]",
		Short:   "Get and check a token, then run COMMAND (default argo) with the ARGO_* settings",
		Long:    help("exec"),
		Example: help("exec.example"),
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEnv(func(cmd *cobra.Command) error { return a.exec(cmd.Context(), o, args) })(cmd, args)
		},
	}
	execCmd.Flags().SetInterspersed(false)
	o.flags(execCmd.Flags(), true)
	completeFlags(execCmd, o)
	return execCmd
}

// dockerCommand is docker: the argo CLI image with the settings.
func (a *app) dockerCommand() *cobra.Command {
	o := &dockerOptions{}
	withEnv := a.withEnv(&o.Options, loadEnv(o))
	dockerCmd := &cobra.Command{
		Use:     "docker [flags] [--] [ARGS...]",
		Short:   "Get and check a token on this host, then docker run the argo CLI image with ARGS",
		Long:    help("docker"),
		Example: help("docker.example"),
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEnv(func(cmd *cobra.Command) error { return a.docker(cmd.Context(), o, args) })(cmd, args)
		},
	}
	dockerCmd.Flags().SetInterspersed(false)
	o.flags(dockerCmd.Flags())
	completeFlags(dockerCmd, &o.Options)
	return dockerCmd
}

// lifecycleCommands are provision, rotate, revoke and clients.
func (a *app) lifecycleCommands() (provisionCmd, rotateCmd, revokeCmd, clientsCmd *cobra.Command) {
	// o is the command's options, which hold lo.
	lifecycle := func(use, short, long string, o any, lo *LifecycleOptions, flags func(*pflag.FlagSet), run func(context.Context) error) *cobra.Command {
		withEnv := a.withEnv(&lo.Options, loadEnv(o))
		c := &cobra.Command{Use: use, Short: short, Long: long, Args: noArgs,
			RunE: withEnv(func(cmd *cobra.Command) error { return run(cmd.Context()) })}
		flags(c.Flags())
		completeFlags(c, &lo.Options)
		return c
	}
	p, rot, rev, cl := &provisionOptions{}, &LifecycleOptions{}, &revokeOptions{}, &clientsOptions{}
	rotFlags := func(fs *pflag.FlagSet) { rot.flags(fs, nil) }
	provisionCmd = lifecycle("provision --client NAME [flags]", "Create or update a client's least-privilege identity and check its token",
		help("provision"), p, &p.LifecycleOptions, p.flags, func(ctx context.Context) error { return a.provision(ctx, p) })
	rotateCmd = lifecycle("rotate --client NAME [flags]", "Give a client a new token, then revoke the old ones and prove it",
		help("rotate"), rot, rot, rotFlags, func(ctx context.Context) error { return a.rotate(ctx, rot) })
	revokeCmd = lifecycle("revoke (--client NAME [--purge] | --binding SECRET | --stale-bindings AGE) [flags]", "Revoke a client's tokens (or bound tokens) and prove it",
		help("revoke"), rev, &rev.LifecycleOptions, rev.flags, func(ctx context.Context) error { return a.revoke(ctx, rev) })
	clientsCmd = lifecycle("clients [flags]", "List the clients argo-cred manages, their grants and token Secrets",
		help("clients"), cl, &cl.LifecycleOptions, cl.flags, func(ctx context.Context) error { return a.clients(ctx, cl) })
	return provisionCmd, rotateCmd, revokeCmd, clientsCmd
}

// oidcConfigCommand is oidc-config: what a cluster needs for a GitHub job's own token.
func (a *app) oidcConfigCommand() *cobra.Command {
	o := &Options{}
	withEnv := a.withEnv(o, loadEnv(o))
	oc := &oidcConfigOptions{}
	oidcCmd := &cobra.Command{
		Use:     "oidc-config --github-repo OWNER/REPO --github-owner-id ID --github-repo-id ID [--ref REF | --environment NAME] --namespace NS [flags]",
		Short:   "Print (or apply) what a cluster needs to accept a GitHub job's own OIDC token",
		Long:    help("oidc-config"),
		Example: help("oidc-config.example"),
		Args:    noArgs,
		RunE:    withEnv(func(cmd *cobra.Command) error { return a.oidcConfig(cmd.Context(), o, oc) }),
	}
	ofs := oidcCmd.Flags()
	ofs.SortFlags = false
	ofs.StringVar(&oc.repo, "github-repo", "", "OWNER/REPO of the jobs")
	ofs.StringVar(&oc.ownerID, "github-owner-id", "", "GitHub's numeric id of OWNER (claim repository_owner_id)")
	ofs.StringVar(&oc.repoID, "github-repo-id", "", "GitHub's numeric id of OWNER/REPO (claim repository_id)")
	ofs.StringVar(&oc.ref, "ref", "refs/heads/main", "the ref the jobs run on")
	ofs.StringVar(&oc.environment, "environment", "", "the GitHub environment the jobs run in, instead of --ref")
	ofs.StringVar(&o.Namespace, "namespace", o.Namespace, "namespace of the Role and RoleBinding")
	ofs.Var(&cred.ListFlag{V: &oc.allow}, "allow", "RESOURCE:VERB[,VERB…] on argoproj.io, repeatable (default workflows:list,create)")
	ofs.Var(&cred.ListFlag{V: &o.Audiences, Split: true}, "audience", "the audience the jobs request (default "+token.DefaultAudience+")")
	ofs.StringVar(&oc.issuer, "issuer", github.Issuer, "the issuer (GitHub Enterprise Server: https://HOST/_services/token)")
	ofs.StringVar(&oc.issuerCA, "issuer-ca-file", "", "PEM CA of the issuer, when not a public one")
	ofs.BoolVar(&oc.apply, "apply", false, "apply the Role and RoleBinding")
	ofs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file, with --apply")
	ofs.StringVar(&o.Context, "context", o.Context, "kubeconfig context, with --apply")
	ofs.StringVar(&oc.only, "only", "", "print only this part: "+strings.Join(github.OIDCParts, " (the file for kube-apiserver) or ")+" (the Role and RoleBinding)")
	ofs.BoolVarP(&o.Verbose, "verbose", "v", o.Verbose, "verbose diagnostics on stderr (ARGO_CRED_VERBOSE)")
	completeFlags(oidcCmd, o)
	return oidcCmd
}

// actionCommand is the GitHub Action's entrypoint.
func (a *app) actionCommand() *cobra.Command {
	o := &Options{}
	withEnv := a.withEnv(o, loadEnv(o))
	var post bool
	actionCmd := &cobra.Command{
		Use:   "action",
		Short: github.ActionShort,
		Long:  github.ActionLong,
		Args:  noArgs,
		RunE: withEnv(func(cmd *cobra.Command) error {
			if post {
				return a.actionPost(o)
			}
			return a.action(cmd.Context(), o)
		}),
	}
	actionCmd.Flags().BoolVar(&post, "post", false, "run the post stage")
	completeFlags(actionCmd, o)
	return actionCmd
}

// versionCommand is version.
func (a *app) versionCommand() *cobra.Command {
	var versionOutput string
	versionCmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date, Go version and argo apiclient version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if versionOutput != "" && versionOutput != "json" {
				return exitcode.New(exitcode.Usage, "use json, or no -o", "unknown --output %q", versionOutput)
			}
			return writeVersion(a.streams.Out, versionOutput)
		},
	}
	versionCmd.Flags().StringVarP(&versionOutput, "output", "o", "", "json for machines")
	completeFlags(versionCmd, &Options{})
	return versionCmd
}

//go:embed help
var helpFiles embed.FS

// help is a command's long help or examples, kept as text in help/.
func help(name string) string { return strings.TrimSuffix(helpFile(name+".txt"), "\n") }

// usageTemplate is the usage of every command, with the exit codes.
func usageTemplate() string { return helpFile("usage.tmpl") }

func helpFile(name string) string {
	b, err := helpFiles.ReadFile("help/" + name)
	if err != nil {
		panic(err) // a name below has no file: a bug caught by every test
	}
	return string(b)
}
