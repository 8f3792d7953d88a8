package cli

import (
	"context"
	"embed"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/github"
	"github.com/argo-cred/argo-cred/internal/usage"
	ver "github.com/argo-cred/argo-cred/internal/version"
)

// command completes c: its options o (which hold base) from the
// environment first, then its flags with those values as defaults, its run
// and the completion of its flag values.
func (a *app) command(c *cobra.Command, o any, base *Options, flags func(*pflag.FlagSet), run func(ctx context.Context, args []string) error) *cobra.Command {
	withEnv := a.withEnv(base, loadEnv(o))
	if c.Args == nil {
		c.Args = usage.NoArgs
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		return withEnv(func(cmd *cobra.Command) error { return run(cmd.Context(), args) })(cmd, args)
	}
	flags(c.Flags())
	completeFlags(c, base)
	return c
}

func (a *app) envCommand() *cobra.Command {
	o := &envOptions{}
	return a.command(&cobra.Command{Use: "env [flags]", Short: "Get a token, check it against the Argo Server, print the ARGO_* settings", Long: help("env")},
		o, &o.Options, o.flags, func(ctx context.Context, _ []string) error { return a.runEnv(ctx, o) })
}

func (a *app) probeCommand() *cobra.Command {
	o := &probeOptions{}
	return a.command(&cobra.Command{Use: "probe [flags]", Short: "Get a token and print only the verdict of the check", Long: help("probe")},
		o, &o.Options, o.flags, func(ctx context.Context, _ []string) error { return a.runProbe(ctx, o) })
}

// execCommand and dockerCommand take arguments after their flags.
func (a *app) execCommand() *cobra.Command {
	o := &Options{}
	c := a.command(&cobra.Command{Use: "exec [flags] [--] [COMMAND [ARGS...]]", Short: "Get and check a token, then run COMMAND (default argo) with the ARGO_* settings",
		Long: help("exec"), Example: help("exec.example"), Args: cobra.ArbitraryArgs},
		o, o, func(fs *pflag.FlagSet) { o.flags(fs, true); relayFlag(fs, o) }, func(ctx context.Context, args []string) error { return a.runExec(ctx, o, args) })
	c.Flags().SetInterspersed(false)
	return c
}

func (a *app) dockerCommand() *cobra.Command {
	o := &dockerOptions{}
	c := a.command(&cobra.Command{Use: "docker [flags] [--] [ARGS...]", Short: "Get and check a token on this host, then docker run the argo CLI image with ARGS",
		Long: help("docker"), Example: help("docker.example"), Args: cobra.ArbitraryArgs},
		o, &o.Options, o.flags, func(ctx context.Context, args []string) error { return a.runDocker(ctx, o, args) })
	c.Flags().SetInterspersed(false)
	return c
}

// lifecycleCommands are provision, rotate, revoke and clients.
func (a *app) lifecycleCommands() (provisionCmd, rotateCmd, revokeCmd, clientsCmd *cobra.Command) {
	p, rot, rev, cl := &provisionOptions{}, &rotateOptions{}, &revokeOptions{}, &clientsOptions{}
	provisionCmd = a.command(&cobra.Command{Use: "provision --client NAME [flags]", Short: "Create or update a client's least-privilege identity and check its token", Long: help("provision")},
		p, &p.Options, p.flags, func(ctx context.Context, _ []string) error { return a.provision(ctx, p) })
	rotateCmd = a.command(&cobra.Command{Use: "rotate --client NAME [flags]", Short: "Give a client a new token, then revoke the old ones and prove it", Long: help("rotate")},
		rot, &rot.Options, rot.flags, func(ctx context.Context, _ []string) error { return a.rotate(ctx, rot) })
	revokeCmd = a.command(&cobra.Command{Use: "revoke (--client NAME [--purge] | --binding SECRET | --stale-bindings AGE) [flags]", Short: "Revoke a client's tokens (or bound tokens) and prove it", Long: help("revoke")},
		rev, &rev.Options, rev.flags, func(ctx context.Context, _ []string) error { return a.revoke(ctx, rev) })
	clientsCmd = a.command(&cobra.Command{Use: "clients [flags]", Short: "List the clients argo-cred manages, their grants and token Secrets", Long: help("clients")},
		cl, &cl.Options, cl.flags, func(ctx context.Context, _ []string) error { return a.clients(ctx, cl) })
	return provisionCmd, rotateCmd, revokeCmd, clientsCmd
}

// oidcConfigCommand is oidc-config: what a cluster needs for a GitHub or GitLab job's own token.
func (a *app) oidcConfigCommand() *cobra.Command {
	o, oc := &Options{}, &oidcConfigOptions{}
	return a.command(&cobra.Command{
		Use:     "oidc-config (--github-repo OWNER/REPO --github-owner-id ID --github-repo-id ID | --gitlab-project GROUP/PROJECT --gitlab-project-id ID --gitlab-namespace-id ID) [--ref REF] [--environment NAME] --namespace NS [flags]",
		Short:   "Print (or apply) what a cluster needs to accept a GitHub or GitLab job's own OIDC token",
		Long:    help("oidc-config"),
		Example: help("oidc-config.example"),
	}, o, o, func(fs *pflag.FlagSet) { oc.flags(fs, o) }, func(ctx context.Context, _ []string) error { return a.oidcConfig(ctx, o, oc) })
}

// actionCommand is the GitHub Action's entrypoint.
func (a *app) actionCommand() *cobra.Command {
	o, post := &Options{}, false
	return a.command(&cobra.Command{Use: "action", Short: github.ActionShort, Long: github.ActionLong}, o, o,
		func(fs *pflag.FlagSet) { fs.BoolVar(&post, "post", false, "run the post stage") },
		func(ctx context.Context, _ []string) error {
			if post {
				return a.actionPost(ctx, o)
			}
			return a.action(ctx, o)
		})
}

// versionCommand is version.
func (a *app) versionCommand() *cobra.Command {
	var versionOutput string
	versionCmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date, Go version and argo apiclient version",
		Args:  usage.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if versionOutput != "" && versionOutput != "json" {
				return exitcode.New(exitcode.Usage, "use json, or no -o", "unknown --output %q", versionOutput)
			}
			return ver.Write(a.streams.Out, versionOutput)
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
