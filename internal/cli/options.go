package cli

import (
	"fmt"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/spf13/pflag"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/docker"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/export"
	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/relay"
)

// Each command has its own options: a struct of the shared groups below,
// declared once, and its own flags. Environment variables fill them first
// (envconfig); a flag given on the command line always wins. The groups'
// types are exported only because envconfig sets fields through an
// embedded struct only when its type is.

// Options are a credential's: every command that gets or checks one has them.
type Options struct {
	cred.SourceFlags
	cred.KubeFlags
	cred.ArgoFlags
	cred.CheckFlags
	// Bind binds a TokenRequest token to a per-run Secret.
	Bind    bool `envconfig:"ARGO_CRED_BIND"`
	Verbose bool `envconfig:"ARGO_CRED_VERBOSE"`
	Quiet   bool `envconfig:"ARGO_CRED_QUIET"` // no notes (quietly)
	// Relay: exec and docker run the command behind the loopback relay.
	Relay relay.Mode `envconfig:"ARGO_CRED_RELAY" default:"auto"`

	set map[string]bool // flags given on the command line
	// noBundle exports no SSL_CERT_FILE: in the GitHub Action, a path
	// would name a file inside the action's container.
	noBundle bool
	// guardBinding: exec and docker guard a --bind Secret from its start;
	// relayed: they may run the command behind the relay.
	guardBinding, relayed bool
	// managed: the client whose just-made token this is (provision, rotate):
	// a 401 may be kube-apiserver's caches lagging; hints name the client.
	managed string
	// quietExpect: the expectations are argo-cred's own (derived from a
	// client's grants), so replacing a default is no news.
	quietExpect bool
}

// ExportOptions are how env writes the settings.
type ExportOptions struct {
	Format     string `envconfig:"ARGO_CRED_FORMAT" default:"shell"`
	OutputFile string `envconfig:"ARGO_CRED_OUTPUT_FILE"`
}

type envOptions struct {
	Options
	ExportOptions
}

type probeOptions struct {
	Options
	Output string `envconfig:"ARGO_CRED_OUTPUT" default:"table"`
}

type dockerOptions struct {
	Options
	Image        string   `envconfig:"ARGO_CRED_IMAGE"`
	Network      string   `envconfig:"ARGO_CRED_DOCKER_NETWORK"`
	DockerMounts []string `envconfig:"ARGO_CRED_DOCKER_MOUNT"`
	DockerArgs   []string `ignored:"true"`
}

// LifecycleOptions are what provision, rotate, revoke and clients share (--client: SourceFlags.Client).
type LifecycleOptions struct {
	Options
}

type rotateOptions struct {
	LifecycleOptions
	Grace  time.Duration `ignored:"true"`
	Finish bool          `ignored:"true"`
}

type provisionOptions struct {
	LifecycleOptions
	Allow, For               []string `ignored:"true"`
	DryRun, PrintRBAC, Adopt bool     `ignored:"true"`
	// Format (--format only) and OutputFile print the settings as env does.
	Format     string                `ignored:"true"`
	Fetcher    identity.FetcherFlags `ignored:"true"`
	OutputFile string                `envconfig:"ARGO_CRED_OUTPUT_FILE"`
}

type revokeOptions struct {
	LifecycleOptions
	Purge bool `ignored:"true"`
	// StaleBindings: delete the per-run Secrets older than this.
	StaleBindings time.Duration `ignored:"true"`
	Binding       string        `ignored:"true"`
}

type clientsOptions struct {
	LifecycleOptions
	Check  bool   `ignored:"true"`
	Output string `envconfig:"ARGO_CRED_OUTPUT" default:"table"`
}

// loadEnv reads the environment into a command's options (envconfig).
func loadEnv(o any) error {
	if err := envconfig.Process("", o); err != nil {
		return exitcode.Wrap(exitcode.Usage, "fix the environment variable named above", fmt.Errorf("reading the environment: %w", err))
	}
	return nil
}

func verboseFlag(fs *pflag.FlagSet, v *bool) {
	fs.BoolVarP(v, "verbose", "v", *v, "verbose diagnostics on stderr; never the token (ARGO_CRED_VERBOSE)")
}

// flags of a command that gets a credential; withExport: env, exec and
// docker, which hand it on.
func (o *Options) flags(fs *pflag.FlagSet, withExport bool) {
	fs.SortFlags = false
	o.SourceFlags.AddFlags(fs)
	o.KubeFlags.AddFlags(fs)
	fs.StringVar(&o.Namespace, "namespace", o.Namespace, "namespace to check and export (ARGO_NAMESPACE); default: the token's")
	o.ArgoFlags.AddFlags(fs)
	o.CheckFlags.AddFlags(fs)
	verboseFlag(fs, &o.Verbose)
	if withExport {
		fs.BoolVar(&o.Probe, "probe", o.Probe, "probe the Argo Server first (ARGO_CRED_PROBE)")
		fs.BoolVarP(&o.Quiet, "quiet", "q", o.Quiet, "print no notes on stderr; warnings and errors stay (ARGO_CRED_QUIET)")
		fs.BoolVar(&o.Bind, "bind", o.Bind, "with --source tokenrequest: bind the token to a per-run Secret, deleted when the job ends (exec, docker)\nor by argo-cred revoke --binding (env), which revokes it (ARGO_CRED_BIND)")
	}
}

func (o *envOptions) flags(fs *pflag.FlagSet) {
	o.Options.flags(fs, true)
	fs.StringVar(&o.Format, "format", o.Format, export.Alternatives()+" (ARGO_CRED_FORMAT)")
	fs.StringVar(&o.OutputFile, "output-file", o.OutputFile, "write to this file (mode 0600, atomically) instead of stdout (ARGO_CRED_OUTPUT_FILE)")
}

func (o *probeOptions) flags(fs *pflag.FlagSet) {
	o.Options.flags(fs, false)
	fs.StringVarP(&o.Output, "output", "o", o.Output, "table (on stderr) or json (on stdout) (ARGO_CRED_OUTPUT)")
}

func relayFlag(fs *pflag.FlagSet, o *Options) {
	fs.Var(&o.Relay, "relay", "run COMMAND behind a loopback relay that renews the token and keeps waits open: auto (when the source\ncan renew, or COMMAND waits on a stream), always or never (ARGO_CRED_RELAY)")
}

func (o *dockerOptions) flags(fs *pflag.FlagSet) {
	o.Options.flags(fs, true)
	relayFlag(fs, &o.Options)
	if o.Image == "" {
		o.Image = docker.DefaultImage()
	}
	fs.StringVar(&o.Image, "image", o.Image, "the argo CLI image to run (ARGO_CRED_IMAGE)")
	fs.StringVar(&o.Network, "network", o.Network, "docker run --network (default: docker's, bridge); the relay works only with host: it listens on this\nhost's 127.0.0.1, and on any other network argo gets the token itself, not renewed (ARGO_CRED_DOCKER_NETWORK)")
	fs.Var(&cred.ListFlag{V: &o.DockerMounts}, "mount", "a directory of this host to mount read-only at the same path, for files outside the working directory;\nrepeatable (ARGO_CRED_DOCKER_MOUNT: comma-separated)")
	fs.Var(&cred.ListFlag{V: &o.DockerArgs}, "docker-arg", "one more docker run argument before the image, repeatable (e.g. --docker-arg=--add-host=argo:10.0.0.1;\n--docker-arg=--user=UID:GID replaces the caller's uid:gid)")
}

// flags of the lifecycle commands; then extra, the command's own, before
// the shared ones that follow.
func (o *LifecycleOptions) flags(fs *pflag.FlagSet, extra func(*pflag.FlagSet)) {
	fs.SortFlags = false
	fs.StringVar(&o.Client, "client", o.Client, "the client: it names the Role, ServiceAccount, RoleBinding and token Secrets (ARGO_CRED_CLIENT)")
	if extra != nil {
		extra(fs)
	}
	fs.StringVar(&o.Namespace, "namespace", o.Namespace, "namespace of the client (ARGO_NAMESPACE); default: the kubeconfig's")
	o.KubeFlags.AddFlags(fs)
	o.ArgoFlags.AddFlags(fs)
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "overall limit for each probe, retries included (ARGO_CRED_TIMEOUT)")
	verboseFlag(fs, &o.Verbose)
}

func (o *provisionOptions) flags(fs *pflag.FlagSet) {
	o.LifecycleOptions.flags(fs, func(fs *pflag.FlagSet) {
		fs.Var(&cred.ListFlag{V: &o.Allow}, "allow", "RESOURCE:VERB[,VERB…] on argoproj.io (or core pods, pods/log with a profile's verbs), repeatable (default without --for: workflows:list,update)")
		fs.Var(&cred.ListFlag{V: &o.For}, "for", identity.ForUsage())
		fs.BoolVar(&o.DryRun, "dry-run", false, "print the objects as YAML and change nothing")
		fs.BoolVar(&o.PrintRBAC, "print-rbac", false, "print the ServiceAccount, RBAC and ClusterRole the identity that runs provision, rotate, revoke\nand clients needs (for a namespace dedicated to Argo clients), and exit")
		fs.BoolVar(&o.Adopt, "adopt", false, "take over a Role, ServiceAccount, RoleBinding or token Secret of the client's name that argo-cred did not make\n(its labels, and its rules or subjects, become argo-cred's); without it such objects are refused")
		fs.StringVar(&o.Format, "format", "", "also print the settings, as env does: "+export.Alternatives())
		o.Fetcher.AddFlags(fs)
	})
}

func (o *rotateOptions) flags(fs *pflag.FlagSet) {
	o.LifecycleOptions.flags(fs, func(fs *pflag.FlagSet) {
		fs.DurationVar(&o.Grace, "grace", 0, "keep the old token valid this long after the new one is current (retiring), e.g. 1h;\nthe next lifecycle command after that, or rotate --finish, deletes it; default: delete it at once")
		fs.BoolVar(&o.Finish, "finish", false, "end a grace now: delete the retiring Secret and prove its token rejected (401); creates nothing")
	})
}

func (o *revokeOptions) flags(fs *pflag.FlagSet) {
	o.LifecycleOptions.flags(fs, func(fs *pflag.FlagSet) {
		fs.BoolVar(&o.Purge, "purge", false, "also delete the client's Role, RoleBinding and ServiceAccount, and its fetcher (provision --kubeconfig-out)")
		fs.StringVar(&o.Binding, "binding", "", "revoke one bound token by deleting its per-run Secret (the bound token in ARGO_TOKEN proves it)")
		fs.DurationVar(&o.StaleBindings, "stale-bindings", 0, "revoke the --bind tokens of every run older than this, of any ServiceAccount, by deleting their per-run Secrets\n(runs that could not clean up: argo-cred and its guard killed, the CI machine switched off)")
	})
}

func (o *clientsOptions) flags(fs *pflag.FlagSet) {
	o.LifecycleOptions.flags(fs, func(fs *pflag.FlagSet) {
		fs.BoolVar(&o.Check, "check", false, "check each token against the Argo Server")
		fs.StringVarP(&o.Output, "output", "o", o.Output, "table (on stdout) or json")
	})
}
