package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/spf13/pflag"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/docker"
	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/export"
	"github.com/argo-cred/argo-cred/internal/token"
)

// Each command has its own options: a struct of the shared groups below,
// declared once, and its own flags. Environment variables fill them first
// (envconfig); a flag given on the command line always wins. The groups'
// types are exported only because envconfig sets fields through an
// embedded struct only when its type is.

// SourceOptions say where the token comes from.
type SourceOptions struct {
	Source         string        `envconfig:"ARGO_CRED_SOURCE"`
	Secret         string        `envconfig:"ARGO_CRED_SECRET"`
	SecretNS       string        `envconfig:"ARGO_CRED_SECRET_NAMESPACE"`
	ServiceAccount string        `envconfig:"ARGO_CRED_SERVICE_ACCOUNT"`
	Duration       time.Duration `envconfig:"ARGO_CRED_DURATION" default:"1h"`
	Audiences      []string      `envconfig:"ARGO_CRED_AUDIENCE"`
	TokenFile      string        `envconfig:"ARGO_CRED_TOKEN_FILE"`
	OIDCEnv        string        `envconfig:"ARGO_CRED_OIDC_ENV"`
	MinLifetime    time.Duration `envconfig:"ARGO_CRED_MIN_LIFETIME" default:"60s"`
}

// KubeOptions are how Kubernetes is reached.
type KubeOptions struct {
	Kubeconfig string        `ignored:"true"` // KUBECONFIG is client-go's to read
	Context    string        `envconfig:"ARGO_CRED_CONTEXT"`
	Wait       time.Duration `envconfig:"ARGO_CRED_WAIT" default:"30s"`
}

// ArgoOptions are the Argo Server's settings, parsed as the argo CLI parses them.
type ArgoOptions struct {
	Server             string        `envconfig:"ARGO_SERVER"`
	Namespace          string        `envconfig:"ARGO_NAMESPACE"`
	HTTP1              env.ExactTrue `envconfig:"ARGO_HTTP1"`
	Secure             env.NotFalse  `envconfig:"ARGO_SECURE" default:"true"`
	InsecureSkipVerify env.ExactTrue `envconfig:"ARGO_INSECURE_SKIP_VERIFY"`
	BaseHRef           string        `envconfig:"ARGO_BASE_HREF"`
	Headers            []string      `ignored:"true"`
	CAFile             string        `envconfig:"ARGO_CRED_CA_FILE"`
}

// CheckOptions say what the probe checks.
type CheckOptions struct {
	Probe             bool          `envconfig:"ARGO_CRED_PROBE" default:"true"`
	Expect            []string      `envconfig:"ARGO_CRED_EXPECT"`
	Timeout           time.Duration `envconfig:"ARGO_CRED_TIMEOUT" default:"30s"`
	SkipIdentityCheck bool          `envconfig:"ARGO_CRED_SKIP_IDENTITY_CHECK"`
}

// options are a credential's: every command that gets or checks one has them.
type Options struct {
	SourceOptions
	KubeOptions
	ArgoOptions
	CheckOptions
	// Bind binds a TokenRequest token to a per-run Secret.
	Bind    bool `envconfig:"ARGO_CRED_BIND"`
	Verbose bool `envconfig:"ARGO_CRED_VERBOSE"`

	set map[string]bool // flags given on the command line
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

// LifecycleOptions are what provision, rotate, revoke and clients share.
type LifecycleOptions struct {
	Options
	Client string `envconfig:"ARGO_CRED_CLIENT"`
}

type provisionOptions struct {
	LifecycleOptions
	Allow                    []string `ignored:"true"`
	DryRun, PrintRBAC, Adopt bool     `ignored:"true"`
	Format                   string   `ignored:"true"`
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

// listFlag is a repeatable flag; the first use replaces the value from the
// environment, later uses append. With split, each use may also be a
// comma-separated list, as the environment variable is.
type listFlag struct {
	v     *[]string
	fresh bool
	split bool
}

func (l *listFlag) String() string {
	if l.v == nil {
		return ""
	}
	return strings.Join(*l.v, ",")
}

func (l *listFlag) Set(s string) error {
	if !l.fresh {
		*l.v, l.fresh = nil, true
	}
	if !l.split {
		*l.v = append(*l.v, s)
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l.v = append(*l.v, part)
		}
	}
	return nil
}

func (l *listFlag) Type() string { return "list" }

func (s *SourceOptions) flags(fs *pflag.FlagSet) {
	fs.StringVar(&s.Source, "source", s.Source, "token source: "+cred.Names()+" (ARGO_CRED_SOURCE); default: follows from the flags given")
	fs.StringVar(&s.Secret, "secret", s.Secret, "name of a kubernetes.io/service-account-token Secret (ARGO_CRED_SECRET)")
	fs.StringVar(&s.SecretNS, "secret-namespace", s.SecretNS, "namespace of the Secret or ServiceAccount (ARGO_CRED_SECRET_NAMESPACE); default: --namespace, then the kubeconfig's")
	fs.StringVar(&s.ServiceAccount, "service-account", s.ServiceAccount, "ServiceAccount to request a token for with the TokenRequest API (ARGO_CRED_SERVICE_ACCOUNT)")
	fs.DurationVar(&s.Duration, "duration", s.Duration, "lifetime of a TokenRequest token (ARGO_CRED_DURATION)")
	fs.Var(&listFlag{v: &s.Audiences, split: true}, "audience", "audience of a TokenRequest token, repeatable or comma-separated; for github-oidc and oidc-env\nthe audience the OIDC token must be for (ARGO_CRED_AUDIENCE); default: the API server's, for github-oidc "+token.DefaultAudience)
	fs.StringVar(&s.TokenFile, "token-file", s.TokenFile, "file holding the token, e.g. a projected token, or a FIFO such as <(vault kv get …), read within --timeout (ARGO_CRED_TOKEN_FILE)")
	fs.StringVar(&s.OIDCEnv, "oidc-env", s.OIDCEnv, "environment variable holding a CI OIDC ID token, e.g. GitLab's id_tokens (ARGO_CRED_OIDC_ENV)")
	fs.DurationVar(&s.MinLifetime, "min-lifetime", s.MinLifetime, "an OIDC token with less time left is refused before any request (ARGO_CRED_MIN_LIFETIME)")
}

func (k *KubeOptions) flags(fs *pflag.FlagSet) {
	fs.DurationVar(&k.Wait, "wait", k.Wait, "how long to wait for the token controller to fill a Secret (ARGO_CRED_WAIT)")
	fs.StringVar(&k.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG, ~/.kube/config, then in-cluster)")
	fs.StringVar(&k.Context, "context", k.Context, "kubeconfig context (ARGO_CRED_CONTEXT)")
}

// flags of the Argo Server but --namespace, which each command defines
// with what it is for.
func (g *ArgoOptions) flags(fs *pflag.FlagSet) {
	fs.StringVar(&g.Server, "server", g.Server, "Argo Server host:port; http:// or https:// sets --secure (ARGO_SERVER)")
	fs.BoolVar((*bool)(&g.HTTP1), "http1", bool(g.HTTP1), "use HTTP/1 instead of gRPC (ARGO_HTTP1, true only if exactly \"true\")")
	fs.BoolVar((*bool)(&g.Secure), "secure", bool(g.Secure), "use TLS (ARGO_SECURE, true unless exactly \"false\")")
	fs.BoolVar((*bool)(&g.InsecureSkipVerify), "insecure-skip-verify", bool(g.InsecureSkipVerify), "do not verify the server's certificate (ARGO_INSECURE_SKIP_VERIFY, true only if exactly \"true\")")
	fs.StringVar(&g.BaseHRef, "base-href", g.BaseHRef, "path prefix behind an ingress, HTTP/1 only (ARGO_BASE_HREF)")
	fs.Var(&listFlag{v: &g.Headers}, "header", "extra HTTP header \"Name: value\", HTTP/1 only, repeatable")
	fs.StringVar(&g.CAFile, "ca-file", g.CAFile, "PEM CA certificates to verify the server with; exported as SSL_CERT_FILE naming a bundle of the system roots and these (ARGO_CRED_CA_FILE)")
}

func verboseFlag(fs *pflag.FlagSet, v *bool) {
	fs.BoolVarP(v, "verbose", "v", *v, "verbose diagnostics on stderr; never the token (ARGO_CRED_VERBOSE)")
}

// flags of a command that gets a credential; withExport: env, exec and
// docker, which hand it on.
func (o *Options) flags(fs *pflag.FlagSet, withExport bool) {
	fs.SortFlags = false
	o.SourceOptions.flags(fs)
	o.KubeOptions.flags(fs)
	fs.StringVar(&o.Namespace, "namespace", o.Namespace, "namespace to check and export (ARGO_NAMESPACE); default: the token's")
	o.ArgoOptions.flags(fs)
	fs.Var(&listFlag{v: &o.Expect, split: true}, "expect", "allow:RESOURCE/VERB or deny:RESOURCE/VERB, repeatable or comma-separated (ARGO_CRED_EXPECT);\nVERB is list (any resource) or create (workflows only, a server-side dry run that creates nothing);\nadded to the defaults allow:workflows/list,deny:workflowtemplates/list, replacing one only for the same RESOURCE/VERB")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "overall limit for the probe, retries included (ARGO_CRED_TIMEOUT)")
	fs.BoolVar(&o.SkipIdentityCheck, "skip-identity-check", o.SkipIdentityCheck, "accept a token whose identity cannot be checked: it has no subject (not a JWT) and the server reports none;\na server that reports another identity still fails (ARGO_CRED_SKIP_IDENTITY_CHECK)")
	verboseFlag(fs, &o.Verbose)
	if withExport {
		fs.BoolVar(&o.Probe, "probe", o.Probe, "probe the Argo Server first (ARGO_CRED_PROBE)")
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

func (o *dockerOptions) flags(fs *pflag.FlagSet) {
	o.Options.flags(fs, true)
	if o.Image == "" {
		o.Image = docker.DefaultImage()
	}
	fs.StringVar(&o.Image, "image", o.Image, "the argo CLI image to run (ARGO_CRED_IMAGE)")
	fs.StringVar(&o.Network, "network", o.Network, "docker run --network, e.g. host for an Argo Server on this machine's loopback (ARGO_CRED_DOCKER_NETWORK)")
	fs.Var(&listFlag{v: &o.DockerMounts}, "mount", "a directory of this host to mount read-only at the same path, for files outside the working directory;\nrepeatable (ARGO_CRED_DOCKER_MOUNT: comma-separated)")
	fs.Var(&listFlag{v: &o.DockerArgs}, "docker-arg", "one more docker run argument before the image, repeatable (e.g. --docker-arg=--add-host=argo:10.0.0.1;\n--docker-arg=--user=UID:GID replaces the caller's uid:gid)")
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
	o.KubeOptions.flags(fs)
	o.ArgoOptions.flags(fs)
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "overall limit for each probe, retries included (ARGO_CRED_TIMEOUT)")
	verboseFlag(fs, &o.Verbose)
}

func (o *provisionOptions) flags(fs *pflag.FlagSet) {
	o.LifecycleOptions.flags(fs, func(fs *pflag.FlagSet) {
		fs.Var(&listFlag{v: &o.Allow}, "allow", "RESOURCE:VERB[,VERB…] on argoproj.io, repeatable (default workflows:list,update)")
		fs.BoolVar(&o.DryRun, "dry-run", false, "print the objects as YAML and change nothing")
		fs.BoolVar(&o.PrintRBAC, "print-rbac", false, "print the ServiceAccount, RBAC and ClusterRole the identity that runs provision, rotate, revoke\nand clients needs (for a namespace dedicated to Argo clients), and exit")
		fs.BoolVar(&o.Adopt, "adopt", false, "take over a Role, ServiceAccount, RoleBinding or token Secret of the client's name that argo-cred did not make\n(its labels, and its rules or subjects, become argo-cred's); without it such objects are refused")
		fs.StringVar(&o.Format, "format", "", "also print the settings, as env does: "+export.Alternatives())
	})
}

func (o *revokeOptions) flags(fs *pflag.FlagSet) {
	o.LifecycleOptions.flags(fs, func(fs *pflag.FlagSet) {
		fs.BoolVar(&o.Purge, "purge", false, "also delete the client's Role, RoleBinding and ServiceAccount")
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
