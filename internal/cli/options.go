package cli

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/spf13/pflag"

	"github.com/argo-cred/argo-cred/internal/docker"
	"github.com/argo-cred/argo-cred/internal/token"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/export"
)

// options are every setting of env and probe. Environment variables fill
// them first (envconfig); a flag given on the command line always wins.
type options struct {
	// Where the token comes from.
	Source         string        `envconfig:"ARGO_CRED_SOURCE"`
	Secret         string        `envconfig:"ARGO_CRED_SECRET"`
	SecretNS       string        `envconfig:"ARGO_CRED_SECRET_NAMESPACE"`
	ServiceAccount string        `envconfig:"ARGO_CRED_SERVICE_ACCOUNT"`
	Duration       time.Duration `envconfig:"ARGO_CRED_DURATION" default:"1h"`
	Audiences      []string      `envconfig:"ARGO_CRED_AUDIENCE"`
	TokenFile      string        `envconfig:"ARGO_CRED_TOKEN_FILE"`
	OIDCEnv        string        `envconfig:"ARGO_CRED_OIDC_ENV"`
	MinLifetime    time.Duration `envconfig:"ARGO_CRED_MIN_LIFETIME" default:"60s"`
	Wait           time.Duration `envconfig:"ARGO_CRED_WAIT" default:"30s"`
	Kubeconfig     string        `ignored:"true"` // KUBECONFIG is client-go's to read
	Context        string        `envconfig:"ARGO_CRED_CONTEXT"`

	// The Argo settings, parsed as the argo CLI parses them.
	Server             string        `envconfig:"ARGO_SERVER"`
	Namespace          string        `envconfig:"ARGO_NAMESPACE"`
	HTTP1              env.ExactTrue `envconfig:"ARGO_HTTP1"`
	Secure             env.NotFalse  `envconfig:"ARGO_SECURE" default:"true"`
	InsecureSkipVerify env.ExactTrue `envconfig:"ARGO_INSECURE_SKIP_VERIFY"`
	BaseHRef           string        `envconfig:"ARGO_BASE_HREF"`
	Headers            []string      `ignored:"true"`
	CAFile             string        `envconfig:"ARGO_CRED_CA_FILE"`

	// Probe and output.
	Probe             bool          `envconfig:"ARGO_CRED_PROBE" default:"true"`
	Expect            []string      `envconfig:"ARGO_CRED_EXPECT"`
	Timeout           time.Duration `envconfig:"ARGO_CRED_TIMEOUT" default:"30s"`
	SkipIdentityCheck bool          `envconfig:"ARGO_CRED_SKIP_IDENTITY_CHECK"`
	Format            string        `envconfig:"ARGO_CRED_FORMAT" default:"shell"`
	OutputFile        string        `envconfig:"ARGO_CRED_OUTPUT_FILE"`
	Output            string        `envconfig:"ARGO_CRED_OUTPUT" default:"table"`
	Verbose           bool          `envconfig:"ARGO_CRED_VERBOSE"`

	// Tokens that die with the job: a TokenRequest token bound to a per-run Secret.
	Bind bool `envconfig:"ARGO_CRED_BIND"`

	// The identity lifecycle.
	Client    string   `envconfig:"ARGO_CRED_CLIENT"`
	Allow     []string `ignored:"true"`
	DryRun    bool     `ignored:"true"`
	PrintRBAC bool     `ignored:"true"`
	Purge     bool     `ignored:"true"`
	Adopt     bool     `ignored:"true"`
	// StaleBindings: revoke deletes the per-run Secrets older than this.
	StaleBindings time.Duration `ignored:"true"`
	Binding       string        `ignored:"true"`
	Check         bool          `ignored:"true"`

	// docker.
	Image        string   `envconfig:"ARGO_CRED_IMAGE"`
	Network      string   `envconfig:"ARGO_CRED_DOCKER_NETWORK"`
	DockerMounts []string `envconfig:"ARGO_CRED_DOCKER_MOUNT"`
	DockerArgs   []string `ignored:"true"`

	set map[string]bool // flags given on the command line
	// quietExpect: the expectations are argo-cred's own (derived from a
	// client's grants), so replacing a default is no news.
	quietExpect bool
	// provisionFormat is provision's --format, empty unless given.
	provisionFormat string
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

// loadEnv reads the environment into options (envconfig).
func loadEnv() (*options, error) {
	o := &options{}
	if err := envconfig.Process("", o); err != nil {
		return o, exitcode.Wrap(exitcode.Usage, "fix the environment variable named above", fmt.Errorf("reading the environment: %w", err))
	}
	return o, nil
}

// bindFlags defines the flags of command cmd on fs, each defaulting to what
// the environment set in o.
func bindFlags(fs *pflag.FlagSet, o *options, cmd string) {
	fs.SortFlags = false
	lifecycle := slices.Contains([]string{"provision", "rotate", "revoke", "clients"}, cmd)
	if lifecycle {
		fs.StringVar(&o.Client, "client", o.Client, "the client: it names the Role, ServiceAccount, RoleBinding and token Secrets (ARGO_CRED_CLIENT)")
		switch cmd {
		case "provision":
			fs.Var(&listFlag{v: &o.Allow}, "allow", "RESOURCE:VERB[,VERB…] on argoproj.io, repeatable (default workflows:list,update)")
			fs.BoolVar(&o.DryRun, "dry-run", false, "print the objects as YAML and change nothing")
			fs.BoolVar(&o.PrintRBAC, "print-rbac", false, "print the ServiceAccount, RBAC and ClusterRole the identity that runs provision, rotate, revoke\nand clients needs (for a namespace dedicated to Argo clients), and exit")
			fs.BoolVar(&o.Adopt, "adopt", false, "take over a Role, ServiceAccount, RoleBinding or token Secret of the client's name that argo-cred did not make\n(its labels, and its rules or subjects, become argo-cred's); without it such objects are refused")
			// Its own variable: every command's flags share these options,
			// and a flag's definition sets its default.
			fs.StringVar(&o.provisionFormat, "format", "", "also print the settings, as env does: "+export.Alternatives())
		case "revoke":
			fs.BoolVar(&o.Purge, "purge", false, "also delete the client's Role, RoleBinding and ServiceAccount")
			fs.StringVar(&o.Binding, "binding", "", "revoke one bound token by deleting its per-run Secret (the bound token in ARGO_TOKEN proves it)")
			fs.DurationVar(&o.StaleBindings, "stale-bindings", 0, "revoke the --bind tokens of every run older than this, of any ServiceAccount, by deleting their per-run Secrets\n(runs that could not clean up: argo-cred and its guard killed, the CI machine switched off)")
		case "clients":
			fs.BoolVar(&o.Check, "check", false, "check each token against the Argo Server")
			fs.StringVarP(&o.Output, "output", "o", o.Output, "table (on stdout) or json")
		}
		fs.StringVar(&o.Namespace, "namespace", o.Namespace, "namespace of the client (ARGO_NAMESPACE); default: the kubeconfig's")
		fs.DurationVar(&o.Wait, "wait", o.Wait, "how long to wait for the token controller to fill a Secret (ARGO_CRED_WAIT)")
		fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG, ~/.kube/config, then in-cluster)")
		fs.StringVar(&o.Context, "context", o.Context, "kubeconfig context (ARGO_CRED_CONTEXT)")
		argoFlags(fs, o)
		fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "overall limit for each probe, retries included (ARGO_CRED_TIMEOUT)")
		fs.BoolVarP(&o.Verbose, "verbose", "v", o.Verbose, "verbose diagnostics on stderr; never the token (ARGO_CRED_VERBOSE)")
		return
	}
	fs.StringVar(&o.Source, "source", o.Source, "token source: secret, tokenrequest, file, env, github-oidc or oidc-env (ARGO_CRED_SOURCE); default: follows from the flags given")
	fs.StringVar(&o.Secret, "secret", o.Secret, "name of a kubernetes.io/service-account-token Secret (ARGO_CRED_SECRET)")
	fs.StringVar(&o.SecretNS, "secret-namespace", o.SecretNS, "namespace of the Secret or ServiceAccount (ARGO_CRED_SECRET_NAMESPACE); default: --namespace, then the kubeconfig's")
	fs.StringVar(&o.ServiceAccount, "service-account", o.ServiceAccount, "ServiceAccount to request a token for with the TokenRequest API (ARGO_CRED_SERVICE_ACCOUNT)")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "lifetime of a TokenRequest token (ARGO_CRED_DURATION)")
	fs.Var(&listFlag{v: &o.Audiences, split: true}, "audience", "audience of a TokenRequest token, repeatable or comma-separated; for github-oidc and oidc-env\nthe audience the OIDC token must be for (ARGO_CRED_AUDIENCE); default: the API server's, for github-oidc "+token.DefaultAudience)
	fs.StringVar(&o.TokenFile, "token-file", o.TokenFile, "file holding the token, e.g. a projected token, or a FIFO such as <(vault kv get …), read within --timeout (ARGO_CRED_TOKEN_FILE)")
	fs.StringVar(&o.OIDCEnv, "oidc-env", o.OIDCEnv, "environment variable holding a CI OIDC ID token, e.g. GitLab's id_tokens (ARGO_CRED_OIDC_ENV)")
	fs.DurationVar(&o.MinLifetime, "min-lifetime", o.MinLifetime, "an OIDC token with less time left is refused before any request (ARGO_CRED_MIN_LIFETIME)")
	fs.DurationVar(&o.Wait, "wait", o.Wait, "how long to wait for the token controller to fill a Secret (ARGO_CRED_WAIT)")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG, ~/.kube/config, then in-cluster)")
	fs.StringVar(&o.Context, "context", o.Context, "kubeconfig context (ARGO_CRED_CONTEXT)")

	fs.StringVar(&o.Namespace, "namespace", o.Namespace, "namespace to check and export (ARGO_NAMESPACE); default: the token's")
	argoFlags(fs, o)
	fs.Var(&listFlag{v: &o.Expect, split: true}, "expect", "allow:RESOURCE/VERB or deny:RESOURCE/VERB, repeatable or comma-separated (ARGO_CRED_EXPECT);\nVERB is list (any resource) or create (workflows only, a server-side dry run that creates nothing);\nadded to the defaults allow:workflows/list,deny:workflowtemplates/list, replacing one only for the same RESOURCE/VERB")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "overall limit for the probe, retries included (ARGO_CRED_TIMEOUT)")
	fs.BoolVar(&o.SkipIdentityCheck, "skip-identity-check", o.SkipIdentityCheck, "accept a token whose identity cannot be checked: it has no subject (not a JWT) and the server reports none;\na server that reports another identity still fails (ARGO_CRED_SKIP_IDENTITY_CHECK)")
	fs.BoolVarP(&o.Verbose, "verbose", "v", o.Verbose, "verbose diagnostics on stderr; never the token (ARGO_CRED_VERBOSE)")
	if cmd == "env" || cmd == "exec" || cmd == "docker" {
		fs.BoolVar(&o.Probe, "probe", o.Probe, "probe the Argo Server first (ARGO_CRED_PROBE)")
		fs.BoolVar(&o.Bind, "bind", o.Bind, "with --source tokenrequest: bind the token to a per-run Secret, deleted when the job ends (exec, docker)\nor by argo-cred revoke --binding (env), which revokes it (ARGO_CRED_BIND)")
	}
	commandFlags(fs, o, cmd)
}

// argoFlags are the Argo Server's settings.
func argoFlags(fs *pflag.FlagSet, o *options) {
	fs.StringVar(&o.Server, "server", o.Server, "Argo Server host:port; http:// or https:// sets --secure (ARGO_SERVER)")
	fs.BoolVar((*bool)(&o.HTTP1), "http1", bool(o.HTTP1), "use HTTP/1 instead of gRPC (ARGO_HTTP1, true only if exactly \"true\")")
	fs.BoolVar((*bool)(&o.Secure), "secure", bool(o.Secure), "use TLS (ARGO_SECURE, true unless exactly \"false\")")
	fs.BoolVar((*bool)(&o.InsecureSkipVerify), "insecure-skip-verify", bool(o.InsecureSkipVerify), "do not verify the server's certificate (ARGO_INSECURE_SKIP_VERIFY, true only if exactly \"true\")")
	fs.StringVar(&o.BaseHRef, "base-href", o.BaseHRef, "path prefix behind an ingress, HTTP/1 only (ARGO_BASE_HREF)")
	fs.Var(&listFlag{v: &o.Headers}, "header", "extra HTTP header \"Name: value\", HTTP/1 only, repeatable")
	fs.StringVar(&o.CAFile, "ca-file", o.CAFile, "PEM CA certificates to verify the server with; exported as SSL_CERT_FILE naming a bundle of the system roots and these (ARGO_CRED_CA_FILE)")
}

// commandFlags are the flags of one command only.
func commandFlags(fs *pflag.FlagSet, o *options, cmd string) {
	switch cmd {
	case "env":
		fs.StringVar(&o.Format, "format", o.Format, export.Alternatives()+" (ARGO_CRED_FORMAT)")
		fs.StringVar(&o.OutputFile, "output-file", o.OutputFile, "write to this file (mode 0600, atomically) instead of stdout (ARGO_CRED_OUTPUT_FILE)")
	case "docker":
		if o.Image == "" {
			o.Image = docker.DefaultImage()
		}
		fs.StringVar(&o.Image, "image", o.Image, "the argo CLI image to run (ARGO_CRED_IMAGE)")
		fs.StringVar(&o.Network, "network", o.Network, "docker run --network, e.g. host for an Argo Server on this machine's loopback (ARGO_CRED_DOCKER_NETWORK)")
		fs.Var(&listFlag{v: &o.DockerMounts}, "mount", "a directory of this host to mount read-only at the same path, for files outside the working directory;\nrepeatable (ARGO_CRED_DOCKER_MOUNT: comma-separated)")
		fs.Var(&listFlag{v: &o.DockerArgs}, "docker-arg", "one more docker run argument before the image, repeatable (e.g. --docker-arg=--add-host=argo:10.0.0.1;\n--docker-arg=--user=UID:GID replaces the caller's uid:gid)")
	case "probe":
		fs.StringVarP(&o.Output, "output", "o", o.Output, "table (on stderr) or json (on stdout) (ARGO_CRED_OUTPUT)")
	}
}
