package credential

import (
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/token"
)

// The settings of a credential as flags and environment variables, in
// groups a command embeds in its options (as kubectl's genericclioptions):
// the envconfig tags name each group's variables, AddFlags defines its
// flags with the current values (the environment's) as defaults.

// SourceFlags say where the token comes from.
type SourceFlags struct {
	Source         string        `envconfig:"ARGO_CRED_SOURCE"`
	Secret         string        `envconfig:"ARGO_CRED_SECRET"`
	Client         string        `envconfig:"ARGO_CRED_CLIENT"`
	SecretNS       string        `envconfig:"ARGO_CRED_SECRET_NAMESPACE"`
	ServiceAccount string        `envconfig:"ARGO_CRED_SERVICE_ACCOUNT"`
	Duration       time.Duration `envconfig:"ARGO_CRED_DURATION" default:"1h"`
	Audiences      []string      `envconfig:"ARGO_CRED_AUDIENCE"`
	TokenFile      string        `envconfig:"ARGO_CRED_TOKEN_FILE"`
	OIDCEnv        string        `envconfig:"ARGO_CRED_OIDC_ENV"`
	MinLifetime    time.Duration `envconfig:"ARGO_CRED_MIN_LIFETIME" default:"60s"`
}

// KubeFlags are how Kubernetes is reached.
type KubeFlags struct {
	Kubeconfig string        `ignored:"true"` // KUBECONFIG is client-go's to read
	Context    string        `envconfig:"ARGO_CRED_CONTEXT"`
	Wait       time.Duration `envconfig:"ARGO_CRED_WAIT" default:"30s"`
}

// ArgoFlags are the Argo Server's settings, parsed as the argo CLI parses them.
type ArgoFlags struct {
	Server             string        `envconfig:"ARGO_SERVER"`
	Namespace          string        `envconfig:"ARGO_NAMESPACE"`
	HTTP1              env.ExactTrue `envconfig:"ARGO_HTTP1"`
	Secure             env.NotFalse  `envconfig:"ARGO_SECURE" default:"true"`
	InsecureSkipVerify env.ExactTrue `envconfig:"ARGO_INSECURE_SKIP_VERIFY"`
	BaseHRef           string        `envconfig:"ARGO_BASE_HREF"`
	Headers            []string      `ignored:"true"`
	CAFile             string        `envconfig:"ARGO_CRED_CA_FILE"`
}

// CheckFlags say what the probe checks.
type CheckFlags struct {
	Probe             bool          `envconfig:"ARGO_CRED_PROBE" default:"true"`
	Expect            []string      `envconfig:"ARGO_CRED_EXPECT"`
	For               []string      `envconfig:"ARGO_CRED_FOR"`
	Timeout           time.Duration `envconfig:"ARGO_CRED_TIMEOUT" default:"30s"`
	SkipIdentityCheck bool          `envconfig:"ARGO_CRED_SKIP_IDENTITY_CHECK"`
	Strict            bool          `envconfig:"ARGO_CRED_STRICT"`
}

// AddFlags defines the source flags.
func (s *SourceFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&s.Source, "source", s.Source, "token source: "+Names()+" (ARGO_CRED_SOURCE); default: follows from the flags given")
	fs.StringVar(&s.Secret, "secret", s.Secret, "name of a kubernetes.io/service-account-token Secret (ARGO_CRED_SECRET)")
	fs.StringVar(&s.Client, "client", s.Client, "a client argo-cred provisioned: read its current token from Secret NAME-token-current, which rotate\nupdates (get on that one name only) (ARGO_CRED_CLIENT)")
	fs.StringVar(&s.SecretNS, "secret-namespace", s.SecretNS, "namespace of the Secret, client or ServiceAccount (ARGO_CRED_SECRET_NAMESPACE); default: --namespace, then the kubeconfig's")
	fs.StringVar(&s.ServiceAccount, "service-account", s.ServiceAccount, "ServiceAccount to request a token for with the TokenRequest API (ARGO_CRED_SERVICE_ACCOUNT)")
	fs.DurationVar(&s.Duration, "duration", s.Duration, "lifetime of a TokenRequest token (ARGO_CRED_DURATION)")
	fs.Var(&ListFlag{V: &s.Audiences, Split: true}, "audience", "audience of a TokenRequest token, repeatable or comma-separated; for github-oidc and oidc-env\nthe audience the OIDC token must be for (ARGO_CRED_AUDIENCE); default: the API server's, for github-oidc "+token.DefaultAudience)
	fs.StringVar(&s.TokenFile, "token-file", s.TokenFile, "file holding the token, e.g. a projected token, or a FIFO such as <(vault kv get …), read within --timeout (ARGO_CRED_TOKEN_FILE)")
	fs.StringVar(&s.OIDCEnv, "oidc-env", s.OIDCEnv, "environment variable holding a CI OIDC ID token, e.g. GitLab's id_tokens (ARGO_CRED_OIDC_ENV)")
	fs.DurationVar(&s.MinLifetime, "min-lifetime", s.MinLifetime, "an OIDC token with less time left is refused before any request (ARGO_CRED_MIN_LIFETIME)")
}

// AddFlags defines the Kubernetes flags.
func (k *KubeFlags) AddFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&k.Wait, "wait", k.Wait, "how long to wait for the token controller to fill a Secret (ARGO_CRED_WAIT)")
	fs.StringVar(&k.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG, ~/.kube/config, then in-cluster)")
	fs.StringVar(&k.Context, "context", k.Context, "kubeconfig context (ARGO_CRED_CONTEXT)")
}

// AddFlags defines the Argo Server flags but --namespace, which each
// command defines with what it is for.
func (g *ArgoFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&g.Server, "server", g.Server, "Argo Server host:port; http:// or https:// sets --secure (ARGO_SERVER)")
	fs.BoolVar((*bool)(&g.HTTP1), "http1", bool(g.HTTP1), "use HTTP/1 instead of gRPC (ARGO_HTTP1, true only if exactly \"true\")")
	fs.BoolVar((*bool)(&g.Secure), "secure", bool(g.Secure), "use TLS (ARGO_SECURE, true unless exactly \"false\")")
	fs.BoolVar((*bool)(&g.InsecureSkipVerify), "insecure-skip-verify", bool(g.InsecureSkipVerify), "do not verify the server's certificate (ARGO_INSECURE_SKIP_VERIFY, true only if exactly \"true\")")
	fs.StringVar(&g.BaseHRef, "base-href", g.BaseHRef, "path prefix behind an ingress, HTTP/1 only (ARGO_BASE_HREF)")
	fs.Var(&ListFlag{V: &g.Headers}, "header", "extra HTTP header \"Name: value\", HTTP/1 only, repeatable")
	fs.StringVar(&g.CAFile, "ca-file", g.CAFile, "PEM CA certificates to verify the server with; exported as SSL_CERT_FILE naming a bundle of the system roots and these (ARGO_CRED_CA_FILE)")
}

// AddFlags defines the checks' flags but --probe, which only commands
// that hand the credential on have.
func (c *CheckFlags) AddFlags(fs *pflag.FlagSet) {
	fs.Var(&ListFlag{V: &c.Expect, Split: true}, "expect", "allow:RESOURCE/VERB or deny:RESOURCE/VERB, repeatable or comma-separated (ARGO_CRED_EXPECT);\nthe Argo API probes list (any resource), get (workflows, cronworkflows: a name that cannot exist), watch\n(workflows: a selector that matches nothing) and create (workflows: a server-side dry run that creates nothing);\nother verbs are asked of the cluster (see --strict); added to the defaults\nallow:workflows/list,deny:workflowtemplates/list, replacing one only for the same RESOURCE/VERB")
	fs.Var(&ListFlag{V: &c.For, Split: true}, "for", "PROFILE[,PROFILE…]: check what these job profiles need instead of the defaults, e.g. submit,wait (ARGO_CRED_FOR;\ndocs/profiles.md); --expect still adds to them")
	fs.BoolVar(&c.Strict, "strict", c.Strict, "fail (exit 6) when a verb is not checked: the Argo API cannot probe delete, patch, update and\nthe like without side effects, so the cluster is asked (a SelfSubjectAccessReview with the token) when the\ntoken was read from it, --kubeconfig names it, or it is this pod's and issued the token; otherwise they are\nreported not checked (ARGO_CRED_STRICT)")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "overall limit for the probe, retries included (ARGO_CRED_TIMEOUT)")
	fs.BoolVar(&c.SkipIdentityCheck, "skip-identity-check", c.SkipIdentityCheck, "accept a token whose identity cannot be checked: it has no subject (not a JWT) and the server reports none;\na server that reports another identity still fails (ARGO_CRED_SKIP_IDENTITY_CHECK)")
}

// ListFlag is a repeatable flag; the first use replaces the value from the
// environment, later uses append. With Split, each use may also be a
// comma-separated list, as the environment variable is.
type ListFlag struct {
	V     *[]string
	Split bool
	fresh bool
}

func (l *ListFlag) String() string {
	if l.V == nil {
		return ""
	}
	return strings.Join(*l.V, ",")
}

// Set adds one use's value.
func (l *ListFlag) Set(s string) error {
	if !l.fresh {
		*l.V, l.fresh = nil, true
	}
	if !l.Split {
		*l.V = append(*l.V, s)
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l.V = append(*l.V, part)
		}
	}
	return nil
}

// Type is the flag's type in help.
func (l *ListFlag) Type() string { return "list" }
