package cli

import (
	"errors"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/argo-cred/argo-cred/internal/exitcode"
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
		Example: `  argo-cred exec --secret ci-token --namespace ci --server argo.example.com:443 -- argo submit -n ci workflow.yaml
  argo-cred probe --service-account ci --secret-namespace ci --server argo.example.com:443`,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noArgs,
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
	root.SetFlagErrorFunc(flagError)
	root.SetUsageTemplate(usageTemplate())
	cobra.AddTemplateFunc("exitCodes", exitcode.Help)

	return root
}

// noArgs refuses positional arguments, with a hint for the usual slips.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		hint := "run argo-cred --help for the commands"
		if strings.HasPrefix(args[0], "-") {
			hint = "flags go after the command name: argo-cred env --secret …"
		}
		return exitcode.New(exitcode.Usage, hint, "unknown command %q", args[0])
	}
	hint := "see " + cmd.CommandPath() + " --help"
	if slices.Contains([]string{"true", "false"}, args[0]) {
		hint = "a boolean flag takes its value after '=', e.g. --secure=false"
	}
	return exitcode.New(exitcode.Usage, hint, "unexpected argument %q", args[0])
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// flagError classifies a flag that does not parse, with a hint for the
// usual slips.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	hint := "see " + cmd.CommandPath() + " --help"
	switch {
	case strings.HasPrefix(msg, "unknown flag: ") || strings.HasPrefix(msg, "unknown shorthand flag: "):
		name := strings.TrimPrefix(msg, "unknown flag: ")
		lookup := func(fs *pflag.FlagSet) *pflag.Flag { return fs.Lookup(strings.TrimLeft(name, "-")) }
		if rest, ok := strings.CutPrefix(msg, "unknown shorthand flag: "); ok {
			// pflag says "unknown shorthand flag: 'v' in -v".
			short, _, _ := strings.Cut(strings.Trim(rest, "'"), "'")
			name = "-" + short
			lookup = func(fs *pflag.FlagSet) *pflag.Flag { return fs.ShorthandLookup(short) }
		}
		msg = "flag provided but not defined: " + name
		subs := slices.Clone(cmd.Commands())
		slices.SortStableFunc(subs, func(x, y *cobra.Command) int { return boolInt(y.Name() == "env") - boolInt(x.Name() == "env") })
		for _, sub := range subs {
			if f := lookup(sub.Flags()); f != nil && cmd.HasSubCommands() {
				hint = "a flag of " + sub.CommandPath() + " goes after the command name: " + sub.CommandPath() + " " + name + " …"
				break
			}
		}
		if name == "-v" && !cmd.HasParent() {
			hint = "-v is --verbose, which goes after the command name (argo-cred env -v …); the version: argo-cred version, or argo-cred --version"
		}
	case strings.Contains(msg, "missing unit in duration"):
		hint = "a duration needs a unit: 500ms, 5s, 2m, 1h"
	case strings.Contains(msg, "strconv.ParseBool"):
		hint = "a boolean flag takes true or false after '=', e.g. --secure=false"
	}
	return exitcode.Wrap(exitcode.Usage, hint, errors.New(msg))
}
