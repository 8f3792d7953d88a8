package cli

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/github"
	"github.com/argo-cred/argo-cred/internal/token"
)

// commands builds the command tree. The environment is read first
// (envconfig), so that every flag's default is its variable's value: a flag
// given on the command line wins, then the environment, then the default.
func (a *app) commands() *cobra.Command {
	o, envErr := loadEnv()
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
	root.SetUsageTemplate(usageTemplate)
	cobra.AddTemplateFunc("exitCodes", exitcode.Help)

	withEnv := func(run func(*cobra.Command) error) func(*cobra.Command, []string) error {
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
	envCmd := &cobra.Command{
		Use:   "env [flags]",
		Short: "Get a token, check it against the Argo Server, print the ARGO_* settings",
		Long: `Gets a token, checks it against the Argo Server, and prints the ARGO_* settings for the argo CLI.
Write them to a private file, stop the script when argo-cred fails, then source the file:
  f=$(mktemp) || exit; trap 'rm -f "$f"' EXIT
  argo-cred env --secret ci-token --namespace ci --server argo.example.com:443 --output-file "$f" || exit
  . "$f"
  argo submit -n ci workflow.yaml
The file turns tracing off while it sets the values, so sh -x and bash -x trace no form of the
token; a trace of eval "$(argo-cred env …)" or of creds=$(argo-cred env …) prints them all, and
eval of an empty string does not stop the script.`,
		Args: noArgs,
		RunE: withEnv(func(cmd *cobra.Command) error { return a.runEnv(cmd.Context(), o) }),
	}
	probeCmd := &cobra.Command{
		Use:   "probe [flags]",
		Short: "Get a token and print only the verdict of the check",
		Long: `Gets a token and checks it against the Argo Server: reachability, identity, and each --expect.
Prints a table on stderr, or with --output json one object on stdout.`,
		Args: noArgs,
		RunE: withEnv(func(cmd *cobra.Command) error { return a.runProbe(cmd.Context(), o) }),
	}
	execCmd := &cobra.Command{
		Use:   "exec [flags] [--] [COMMAND [ARGS...]]",
		Short: "Get and check a token, then run COMMAND (default argo) with the ARGO_* settings",
		Long: `Gets a token and checks it as env does, then replaces itself with COMMAND (default argo)
in the caller's environment without any ARGO_* or KUBECONFIG, plus the settings and
KUBECONFIG=/dev/null. COMMAND's exit code is the process's; argo-cred's own failures before it
starts keep the exit codes below. With no token source at all (none of --source, --secret,
--service-account, --token-file, --oidc-env, --client or ARGO_TOKEN, by flag or environment),
COMMAND runs unchanged; with any of them, it runs only with a checked credential. With --bind,
argo-cred waits for COMMAND, which dies with argo-cred (Linux), and a guard process revokes the
token if argo-cred is killed outright.
Flags end at COMMAND; everything after it (or after --) is passed on verbatim.`,
		Example: `  argo-cred exec --secret ci-token --server argo.example.com:443 -- argo submit -n ci workflow.yaml
  docker run --rm -e ARGO_SERVER -e ARGO_TOKEN argo-cred:dev list -n ci   # the image's entrypoint`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEnv(func(cmd *cobra.Command) error { return a.exec(cmd.Context(), o, args) })(cmd, args)
		},
	}
	execCmd.Flags().SetInterspersed(false)
	dockerCmd := &cobra.Command{
		Use:   "docker [flags] [--] [ARGS...]",
		Short: "Get and check a token on this host, then docker run the argo CLI image with ARGS",
		Long: `Gets a token and checks it as env does, on this host, then runs
  docker run --rm [-i] [-t] --user UID:GID -v $PWD:$PWD -w $PWD -e HOME=/tmp -e ARGO_SERVER -e ARGO_TOKEN … IMAGE ARGS
passing every setting by name only: the values are in the docker CLI's environment, never in a
command line. The container runs as the caller's uid:gid (0:0 on a rootless engine), so it reads
the caller's files as the caller does; --docker-arg=--user=… replaces it. The current directory is
the container's working directory and the only one it sees: --mount DIR mounts another, read-only,
at the same path, and argo-cred notes an argument naming a file the container will not see. A CA
bundle from --ca-file is mounted where SSL_CERT_FILE says. The container's exit code is the
process's; SIGINT, SIGTERM, SIGHUP and SIGQUIT reach the container; if argo-cred is killed
outright, a guard removes the container. Flags end at the first argument; put ARGS after --.`,
		Example: `  argo-cred docker --secret ci-token --server argo.example.com:443 -- submit -n ci workflow.yaml
  argo-cred docker --mount ~/shared --secret ci-token --server argo.example.com:443 -- submit -n ci ~/shared/nightly.yaml`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEnv(func(cmd *cobra.Command) error { return a.docker(cmd.Context(), o, args) })(cmd, args)
		},
	}
	dockerCmd.Flags().SetInterspersed(false)
	lifecycle := func(use, short, long string, run func(context.Context, *options) error) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Long: long, Args: noArgs,
			RunE: withEnv(func(cmd *cobra.Command) error { return run(cmd.Context(), o) })}
	}
	provisionCmd := lifecycle("provision --client NAME [flags]", "Create or update a client's least-privilege identity and check its token",
		`Creates or updates, with server-side apply (field manager argo-cred), a client's Role with exactly
the --allow verbs on argoproj.io resources, its ServiceAccount, RoleBinding and token Secret
NAME-token, all labelled app.kubernetes.io/managed-by=argo-cred and argo-cred/client=NAME; waits
for the token and probes it: what is granted must work, listing workflow templates must be refused
unless granted. Running it again with the same flags changes nothing. An object of those names
without those labels is refused, unless --adopt; the namespace's default ServiceAccount is reserved.
The identity that runs it needs what --print-rbac prints, in a namespace dedicated to Argo clients:
it can read every token Secret there.`, a.provision)
	rotateCmd := lifecycle("rotate --client NAME [flags]", "Give a client a new token, then revoke the old ones and prove it",
		`Creates a new token Secret, waits for it, probes the new token, deletes the old Secrets, and polls
the Argo Server until it rejects every old token (401): kube-apiserver caches a token check up to
10 s. Says how long each step took. If the new token fails its probe, the old Secrets stay.`, a.rotate)
	revokeCmd := lifecycle("revoke (--client NAME [--purge] | --binding SECRET | --stale-bindings AGE) [flags]", "Revoke a client's tokens (or bound tokens) and prove it",
		`Deletes the client's token Secrets and polls the Argo Server until it rejects each token (401);
--purge also deletes the Role, RoleBinding and ServiceAccount, each only if it carries argo-cred's
labels for the client. --binding deletes the per-run Secret a --bind token is bound to;
--stale-bindings deletes those of every run older than AGE. Every delete names the object's UID.`, a.revoke)
	clientsCmd := lifecycle("clients [flags]", "List the clients argo-cred manages, their grants and token Secrets",
		`Lists the clients in the namespace: grants, token Secrets with their age and Kubernetes' legacy-token
labels, and with --check whether each token still passes the probe.`, a.clients)
	oc := &oidcConfigOptions{}
	oidcCmd := &cobra.Command{
		Use:   "oidc-config --github-repo OWNER/REPO --github-owner-id ID --github-repo-id ID [--ref REF | --environment NAME] --namespace NS [flags]",
		Short: "Print (or apply) what a cluster needs to accept a GitHub job's own OIDC token",
		Long: `Prints what the cluster needs so that a GitHub Actions job of OWNER/REPO can use its own OIDC token
with argo-cred --source github-oidc (nothing long-lived stored in GitHub): the AuthenticationConfiguration
entry for kube-apiserver that trusts GitHub's issuer for --audience, pins the owner by its numeric id
(claim repository_owner_id: a name can be re-registered, an id cannot), and maps the token to the user
"gha:<sub>:repository_id:<repository_id>"; and a Role with the --allow verbs and a RoleBinding for the
user of jobs on --ref (or in --environment), named gha-<repo>-<hash of the user> so that no two
repositories share one.

The ids cannot be looked up offline: give --github-owner-id and --github-repo-id (gh api repos/OWNER/REPO
--jq .owner.id,.id). Without them the output has the placeholders OWNER_ID and REPOSITORY_ID and a
comment naming the flags. --apply (which needs both ids) applies the Role and RoleBinding (server-side
apply), and refuses a RoleBinding of that name that binds anyone else; the AuthenticationConfiguration
is a file on the control-plane hosts. --only authentication-config or --only rbac prints that part alone, for
whoever handles it (the control-plane hosts' file, kubectl apply -f -).`,
		Example: `  argo-cred oidc-config --github-repo octo-org/app --github-owner-id 9919 --github-repo-id 1296269 --namespace ci \
    --only authentication-config > github-jobs.yaml   # for the control-plane hosts
  argo-cred oidc-config --github-repo octo-org/app --github-owner-id 9919 --github-repo-id 1296269 --namespace ci \
    --only rbac | kubectl apply -f -`,
		Args: noArgs,
		RunE: withEnv(func(cmd *cobra.Command) error { return a.oidcConfig(cmd.Context(), o, oc) }),
	}
	ofs := oidcCmd.Flags()
	ofs.SortFlags = false
	ofs.StringVar(&oc.repo, "github-repo", "", "OWNER/REPO of the jobs")
	ofs.StringVar(&oc.ownerID, "github-owner-id", "", "GitHub's numeric id of OWNER (claim repository_owner_id)")
	ofs.StringVar(&oc.repoID, "github-repo-id", "", "GitHub's numeric id of OWNER/REPO (claim repository_id)")
	ofs.StringVar(&oc.ref, "ref", "refs/heads/main", "the ref the jobs run on")
	ofs.StringVar(&oc.environment, "environment", "", "the GitHub environment the jobs run in, instead of --ref")
	ofs.StringVar(&o.Namespace, "namespace", o.Namespace, "namespace of the Role and RoleBinding")
	ofs.Var(&listFlag{v: &o.Allow}, "allow", "RESOURCE:VERB[,VERB…] on argoproj.io, repeatable (default workflows:list,create)")
	ofs.Var(&listFlag{v: &o.Audiences, split: true}, "audience", "the audience the jobs request (default "+token.DefaultAudience+")")
	ofs.StringVar(&oc.issuer, "issuer", github.Issuer, "the issuer (GitHub Enterprise Server: https://HOST/_services/token)")
	ofs.StringVar(&oc.issuerCA, "issuer-ca-file", "", "PEM CA of the issuer, when not a public one")
	ofs.BoolVar(&oc.apply, "apply", false, "apply the Role and RoleBinding")
	ofs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file, with --apply")
	ofs.StringVar(&o.Context, "context", o.Context, "kubeconfig context, with --apply")
	ofs.StringVar(&oc.only, "only", "", "print only this part: "+strings.Join(oidcParts, " (the file for kube-apiserver) or ")+" (the Role and RoleBinding)")
	ofs.BoolVarP(&o.Verbose, "verbose", "v", o.Verbose, "verbose diagnostics on stderr (ARGO_CRED_VERBOSE)")
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
	for _, c := range []*cobra.Command{envCmd, probeCmd, execCmd, dockerCmd, provisionCmd, rotateCmd, revokeCmd, clientsCmd} {
		bindFlags(c.Flags(), o, c.Name())
	}
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
	for _, c := range root.Commands() {
		completeFlags(c, o)
	}
	return root
}

const usageTemplate = `Usage:{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} COMMAND [flags]{{end}}{{if gt (len .Aliases) 0}}

Aliases:
  {{.NameAndAliases}}{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}

Commands:{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}

Flags (each also read from the environment variable named; a flag wins):
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

Run "{{.CommandPath}} COMMAND --help" for a command's flags.{{end}}

{{exitCodes}}`

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
