// Package probe proves what a credential can do on a real Argo Server:
// that the server is reachable, that requests run as the token's own
// identity, and that each expectation holds (what must be allowed is, what
// must be denied is).
package probe

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	infopkg "github.com/argoproj/argo-workflows/v3/pkg/apiclient/info"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/redact"
)

// Config is what to probe and how; the fields mirror the ARGO_* settings.
type Config struct {
	Server             string // host:port
	Secure             bool
	InsecureSkipVerify bool
	CAFile             string
	HTTP1              bool
	BaseHRef           string
	Headers            []string
	Authorization      string // sent as is
	Namespace          string
	Subject            string // the token's own subject, "" when it has none
	// SkipIdentityCheck accepts a token whose identity cannot be checked (it
	// has no subject and the server reports none). A server that reports
	// another identity fails all the same.
	SkipIdentityCheck bool
	Expect            []Expectation
	// Review, when set, asks the cluster about the expectations the Argo
	// API cannot probe; without it they are reported not checked.
	Review Reviewer
	// Strict fails the probe (exit 6) when an expectation is not checked.
	Strict    bool
	Attempts  int // tries per call for retryable failures; 0 means 4
	UserAgent string
}

// Report is the verdict. It never contains the token, and every text in it
// that the server supplied is redacted and cleaned (package redact).
type Report struct {
	Server        string  `json:"server"`
	Transport     string  `json:"transport"`
	Secure        bool    `json:"secure"`
	Namespace     string  `json:"namespace"`
	ServerVersion string  `json:"serverVersion,omitempty"`
	Checks        []Check `json:"checks"`
	OK            bool    `json:"ok"`
	ExitCode      int     `json:"exitCode"`
	Error         string  `json:"error,omitempty"`
	Hint          string  `json:"hint,omitempty"`
}

// Check is one call and what came of it.
type Check struct {
	Name       string  `json:"name"`
	Expected   string  `json:"expected"`
	Actual     string  `json:"actual"`
	OK         bool    `json:"ok"`
	GRPCCode   string  `json:"grpcCode,omitempty"`
	HTTPStatus int     `json:"httpStatus,omitempty"`
	LatencyMS  float64 `json:"latencyMs"`
	Attempts   int     `json:"attempts"`
	Message    string  `json:"message,omitempty"`
	// Via is how an expectation the Argo API cannot probe was checked:
	// "selfsubjectaccessreview", or "none" (Actual is "not checked").
	Via string `json:"via,omitempty"`
}

// Run probes the server. The error, classified with an exit code, is that of
// the first failed check; the report is filled in either way.
func Run(ctx context.Context, cfg Config) (Report, error) {
	r := Report{Server: cfg.Server, Transport: "grpc", Secure: cfg.Secure, Namespace: cfg.Namespace}
	if cfg.HTTP1 {
		r.Transport = "http1"
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 4
	}
	err := run(ctx, cfg, &r)
	r.OK, r.ExitCode = err == nil, int(exitcode.Of(err))
	if err != nil {
		r.Error, r.Hint = err.Error(), exitcode.Hint(err)
	}
	return r, err
}

// NotChecked is a check's actual value when it was not made: the identity
// of a token the user accepted as is, or an expectation the Argo API cannot
// probe and the cluster was not asked about.
const NotChecked = "not checked"

// probeCall is one call of the probe; result is its outcome.
type probeCall struct {
	name, expected string
	fn             func(context.Context) error
}

type result struct {
	c   Check
	err error
}

func run(ctx context.Context, cfg Config, r *Report) error {
	cl, err := connect(cfg)
	if err != nil {
		return err
	}
	defer cl.close()

	// Every call goes out at once; the answers are judged in order:
	// reachability and identity (both from /api/v1/userinfo, which the
	// server answers without calling Kubernetes), then each expectation.
	var who *infopkg.GetUserInfoResponse
	calls := []probeCall{{"identity", orUnknown(cfg.Subject), func(ctx context.Context) error {
		var md metadata.MD
		var err error
		who, err = cl.info.GetUserInfo(ctx, &infopkg.GetUserInfoRequest{}, grpc.Header(&md))
		r.ServerVersion = cl.red.Text(serverVersion(ctx, md))
		return err
	}}}
	for _, e := range cfg.Expect {
		calls = append(calls, probeCall{e.Name(), verdict(e.Allow), do(cl, e, cfg.Namespace)})
	}
	results := make([]result, len(calls))
	var wg sync.WaitGroup
	for i, pc := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if e := cfg.Expect[max(i-1, 0)]; i > 0 && !Checkable(e.Resource, e.Verb) {
				results[i] = review(ctx, cfg, cl.red, e)
				return
			}
			results[i].c, results[i].err = call(ctx, cfg, cl, pc)
		}()
	}
	wg.Wait()

	id := results[0]
	reach := reachability(id)
	r.Checks = append(r.Checks, reach)
	if ssoOnly(cfg, id) {
		// The gatekeeper answers before the version header is set.
		c := id.c
		c.Actual = "rejected (401): the server takes no bearer token (sso auth mode only)"
		r.Checks = append(r.Checks, c)
		return exitcode.New(exitcode.TokenRejected,
			"CI tokens need client in the Argo Server's --auth-mode: run it with --auth-mode sso --auth-mode client (the UI keeps its SSO login), or point ARGO_SERVER at an Argo Server that has client mode",
			"%s: the argo server answered %s to the bearer token, as an Argo Server whose --auth-mode is sso alone answers every bearer token", c.Name, what(c))
	}
	// Every answer of an Argo Server to a request with a token carries its
	// version; a kube-apiserver's 403 or a web server's 404 does not (a
	// proxy's 5xx or 429 is judged as unavailability).
	answered := reach.OK || (id.c.HTTPStatus != 0 && id.c.HTTPStatus < 500 && id.c.HTTPStatus != 429)
	if answered && r.ServerVersion == "" {
		r.Reach().OK, r.Reach().Actual = false, "not an Argo Server"
		if !cfg.Secure && speaksTLS(ctx, cfg.Server) {
			// A TLS server's own answer to plain HTTP.
			return exitcode.New(exitcode.Unreachable, "the server speaks TLS: set ARGO_SECURE=true (--secure)",
				"%s: HTTP %d to a plain HTTP request", r.Reach().Name, id.c.HTTPStatus)
		}
		return exitcode.New(exitcode.Unreachable,
			"point ARGO_SERVER at the Argo Server (port 2746 unless changed), and behind an ingress set ARGO_BASE_HREF and ARGO_HTTP1",
			"%s is not an Argo Server: it answered %s without the argo-version header every Argo Server answer carries", cfg.Server, what(id.c))
	}
	if !reach.OK {
		return unreachable(ctx, cfg, reach, id.err)
	}
	idCheck, idErr := identity(cfg, id, cl.red, who)
	r.Checks = append(r.Checks, idCheck)
	if id.err != nil {
		return idErr
	}
	var firstErr error
	var firstFailed Check
	for i, e := range cfg.Expect {
		c, err := expectation(cfg, e, results[1+i])
		r.Checks = append(r.Checks, c)
		if firstErr == nil {
			firstErr, firstFailed = err, c
		}
		if err != nil && exitcode.Of(err) != exitcode.MissingAccess && exitcode.Of(err) != exitcode.ExcessAccess {
			break // 401, 5xx: the rest would say the same
		}
	}
	// A rejected token explains more than whose identity the server
	// reported for it (in client mode the server decodes a JWT's subject
	// without checking it; for a token it cannot decode, none): its
	// identity is not "ok", and the row says why.
	if exitcode.Of(firstErr) == exitcode.TokenRejected {
		ic := r.Identity()
		ic.OK = false
		ic.Actual = "rejected (401 on " + firstFailed.Name + ")"
		ic.Message = firstFailed.Message
	}
	if idErr != nil && exitcode.Of(firstErr) != exitcode.TokenRejected {
		return idErr
	}
	return firstErr
}

// ssoGatekeeper is how the Argo Server's gatekeeper answers a request
// whose Authorization none of its auth modes takes (argo-workflows
// server/auth/gatekeeper.go): with --auth-mode sso alone, every bearer
// token but its own SSO login's ("Bearer v2:…").
const ssoGatekeeper = "token not valid"

// ssoOnly tells whether the first call got the gatekeeper's answer to a
// bearer token no auth mode takes: client mode takes any "Bearer <token>"
// (server mode ignores it), so only an Argo Server in sso mode alone gives
// it.
func ssoOnly(cfg Config, id result) bool {
	return strings.HasPrefix(cfg.Authorization, "Bearer ") && status.Code(id.err) == codes.Unauthenticated && strings.HasPrefix(id.c.Message, ssoGatekeeper)
}

// serverVersion reads the argo-version header the Argo Server sets: gRPC
// metadata, or the HTTP/1 answer recorded in ctx.
func serverVersion(ctx context.Context, md metadata.MD) string {
	if v := md.Get("argo-version"); len(v) > 0 {
		return v[0]
	}
	if a, ok := ctx.Value(answerKey{}).(*answer); ok {
		return a.version
	}
	return ""
}

// reachability: the server answered at all (an API error such as 401 is an
// answer).
func reachability(id result) Check {
	c := id.c
	c.Name, c.Expected = "reachability", "reachable"
	if id.err == nil || !unanswered(id.err) {
		c.Actual, c.OK, c.Message = "reachable", true, ""
	}
	return c
}

// identity: the request ran as the token's own subject. The server reports
// the subject of the token it used (in client mode it decodes a JWT's
// claims); it reports none for a token it cannot decode, and none or its
// own for a request it ran as its own service account (server mode, or the
// hybrid-mode fallback).
func identity(cfg Config, id result, red *redact.Redactor, who *infopkg.GetUserInfoResponse) (Check, error) {
	c := id.c
	if id.err != nil {
		return c, classify(c, id.err)
	}
	const hybrid = `the Argo Server runs in hybrid auth mode (--auth-mode client --auth-mode server) or server mode and ignored the token; send it as "Bearer <token>" and check that no proxy strips the Authorization header`
	reported := red.Text(who.Subject)
	switch {
	case who.Subject != "" && who.Subject == cfg.Subject:
		c.Actual, c.OK = reported, true
		return c, nil
	case cfg.Subject != "" && who.Subject == "":
		c.Actual = "the server's own service account"
	case who.Subject != "":
		c.Actual = reported
	case cfg.SkipIdentityCheck:
		c.Actual, c.OK = NotChecked, true
		return c, nil
	default:
		c.Actual = "none reported"
		return c, exitcode.New(exitcode.ExcessAccess,
			"if the Argo Server runs in client auth mode only and the token is not a JWT, accept this with --skip-identity-check (ARGO_CRED_SKIP_IDENTITY_CHECK=true)",
			"identity could not be checked: the token has no subject (not a JWT, or no sub claim) and the argo server reported none, as it does when it runs a request as its own service account")
	}
	want := "the token's subject " + red.Text(cfg.Subject)
	if cfg.Subject == "" {
		want = "the token's identity (the token has no subject)"
	}
	return c, exitcode.New(exitcode.ExcessAccess, hybrid, "the argo server ran the request as %s, not as %s", c.Actual, want)
}

// expectation: 200 is allowed, 403 denied, anything else a failure of its
// own class.
func expectation(cfg Config, e Expectation, res result) (Check, error) {
	c := res.c
	switch {
	case c.Actual == NotChecked:
		return notChecked(cfg, c)
	case c.Via != "":
		// The cluster's answer (review).
	case res.err == nil:
		c.Actual = "allowed"
	case status.Code(res.err) == codes.PermissionDenied:
		c.Actual = "denied"
	case e.Verb == "get" && status.Code(res.err) == codes.NotFound:
		c.Actual = "allowed" // the name cannot exist: 404 came after RBAC allowed the get
	case e.Verb == "create" && status.Code(res.err) == codes.InvalidArgument && strings.Contains(res.err.Error(), "is forbidden"):
		// The dry run reports Kubernetes' refusal as InvalidArgument.
		c.Actual = "denied"
	default:
		return c, classify(c, res.err)
	}
	c.OK = c.Actual == c.Expected
	if c.OK {
		return c, nil
	}
	where := "in namespace " + cfg.Namespace
	if e.Resource == "clusterworkflowtemplates" {
		where = "cluster-wide"
	}
	if e.Allow {
		return c, exitcode.New(exitcode.MissingAccess,
			fmt.Sprintf("grant %s on %s %s to the token's service account (a Role and RoleBinding)", e.Verb, qualified(e.Resource), where),
			"%s: expected allowed, got denied %s", c.Name, where)
	}
	return c, exitcode.New(exitcode.ExcessAccess,
		fmt.Sprintf("remove %s on %s from the token's roles %s: a CI credential should have only what it needs", e.Verb, qualified(e.Resource), where),
		"%s: expected denied, got allowed %s", c.Name, where)
}

// what describes an answer: its HTTP status or gRPC code, and its message.
func what(c Check) string {
	s := "gRPC " + c.GRPCCode
	if c.HTTPStatus != 0 {
		s = fmt.Sprintf("HTTP %d", c.HTTPStatus)
	}
	if c.Message != "" && !notAPIAnswer(c.Message) {
		s += " (" + redact.Shorten(c.Message, 120) + ")"
	}
	return s
}

// unanswered tells a failure of transport (nothing, or not the Argo API,
// answered) from an answer of the API such as 401.
func unanswered(err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return true
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.ResourceExhausted:
		return true
	case codes.Internal, codes.Unknown:
		return notAPIAnswer(st.Message())
	}
	return false
}

// notAPIAnswer tells the HTTP/1 client's message for a body that is not an
// API error (it formats the *http.Response as ": &{…}").
func notAPIAnswer(msg string) bool { return strings.HasPrefix(msg, ": &{") }

func connect(cfg Config) (*clients, error) {
	if cfg.HTTP1 {
		return newHTTP1(cfg)
	}
	return newGRPC(cfg)
}

func verdict(allow bool) string {
	if allow {
		return "allowed"
	}
	return "denied"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func crd(resource string) string {
	if resource == "archived-workflows" {
		return "workflows"
	}
	return resource
}

// call runs fn, retrying what is worth retrying (503, 429, refused or reset
// connections) with jittered exponential backoff, never 401 or 403.
func call(ctx context.Context, cfg Config, cl *clients, pc probeCall) (Check, error) {
	c := Check{Name: pc.name, Expected: pc.expected}
	start := time.Now()
	var err error
	ctx, ans := withAnswer(ctx)
	for c.Attempts = 1; ; c.Attempts++ {
		err = pc.fn(cl.withAuth(ctx))
		if err == nil || c.Attempts >= cfg.Attempts || !retryable(err) || ctx.Err() != nil {
			break
		}
		backoff := time.Duration(rand.Int64N(int64(100*time.Millisecond) << (c.Attempts - 1)))
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
	}
	c.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
	c.HTTPStatus = ans.status
	if err == nil && ans.status != 0 && ans.status != 200 && !ans.judged {
		// The HTTP/1 client reads an error body of code 0 as success.
		err = &notArgoError{fmt.Sprintf("HTTP %d with an error body of code 0", ans.status)}
	}
	if err == nil {
		c.GRPCCode = codes.OK.String()
		return c, nil
	}
	c.Actual = "error"
	if st, ok := status.FromError(err); ok {
		c.GRPCCode = st.Code().String()
		c.Message = redact.Shorten(cl.red.Text(st.Message()), 300)
	} else {
		c.Actual = "no answer"
		c.Message = redact.Shorten(cl.red.Text(err.Error()), 300)
	}
	return c, err
}
