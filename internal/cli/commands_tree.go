package cli

import (
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/usage"
)

// commands builds the command tree. The environment is read first
// (envconfig), so that every flag's default is its variable's value: a flag
// given on the command line wins, then the environment, then the default.
func (a *app) commands() *cobra.Command {
	root := a.rootCommand()
	envCmd, probeCmd, execCmd, dockerCmd := a.envCommand(), a.probeCommand(), a.execCommand(), a.dockerCommand()
	provisionCmd, rotateCmd, revokeCmd, clientsCmd := a.lifecycleCommands()
	oidcCmd, actionCmd, versionCmd := a.oidcConfigCommand(), a.actionCommand(), a.versionCommand()
	// A command's help goes to stderr: eval "$(argo-cred env --help)" runs
	// nothing. Only its help: the command's own output stream stays stdout,
	// where the shell's completion (__complete) reads the values offered.
	helpToErr := []*cobra.Command{envCmd, probeCmd, execCmd, dockerCmd, provisionCmd, rotateCmd, revokeCmd, clientsCmd, actionCmd}
	help := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		if slices.Contains(helpToErr, c) {
			c.SetOut(a.streams.ErrOut)
		}
		help(c, args)
	})
	root.AddCommand(envCmd, probeCmd, execCmd, dockerCmd, provisionCmd, rotateCmd, revokeCmd, clientsCmd, oidcCmd, actionCmd, versionCmd)
	for _, c := range []*cobra.Command{envCmd, probeCmd, provisionCmd, rotateCmd, revokeCmd, clientsCmd, oidcCmd, actionCmd, versionCmd} {
		c.ValidArgsFunction = cobra.NoFileCompletions // they take no arguments
	}
	return root
}

// withEnv wraps the run of a command whose options are o (or hold o):
// the environment's error first, then the flags given, then -v.
func (a *app) withEnv(o *Options, envErr error) func(run func(*cobra.Command) error) func(*cobra.Command, []string) error {
	return func(run func(*cobra.Command) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			if envErr != nil {
				return envErr
			}
			o.set = map[string]bool{}
			cmd.Flags().Visit(func(f *pflag.Flag) { o.set[f.Name] = true })
			a.setVerbose(o.Verbose)
			return run(cmd)
		}
	}
}

// rootCommand is argo-cred itself: no command, the usage.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "argo-cred",
		Short: "A verified, least-privilege credential for the Argo Workflows Server, for CI",
		Long:  "argo-cred gives CI a verified, least-privilege credential for the Argo Workflows Server.",
		Example: `  argo-cred exec --secret ci-token --namespace ci --for submit --server argo.example.com:443 -- argo submit -n ci workflow.yaml
  argo-cred probe --service-account ci --secret-namespace ci --for submit --server argo.example.com:443`,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          usage.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(a.streams.ErrOut)
			_ = cmd.Usage()
			return exitcode.New(exitcode.Usage, "", "no command given")
		},
	}
	// --version has no shorthand: -v is --verbose, in every command (as in
	// argo and kubectl); the version is also the version command.
	root.Flags().Bool("version", false, "print the version (argo-cred version tells more)")
	root.SetIn(a.streams.In)
	root.SetOut(a.streams.Out)
	root.SetErr(a.streams.ErrOut)
	root.SetVersionTemplate("argo-cred {{.Version}}\n")
	root.SetFlagErrorFunc(usage.FlagError)
	root.SetUsageTemplate(usageTemplate())
	cobra.AddTemplateFunc("exitCodes", exitcode.Help)

	return root
}
