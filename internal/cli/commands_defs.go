package cli

import (
	"context"
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
		Long: `Gets a token and checks it against the Argo Server: reachability, identity, and each --expect.
Prints a table on stderr, or with --output json one object on stdout.`,
		Args: noArgs,
		RunE: withEnv(func(cmd *cobra.Command) error { return a.runProbe(cmd.Context(), o) }),
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
	o.flags(execCmd.Flags(), true)
	completeFlags(execCmd, o)
	return execCmd
}

// dockerCommand is docker: the argo CLI image with the settings.
func (a *app) dockerCommand() *cobra.Command {
	o := &dockerOptions{}
	withEnv := a.withEnv(&o.Options, loadEnv(o))
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
		`Creates or updates, with server-side apply (field manager argo-cred), a client's Role with exactly
the --allow verbs on argoproj.io resources, its ServiceAccount, RoleBinding and token Secret
NAME-token, all labelled app.kubernetes.io/managed-by=argo-cred and argo-cred/client=NAME; waits
for the token and probes it: what is granted must work, listing workflow templates must be refused
unless granted. Running it again with the same flags changes nothing. An object of those names
without those labels is refused, unless --adopt; the namespace's default ServiceAccount is reserved.
The identity that runs it needs what --print-rbac prints, in a namespace dedicated to Argo clients:
it can read every token Secret there.`, p, &p.LifecycleOptions, p.flags, func(ctx context.Context) error { return a.provision(ctx, p) })
	rotateCmd = lifecycle("rotate --client NAME [flags]", "Give a client a new token, then revoke the old ones and prove it",
		`Creates a new token Secret, waits for it, probes the new token, deletes the old Secrets, and polls
the Argo Server until it rejects every old token (401): kube-apiserver caches a token check up to
10 s. Says how long each step took. If the new token fails its probe, the old Secrets stay.`, rot, rot, rotFlags, func(ctx context.Context) error { return a.rotate(ctx, rot) })
	revokeCmd = lifecycle("revoke (--client NAME [--purge] | --binding SECRET | --stale-bindings AGE) [flags]", "Revoke a client's tokens (or bound tokens) and prove it",
		`Deletes the client's token Secrets and polls the Argo Server until it rejects each token (401);
--purge also deletes the Role, RoleBinding and ServiceAccount, each only if it carries argo-cred's
labels for the client. --binding deletes the per-run Secret a --bind token is bound to;
--stale-bindings deletes those of every run older than AGE. Every delete names the object's UID.`, rev, &rev.LifecycleOptions, rev.flags, func(ctx context.Context) error { return a.revoke(ctx, rev) })
	clientsCmd = lifecycle("clients [flags]", "List the clients argo-cred manages, their grants and token Secrets",
		`Lists the clients in the namespace: grants, token Secrets with their age and Kubernetes' legacy-token
labels, and with --check whether each token still passes the probe.`, cl, &cl.LifecycleOptions, cl.flags, func(ctx context.Context) error { return a.clients(ctx, cl) })
	return provisionCmd, rotateCmd, revokeCmd, clientsCmd
}

// oidcConfigCommand is oidc-config: what a cluster needs for a GitHub job's own token.
func (a *app) oidcConfigCommand() *cobra.Command {
	o := &Options{}
	withEnv := a.withEnv(o, loadEnv(o))
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
