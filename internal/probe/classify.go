package probe

// How a failed call is classified: retried or not, and which exit code
// and hint it gets.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

// retryable tells whether a failed call may succeed when tried again.
func retryable(err error) bool {
	var na *notArgoError
	if isTLS(err.Error()) || errors.As(err, &na) {
		return false
	}
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.Unavailable, codes.ResourceExhausted:
			return true
		}
		return false
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// What Go's TLS stack and HTTP client say when TLS is one-sided, and when a
// certificate is not trusted.
var (
	notTLS        = []string{"first record does not look like a TLS handshake", "server gave HTTP response to HTTPS client"}
	wantsTLS      = []string{"HTTP request to an HTTPS server", "malformed HTTP response", "frame too large"}
	untrustedCert = []string{"x509:", "certificate"}
)

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// isTLS tells TLS failures, which retrying cannot fix, from others.
func isTLS(msg string) bool {
	return strings.Contains(msg, "tls:") || containsAny(msg, untrustedCert) || containsAny(msg, notTLS)
}

// classify turns a failed call into an exit-coded error.
func classify(c Check, err error) error {
	code := status.Code(err)
	var na *notArgoError
	if errors.As(err, &na) {
		return exitcode.New(exitcode.Unreachable,
			"ARGO_SERVER must name the Argo Server itself: check ARGO_SERVER, ARGO_SECURE and ARGO_BASE_HREF (a login page or ingress may answer instead); argo-cred follows no redirects",
			"%s: not an Argo API answer: %s", c.Name, c.Message)
	}
	if _, ok := status.FromError(err); !ok {
		if strings.Contains(c.Message, "invalid character") {
			return exitcode.New(exitcode.Unreachable,
				"something other than the Argo API answered (a web page?): check ARGO_BASE_HREF and whether an ingress or login page is in front",
				"%s: the answer is not JSON: %s", c.Name, c.Message)
		}
		code = codes.Unavailable
	}
	switch code {
	case codes.Unauthenticated:
		return exitcode.New(exitcode.TokenRejected,
			"the token is invalid, expired or revoked (its Secret deleted?); get a new one",
			"%s: the argo server rejected the token (401): %s", c.Name, c.Message)
	case codes.PermissionDenied:
		return exitcode.New(exitcode.MissingAccess, "grant the token's service account the access it needs",
			"%s: permission denied (403): %s", c.Name, c.Message)
	case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded, codes.Canceled:
		return exitcode.New(exitcode.Unreachable, transportHint(c.Message),
			"%s: argo server unavailable (%s): %s", c.Name, attempts(c.Attempts), c.Message)
	case codes.Internal, codes.Unknown:
		if notAPIAnswer(c.Message) {
			return exitcode.New(exitcode.Unreachable, "check ARGO_SERVER, ARGO_SECURE and ARGO_BASE_HREF; an ingress may be answering instead of the Argo Server",
				"%s: HTTP %d that is not an Argo API answer", c.Name, c.HTTPStatus)
		}
		if c.HTTPStatus >= 500 || c.HTTPStatus == 0 {
			return exitcode.New(exitcode.Unreachable, "the Argo Server or a proxy in front of it failed; check its logs",
				"%s: argo server error: %s", c.Name, c.Message)
		}
	}
	return exitcode.New(exitcode.Unexpected, "", "%s: unexpected answer (%s): %s", c.Name, code, c.Message)
}

// unreachable explains a failed first call. Its diagnostic requests never
// carry the token or a --header value and never weaken TLS: it reads Go's
// own TLS errors, tries a bare TLS handshake (no request) where the user
// chose plain HTTP, and asks for /api/v1/version over HTTP/1 with the
// user's own TLS settings, without credentials, to tell an HTTP/1-only
// proxy from a dead server.
func unreachable(ctx context.Context, cfg Config, c Check, err error) error {
	e := classify(c, err)
	if exitcode.Of(e) != exitcode.Unreachable || ctx.Err() != nil {
		return e
	}
	msg := err.Error()
	switch {
	case cfg.Secure && containsAny(msg, notTLS):
		return rehint(e, "the server speaks plain HTTP: set ARGO_SECURE=false (--secure=false)")
	case !cfg.Secure && speaksTLS(ctx, cfg.Server):
		return rehint(e, "the server speaks TLS: set ARGO_SECURE=true (--secure)")
	case !cfg.HTTP1 && !isTLS(msg) && answersHTTP1(ctx, cfg):
		return rehint(e, "the server answers HTTP/1 but not gRPC (an HTTP/1-only proxy or load balancer?): set ARGO_HTTP1=true (--http1)")
	}
	return e
}

func rehint(err error, hint string) error {
	var e *exitcode.Error
	if errors.As(err, &e) {
		return &exitcode.Error{Code: e.Code, Err: e.Err, Hint: hint}
	}
	return err
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

func transportHint(msg string) string {
	switch {
	case containsAny(msg, notTLS):
		return "the server does not speak TLS: set ARGO_SECURE=false (--secure=false)"
	case strings.Contains(msg, "looked like an HTTP/1.1 header"):
		return "an HTTP/1 server answered, not gRPC: if it is an HTTP/1-only proxy in front of the Argo Server set ARGO_HTTP1=true (--http1), otherwise check ARGO_SERVER"
	case containsAny(msg, untrustedCert):
		return "the server's certificate is not trusted: pass --ca-file with the CA that signed it (or, for a test server only, --insecure-skip-verify)"
	case containsAny(msg, wantsTLS):
		return "the server speaks TLS: set ARGO_SECURE=true (--secure)"
	case strings.Contains(msg, "no such host"):
		return "check the host name in ARGO_SERVER"
	case strings.Contains(msg, "connection refused"):
		return "nothing listens there: check ARGO_SERVER's host and port, and that the Argo Server runs"
	}
	return "check ARGO_SERVER, ARGO_SECURE and that the Argo Server runs; retry later if it is overloaded"
}
