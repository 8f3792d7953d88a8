// Package env assembles the ARGO_* settings the argo CLI reads, parsing each
// value exactly as the argo CLI does (cmd/argo/commands/client/conn.go), so
// that what argo-cred validates is what argo will do.
package env

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

// ExactTrue is an argo boolean that is true only when set to exactly "true"
// (ARGO_HTTP1, ARGO_INSECURE_SKIP_VERIFY). It decodes with envconfig.
type ExactTrue bool

// Decode implements envconfig.Decoder.
func (b *ExactTrue) Decode(v string) error { *b = v == "true"; return nil }

// NotFalse is an argo boolean that is true unless set to exactly "false"
// (ARGO_SECURE). It decodes with envconfig.
type NotFalse bool

// Decode implements envconfig.Decoder.
func (b *NotFalse) Decode(v string) error { *b = v != "false"; return nil }

// Settings are what an argo CLI needs to reach the Argo Server with a token.
type Settings struct {
	Server             string // host:port, no scheme
	Authorization      string // the whole Authorization value, "Bearer …"
	HTTP1              bool
	Secure             bool
	InsecureSkipVerify bool
	Namespace          string
	BaseHRef           string
	CAFile             string // the CA that verifies the Argo Server
	CABundle           string // exported as SSL_CERT_FILE, which Go's TLS (and so argo) reads: the roots plus CAFile
	// Unset are variables of the caller's environment that a command must
	// not get (behind the relay: --oidc-env's, which holds the real token).
	Unset []string
}

// Var is one exported variable.
type Var struct {
	Name, Value string
	Secret      bool
}

// Vars returns the variables to export, in a stable order.
func (s Settings) Vars() []Var {
	vars := []Var{
		{Name: "ARGO_SERVER", Value: s.Server},
		{Name: "ARGO_TOKEN", Value: s.Authorization, Secret: true},
		{Name: "ARGO_HTTP1", Value: strconv.FormatBool(s.HTTP1)},
		{Name: "ARGO_SECURE", Value: strconv.FormatBool(s.Secure)},
		{Name: "ARGO_INSECURE_SKIP_VERIFY", Value: strconv.FormatBool(s.InsecureSkipVerify)},
		{Name: "ARGO_NAMESPACE", Value: s.Namespace},
	}
	if s.BaseHRef != "" {
		vars = append(vars, Var{Name: "ARGO_BASE_HREF", Value: s.BaseHRef})
	}
	if s.CABundle != "" {
		vars = append(vars, Var{Name: "SSL_CERT_FILE", Value: s.CABundle})
	}
	// No KUBECONFIG: with ARGO_SERVER, ARGO_TOKEN and ARGO_NAMESPACE set the
	// argo CLI never loads a kubeconfig (cmd/argo/commands/client/conn.go),
	// and KUBECONFIG=/dev/null would break kubectl for the rest of the job.
	return vars
}

// Server is a parsed ARGO_SERVER.
type Server struct {
	HostPort string
	Secure   *bool  // set when a scheme said so
	Note     string // what was changed, for the user
}

// ParseServer accepts host:port, [v6]:port, or http(s)://host[:port] with
// an optional trailing slash; a URL without a port means the scheme's (443
// or 80). The scheme is removed (argo's gRPC dialer cannot take one) and
// reported as Secure. A path, a missing port in host:port form, or anything
// else is a usage error.
func ParseServer(s string) (Server, error) {
	in := s
	bad := func(why string) (Server, error) {
		return Server{}, exitcode.New(exitcode.Usage,
			"give host:port, e.g. --server argo.example.com:2746 or ARGO_SERVER=127.0.0.1:2746",
			"invalid argo server %q: %s", in, why)
	}
	if s == "" {
		return Server{}, exitcode.New(exitcode.Usage, "set --server or ARGO_SERVER to the Argo Server's host:port", "no argo server given")
	}
	if strings.ContainsAny(s, " \t\r\n\x00") {
		return bad("contains white space or control characters")
	}
	var out Server
	if i := strings.Index(s, "://"); i >= 0 {
		u, err := url.Parse(s)
		if err != nil {
			return bad(err.Error())
		}
		var secure bool
		switch u.Scheme {
		case "https":
			secure = true
		case "http":
		default:
			return bad("scheme must be http or https")
		}
		if u.Path != "" && u.Path != "/" {
			return bad("a path is not allowed (use --base-href for a path prefix)")
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return bad("only scheme, host and port are allowed")
		}
		out.Secure = &secure
		host := u.Host
		if u.Port() == "" && u.Hostname() != "" && !strings.HasSuffix(host, ":") {
			// As an ingress URL is usually given: the scheme's port.
			host = net.JoinHostPort(u.Hostname(), map[bool]string{true: "443", false: "80"}[secure])
		}
		out.Note = fmt.Sprintf("ARGO_SERVER given as a URL: using %s with ARGO_SECURE=%t", host, secure)
		s = host
	} else if strings.ContainsAny(s, "/?#") {
		return bad("a path is not allowed (use --base-href for a path prefix)")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return bad("want host:port")
	}
	if host == "" || strings.ContainsAny(host, "/?#@") {
		return bad("bad host")
	}
	for _, r := range host {
		if r > 0x7e {
			return bad("the host is not ASCII: give its punycode form (xn--…)")
		}
	}
	if len(host) > 253 {
		return bad("the host is longer than 253 characters")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return bad("port must be a number from 1 to 65535")
	}
	out.HostPort = s
	return out, nil
}

// ParseBaseHRef checks a path prefix such as /argo.
func ParseBaseHRef(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, " \t\r\n\x00?#") {
		return "", exitcode.New(exitcode.Usage, "give a path such as /argo", "invalid base href %q", s)
	}
	return strings.TrimSuffix(s, "/"), nil
}
