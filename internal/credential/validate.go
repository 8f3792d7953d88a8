package credential

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/probe"
)

// Validate checks everything that needs no network, so that a typo fails
// before any token is read, and returns the settings and expectations.
func Validate(r *Request) (env.Settings, []probe.Expectation, error) {
	s, err := settings(r)
	if err != nil {
		return s, nil, err
	}
	var user []probe.Expectation
	for _, e := range r.Expect {
		x, err := probe.ParseExpectation(e)
		if err != nil {
			return s, nil, err
		}
		user = append(user, x)
	}
	base, err := forProfiles(r)
	if err != nil {
		return s, nil, err
	}
	expect, replaced := probe.Merge(base, user)
	for _, x := range replaced {
		if r.QuietExpect {
			break
		}
		what := "the default least-privilege check"
		if len(r.For) > 0 {
			what = "--for's check"
		}
		r.note(fmt.Sprintf("note: --expect replaces %s %s", what, x))
	}
	for _, n := range []struct {
		flag, value string
		check       func(string) []string
	}{
		{"--namespace", r.Namespace, validation.IsDNS1123Label},
		{"--secret-namespace", r.SecretNS, validation.IsDNS1123Label},
		{"--secret", r.Secret, validation.IsDNS1123Subdomain},
		{"--client", r.Client, validation.IsDNS1123Label},
		{"--service-account", r.ServiceAccount, validation.IsDNS1123Subdomain},
	} {
		if n.value != "" && len(n.check(n.value)) > 0 {
			return s, nil, exitcode.New(exitcode.Usage, "use a Kubernetes name: lower-case letters, digits and '-'",
				"invalid %s %q: not a Kubernetes name", n.flag, n.value)
		}
	}
	if r.Secret != "" && r.ServiceAccount != "" {
		return s, nil, exitcode.New(exitcode.Usage, "give one: --secret reads a token Secret, --service-account requests a new token", "--secret and --service-account both given")
	}
	if err := clientClash(r); err != nil {
		return s, nil, err
	}
	if (r.ServiceAccount != "" || r.Source == "tokenrequest") && r.Duration < 10*time.Minute {
		return s, nil, exitcode.New(exitcode.Usage, "the TokenRequest API issues tokens of at least 10m", "--duration %s is under the minimum of 10m", r.Duration)
	}
	if r.Timeout <= 0 || r.Wait < 0 {
		return s, nil, exitcode.New(exitcode.Usage, "", "--timeout must be positive and --wait not negative")
	}
	return s, expect, nil
}

// settings checks the Argo Server settings, noting what argo reads
// otherwise than one would think.
func settings(r *Request) (env.Settings, error) {
	var s env.Settings
	srv, err := env.ParseServer(r.Server)
	if err != nil {
		return s, err
	}
	s.Server, s.Secure = srv.HostPort, bool(r.Secure)
	if srv.Secure != nil {
		if r.SecureGiven && bool(r.Secure) != *srv.Secure {
			return s, exitcode.New(exitcode.Usage, "drop --secure or the scheme", "--secure=%t contradicts the scheme of --server %q", bool(r.Secure), r.Server)
		}
		s.Secure = *srv.Secure
		r.note("note: " + srv.Note)
	}
	if !s.Secure && !IsLoopback(s.Server) {
		r.note(fmt.Sprintf("warning: plain HTTP (ARGO_SECURE=false): the token goes to %s in clear text, readable and reusable by anyone on the path; use TLS outside a network you trust", s.Server))
	}
	if s.BaseHRef, err = env.ParseBaseHRef(r.BaseHRef); err != nil {
		return s, err
	}
	s.HTTP1, s.InsecureSkipVerify, s.CAFile = bool(r.HTTP1), bool(r.InsecureSkipVerify), r.CAFile
	if s.CAFile != "" {
		// Exported as SSL_CERT_FILE: absolute, so it holds in another directory.
		if s.CAFile, err = filepath.Abs(s.CAFile); err != nil {
			return s, exitcode.Wrap(exitcode.Usage, "", fmt.Errorf("resolving --ca-file: %w", err))
		}
		if _, err := probe.LoadCA(s.CAFile); err != nil {
			return s, err
		}
	}
	for _, name := range []string{"ARGO_HTTP1", "ARGO_INSECURE_SKIP_VERIFY"} {
		if v := r.getenv(name); v != "" && v != "true" && v != "false" {
			r.note(fmt.Sprintf("note: %s=%q counts as false: argo reads only exactly \"true\" as true", name, v))
		}
	}
	if v := r.getenv("ARGO_SECURE"); v != "" && v != "true" && v != "false" {
		r.note(fmt.Sprintf("note: ARGO_SECURE=%q counts as true: argo reads only exactly \"false\" as false", v))
	}
	if r.getenv("ARGO_INSTANCEID") != "" {
		r.note("warning: ARGO_INSTANCEID is set: the argo CLI refuses it together with ARGO_SERVER; unset it where argo runs")
	}
	if len(r.Headers) > 0 && !s.HTTP1 {
		return s, exitcode.New(exitcode.Usage, "add --http1 (ARGO_HTTP1=true)", "--header works only with HTTP/1, as in the argo CLI")
	}
	if s.BaseHRef != "" && !s.HTTP1 {
		return s, exitcode.New(exitcode.Usage, "add --http1 (ARGO_HTTP1=true): behind an ingress with a path prefix only HTTP/1 works",
			"--base-href (ARGO_BASE_HREF) works only with HTTP/1; argo's gRPC client ignores it")
	}
	return s, nil
}

// IsLoopback tells whether host:port names this machine's loopback.
func IsLoopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		host = hostPort
	}
	return host == "localhost" || net.ParseIP(strings.Trim(host, "[]")).IsLoopback()
}

// ValidNamespace tells whether s can name a namespace (a DNS label).
func ValidNamespace(s string) bool { return len(validation.IsDNS1123Label(s)) == 0 }

// clientClash refuses --client with another token source: --client reads
// the client's current token Secret, whichever it is.
func clientClash(r *Request) error {
	if r.Client == "" {
		return nil
	}
	source := r.Source
	if source == "client" {
		source = ""
	}
	for _, other := range []struct{ flag, value string }{{"--secret", r.Secret}, {"--service-account", r.ServiceAccount},
		{"--token-file", r.TokenFile}, {"--oidc-env", r.OIDCEnv}, {"--source", source}} {
		if other.value != "" {
			return exitcode.New(exitcode.Usage, "give one: --client reads the client's current token, whichever token Secret holds it",
				"--client and %s both given", other.flag)
		}
	}
	return nil
}
