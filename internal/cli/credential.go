package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/redact"
	"github.com/argo-cred/argo-cred/internal/token"
)

// credential is a token with the settings to use it and what to check.
type credential struct {
	token    token.Token
	settings env.Settings
	expect   []probe.Expectation
}

// validate checks everything that needs no network, so that a typo fails
// before any token is read.
func (a *app) validate(o *options) (env.Settings, []probe.Expectation, error) {
	var s env.Settings
	srv, err := env.ParseServer(o.Server)
	if err != nil {
		return s, nil, err
	}
	s.Server, s.Secure = srv.HostPort, bool(o.Secure)
	if srv.Secure != nil {
		if o.set["secure"] && bool(o.Secure) != *srv.Secure {
			return s, nil, exitcode.New(exitcode.Usage, "drop --secure or the scheme", "--secure=%t contradicts the scheme of --server %q", bool(o.Secure), o.Server)
		}
		s.Secure = *srv.Secure
		a.note("note: " + srv.Note)
	}
	if !s.Secure && !isLoopback(s.Server) {
		a.note(fmt.Sprintf("warning: plain HTTP (ARGO_SECURE=false): the token goes to %s in clear text, readable and reusable by anyone on the path; use TLS outside a network you trust", s.Server))
	}
	if s.BaseHRef, err = env.ParseBaseHRef(o.BaseHRef); err != nil {
		return s, nil, err
	}
	s.HTTP1, s.InsecureSkipVerify, s.CAFile = bool(o.HTTP1), bool(o.InsecureSkipVerify), o.CAFile
	if s.CAFile != "" {
		// Exported as SSL_CERT_FILE: absolute, so it holds in another directory.
		if s.CAFile, err = filepath.Abs(s.CAFile); err != nil {
			return s, nil, exitcode.Wrap(exitcode.Usage, "", fmt.Errorf("resolving --ca-file: %w", err))
		}
		if _, err := probe.LoadCA(s.CAFile); err != nil {
			return s, nil, err
		}
	}
	for _, v := range []struct{ name, val string }{{"ARGO_HTTP1", os.Getenv("ARGO_HTTP1")}, {"ARGO_INSECURE_SKIP_VERIFY", os.Getenv("ARGO_INSECURE_SKIP_VERIFY")}} {
		if v.val != "" && v.val != "true" && v.val != "false" {
			a.note(fmt.Sprintf("note: %s=%q counts as false: argo reads only exactly \"true\" as true", v.name, v.val))
		}
	}
	if v := os.Getenv("ARGO_SECURE"); v != "" && v != "true" && v != "false" {
		a.note(fmt.Sprintf("note: ARGO_SECURE=%q counts as true: argo reads only exactly \"false\" as false", v))
	}
	if os.Getenv("ARGO_INSTANCEID") != "" {
		a.note("warning: ARGO_INSTANCEID is set: the argo CLI refuses it together with ARGO_SERVER; unset it where argo runs")
	}
	if len(o.Headers) > 0 && !s.HTTP1 {
		return s, nil, exitcode.New(exitcode.Usage, "add --http1 (ARGO_HTTP1=true)", "--header works only with HTTP/1, as in the argo CLI")
	}
	if s.BaseHRef != "" && !s.HTTP1 {
		return s, nil, exitcode.New(exitcode.Usage, "add --http1 (ARGO_HTTP1=true): behind an ingress with a path prefix only HTTP/1 works",
			"--base-href (ARGO_BASE_HREF) works only with HTTP/1; argo's gRPC client ignores it")
	}
	var user []probe.Expectation
	for _, e := range o.Expect {
		x, err := probe.ParseExpectation(e)
		if err != nil {
			return s, nil, err
		}
		user = append(user, x)
	}
	expect, replaced := probe.Merge(probe.DefaultExpectations, user)
	for _, r := range replaced {
		if o.quietExpect {
			break
		}
		a.note(fmt.Sprintf("note: --expect replaces the default least-privilege check %s", r))
	}
	for _, n := range []struct {
		flag, value string
		check       func(string) []string
	}{
		{"--namespace", o.Namespace, validNamespace},
		{"--secret-namespace", o.SecretNS, validNamespace},
		{"--secret", o.Secret, validation.IsDNS1123Subdomain},
		{"--service-account", o.ServiceAccount, validation.IsDNS1123Subdomain},
	} {
		if n.value != "" && len(n.check(n.value)) > 0 {
			return s, nil, exitcode.New(exitcode.Usage, "use a Kubernetes name: lower-case letters, digits and '-'",
				"invalid %s %q: not a Kubernetes name", n.flag, n.value)
		}
	}
	if o.Secret != "" && o.ServiceAccount != "" {
		return s, nil, exitcode.New(exitcode.Usage, "give one: --secret reads a token Secret, --service-account requests a new token", "--secret and --service-account both given")
	}
	if (o.ServiceAccount != "" || o.Source == "tokenrequest") && o.Duration < 10*time.Minute {
		return s, nil, exitcode.New(exitcode.Usage, "the TokenRequest API issues tokens of at least 10m", "--duration %s is under the minimum of 10m", o.Duration)
	}
	if o.Timeout <= 0 || o.Wait < 0 {
		return s, nil, exitcode.New(exitcode.Usage, "", "--timeout must be positive and --wait not negative")
	}
	return s, expect, nil
}

// source decides where the token comes from.
func source(o *options) (string, error) {
	if o.Source != "" {
		switch o.Source {
		case "secret", "tokenrequest", "file", "env", "github-oidc", "oidc-env":
			return o.Source, nil
		}
		return "", exitcode.New(exitcode.Usage, "use secret, tokenrequest, file, env, github-oidc or oidc-env", "unknown --source %q", o.Source)
	}
	switch {
	case o.Secret != "":
		return "secret", nil
	case o.ServiceAccount != "":
		return "tokenrequest", nil
	case o.TokenFile != "":
		return "file", nil
	case o.OIDCEnv != "":
		return "oidc-env", nil
	}
	if _, ok := os.LookupEnv("ARGO_TOKEN"); ok {
		return "env", nil
	}
	hint := "give --secret NAME (a token Secret), --service-account NAME (TokenRequest), --token-file PATH, or set ARGO_TOKEN"
	if _, ok := token.GitHubRequestFrom(os.LookupEnv); ok {
		// Never switched to silently: the cluster must trust GitHub's tokens.
		hint += "; this GitHub job may request an OIDC token: --source github-oidc uses it, where the cluster trusts GitHub (argo-cred oidc-config)"
	}
	return "", exitcode.New(exitcode.Usage, hint, "no token source")
}

// oidcAudience is the audience an OIDC token must be for: the first
// --audience, for github-oidc argo-cred's default.
func oidcAudience(o *options, src string) string {
	if len(o.Audiences) > 0 {
		return o.Audiences[0]
	}
	if src == "github-oidc" {
		return token.DefaultAudience
	}
	return ""
}

func (a *app) credential(ctx context.Context, o *options) (*credential, error) {
	settings, expect, err := a.validate(o)
	if err != nil {
		return nil, err
	}
	src, err := source(o)
	if err != nil {
		return nil, err
	}
	if o.Bind && src != "tokenrequest" {
		return nil, exitcode.New(exitcode.Usage, "use --bind with --service-account (--source tokenrequest)", "--bind binds a TokenRequest token; --source %s has none", src)
	}
	need := map[string]struct{ flag, val string }{
		"secret": {"--secret", o.Secret}, "tokenrequest": {"--service-account", o.ServiceAccount}, "file": {"--token-file", o.TokenFile},
	}
	if n, ok := need[src]; ok && n.val == "" {
		return nil, exitcode.New(exitcode.Usage, "", "--source %s needs %s", src, n.flag)
	}
	a.log.Debug("token source", "source", src)

	var tok token.Token
	var kubeNS string
	switch src {
	case "secret", "tokenrequest":
		kc, err := a.kube(o)
		if err != nil {
			return nil, err
		}
		ns := kc.Namespace
		if ns != "" && len(validNamespace(ns)) > 0 {
			return nil, exitcode.New(exitcode.Usage, "fix the context's namespace, or set --namespace",
				"the kubeconfig's namespace %s is not a Kubernetes namespace", strconv.QuoteToASCII(ns))
		}
		kubeNS = ns
		nsFrom := "the kubeconfig's context"
		if o.SecretNS != "" {
			ns, nsFrom = o.SecretNS, "--secret-namespace, ARGO_CRED_SECRET_NAMESPACE or the action's secret-namespace input"
		} else if o.Namespace != "" {
			ns, nsFrom = o.Namespace, "--namespace, ARGO_NAMESPACE or the action's namespace input"
		}
		if src == "secret" {
			var progress func(string)
			if isTerminal(a.streams.ErrOut) || o.Verbose {
				progress = func(s string) { fmt.Fprintln(a.streams.ErrOut, s+" …") }
			}
			tok, err = token.FromSecret(ctx, kc.Secrets(ns), ns, o.Secret, o.Wait, progress)
		} else {
			rctx, cancel := context.WithTimeout(ctx, o.Timeout)
			defer cancel()
			var bound *authv1.BoundObjectReference
			if o.Bind {
				if _, inEnv := os.LookupEnv("ARGO_CRED_DURATION"); !o.set["duration"] && !inEnv {
					o.Duration = bindLifetime
				}
				if bound, err = a.newBinding(rctx, kc, ns, o.ServiceAccount, o.Duration); err != nil {
					return nil, err
				}
				if a.guardBinding {
					// From now on, however argo-cred ends, the Secret goes.
					a.startGuard(o, "", true)
				}
			}
			tok, err = token.FromTokenRequest(rctx, kc.ServiceAccounts(ns), ns, o.ServiceAccount, o.Duration, o.Audiences, bound)
			if err != nil {
				a.dropBinding()
			}
		}
		if err != nil {
			return nil, sourceHint(err, src, ns, nsFrom)
		}
	case "file":
		if tok, err = token.FromFileWithin(ctx, o.TokenFile, o.Timeout); err != nil {
			return nil, err
		}
	case "env":
		if tok, err = token.FromEnv(os.LookupEnv); err != nil {
			return nil, err
		}
	case "github-oidc":
		req, _ := token.GitHubRequestFrom(os.LookupEnv)
		a.red = redact.New(req.Token) // the request token is a secret too
		rctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		if tok, err = token.FromGitHubOIDC(rctx, req, oidcAudience(o, src)); err != nil {
			return nil, err
		}
		a.red = redact.New(tok.Bearer(), req.Token)
	case "oidc-env":
		if tok, err = token.FromOIDCEnv(os.LookupEnv, o.OIDCEnv); err != nil {
			return nil, err
		}
	}
	if src == "github-oidc" || src == "oidc-env" {
		if err := a.checkOIDC(o, src, tok); err != nil {
			return nil, err
		}
	}
	// In a CI runner that masks (GitHub Actions), whatever the command or
	// format: the masks before any other line, so that the runner hides
	// the token from everything printed after (a later set -x or echo
	// included). On stderr, with every other line, so that the order holds.
	if err := a.runtime().Mask(tok.Bearer()); err != nil {
		return nil, err
	}
	for _, w := range tok.Warnings {
		fmt.Fprintln(a.streams.ErrOut, w)
	}
	claims, _ := tok.Claims()
	if !tok.Expiry.IsZero() {
		fmt.Fprintf(a.streams.ErrOut, "note: the token expires at %s (in %s)\n", tok.Expiry.Format(time.RFC3339), time.Until(tok.Expiry).Round(time.Second))
	}
	a.log.Debug("token obtained", "from", tok.From, "subject", claims.Subject)

	settings.Authorization = tok.Bearer()
	if src != "github-oidc" {
		a.red = redact.New(tok.Bearer())
	}
	settings.Namespace = o.Namespace
	if settings.Namespace == "" {
		settings.Namespace = claims.Namespace
	}
	if settings.Namespace == "" {
		settings.Namespace = kubeNS
	}
	if settings.Namespace == "" {
		return nil, exitcode.New(exitcode.Usage, "set --namespace or ARGO_NAMESPACE", "no namespace: the token names none")
	}
	if settings.Namespace != o.Namespace && len(validNamespace(settings.Namespace)) > 0 {
		// From the token's unverified claims or the kubeconfig: it becomes a
		// path segment of every request and an exported value.
		return nil, exitcode.New(exitcode.Usage, "set --namespace or ARGO_NAMESPACE",
			"the namespace %s from the token's claims or the kubeconfig is not a Kubernetes namespace", strconv.QuoteToASCII(settings.Namespace))
	}
	return &credential{token: tok, settings: settings, expect: expect}, nil
}

// sourceHint gives a Kubernetes API refusal the hint of the source in use:
// what the kubeconfig's identity needs for it, and where the namespace
// came from, the usual cause when the identity has it elsewhere.
func sourceHint(err error, src, ns, nsFrom string) error {
	where := fmt.Sprintf("namespace %s (from %s)", ns, nsFrom)
	hint := ""
	switch {
	case apierrors.IsForbidden(err) && src == "tokenrequest":
		hint = "the Kubernetes identity in use needs create on serviceaccounts/token in " + where + ": check the namespace, or grant it"
	case apierrors.IsForbidden(err):
		hint = "the Kubernetes identity in use needs get and watch on secrets in " + where + ": check the namespace, or grant it"
	case apierrors.IsNotFound(err) && src == "tokenrequest":
		hint = "no such ServiceAccount in " + where + ": check --service-account and the namespace, or create it"
	}
	if hint == "" || exitcode.Of(err) != exitcode.TokenUnavailable {
		return err
	}
	return &exitcode.Error{Code: exitcode.TokenUnavailable, Err: err, Hint: hint}
}

// isLoopback tells whether host:port names this machine's loopback.
func isLoopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		host = hostPort
	}
	return host == "localhost" || net.ParseIP(strings.Trim(host, "[]")).IsLoopback()
}

// validNamespace checks a namespace name: a DNS label.
func validNamespace(s string) []string { return validation.IsDNS1123Label(s) }

// kube returns a Kubernetes client following client-go's loading rules.
func (a *app) kube(o *options) (*kube.Client, error) {
	if err := kubeconfigProblem(o.Kubeconfig); err != nil {
		return nil, err
	}
	c, err := kube.Load(o.Kubeconfig, o.Context, "argo-cred/"+version(), o.Timeout)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, "set --kubeconfig, KUBECONFIG or --context, or run in a pod", err)
	}
	a.log.Debug("kubernetes", "host", c.Host, "namespace", c.Namespace)
	return c, nil
}

// kubeconfigProblem names a kubeconfig that cannot work before client-go
// skips it silently and falls back to localhost:8080: /dev/null (which
// older argo-cred exported), or files that do not exist.
func kubeconfigProblem(explicit string) error {
	name, paths := "--kubeconfig", []string{explicit}
	if explicit == "" {
		name, paths = "KUBECONFIG", filepath.SplitList(os.Getenv("KUBECONFIG"))
	}
	if explicit == "" && len(paths) == 0 {
		if home, err := os.UserHomeDir(); err == nil {
			paths = []string{filepath.Join(home, ".kube", "config")} // client-go's default, if it exists
		}
	}
	var devnull, missing []string
	usable := false
	for _, p := range paths {
		switch st, err := os.Stat(p); {
		case p == "":
		case p == os.DevNull:
			devnull = append(devnull, p)
		case err != nil:
			if explicit != "" || os.Getenv("KUBECONFIG") != "" {
				missing = append(missing, p)
			}
		case !st.Mode().IsRegular():
			// client-go reads every file of the list with no time limit: a
			// FIFO without a writer would block it (and argo-cred) forever.
			return exitcode.New(exitcode.Usage, "give a regular file",
				"the kubeconfig %s (%s) is not a regular file", strconv.QuoteToASCII(p), name)
		default:
			// client-go fails on a file it may not read: say whose it is.
			if err := files.Readable(p); err != nil {
				return exitcode.Wrap(exitcode.Usage, files.Hint(err), fmt.Errorf("reading the kubeconfig (%s): %w", name, err))
			}
			usable = true // one usable file is enough; the others are still checked
		}
	}
	if usable {
		return nil
	}
	switch {
	case len(devnull) > 0:
		return exitcode.New(exitcode.Usage, "unset KUBECONFIG (an earlier eval of argo-cred env may have set it) or point it at a kubeconfig",
			"%s is /dev/null, which holds no cluster", name)
	case len(missing) > 0:
		return exitcode.New(exitcode.Usage, "point it at an existing kubeconfig, or unset it to use ~/.kube/config or the pod's service account",
			"%s names %s: no such file", name, strings.Join(missing, ", "))
	}
	return nil
}

// freshTokenGrace bounds how long a just-made token may be refused.
const freshTokenGrace = 5 * time.Second

// probeConfig is how to reach the Argo Server: the transport the
// settings give, without a token or expectations.
func probeConfig(s env.Settings, o *options) probe.Config {
	return probe.Config{
		Server: s.Server, Secure: s.Secure, InsecureSkipVerify: s.InsecureSkipVerify, CAFile: s.CAFile,
		HTTP1: s.HTTP1, BaseHRef: s.BaseHRef, Headers: o.Headers, UserAgent: "argo-cred/" + version(),
	}
}

// verify probes the Argo Server with the credential.
func (a *app) verify(ctx context.Context, o *options, c *credential) (probe.Report, error) {
	claims, _ := c.token.Claims()
	s := c.settings
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	a.log.Debug("probing", "server", s.Server, "http1", s.HTTP1, "secure", s.Secure, "namespace", s.Namespace)
	defer a.log.Debug("probed")
	cfg := probeConfig(s, o)
	cfg.Authorization, cfg.Namespace, cfg.Subject = s.Authorization, s.Namespace, claims.Subject
	cfg.SkipIdentityCheck, cfg.Expect = o.SkipIdentityCheck, c.expect
	r, err := probe.Run(ctx, cfg)
	// A token argo-cred just had made can be refused for a moment:
	// kube-apiserver authenticates it against its informer caches, which
	// may not hold the new Secret (or ServiceAccount) yet. Bounded.
	for deadline := time.Now().Add(freshTokenGrace); a.fresh && exitcode.Of(err) == exitcode.TokenRejected && time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(200 * time.Millisecond)
		r, err = probe.Run(ctx, cfg)
	}
	// The identity row says why a rejected token failed, where that is known.
	why := ""
	if exitcode.Of(err) == exitcode.TokenRejected && len(o.Audiences) > 0 && c.token.Source == "tokenrequest" {
		aud := strings.Join(o.Audiences, ",")
		err = &exitcode.Error{Code: exitcode.TokenRejected, Err: err,
			Hint: fmt.Sprintf("the token was requested for audience %s, which the API server behind the Argo Server does not accept: drop --audience (ARGO_CRED_AUDIENCE)", aud)}
		why = "rejected (401): audience " + aud + " not accepted by the cluster"
	}
	if a.oidc {
		err = oidcHint(err, r, claims, s)
		if exitcode.Of(err) == exitcode.TokenRejected {
			why = "rejected (401): the cluster does not trust the OIDC token"
		}
	}
	if id := r.Identity(); why != "" && id != nil && id.Name == "identity" && strings.HasPrefix(id.Actual, "rejected (401 on ") {
		id.Actual = why
	}
	if err != nil {
		r.Hint = exitcode.Hint(err)
	}
	if id := r.Identity(); id != nil && id.Actual == probe.NotChecked {
		fmt.Fprintln(a.streams.ErrOut, "note: identity not checked (--skip-identity-check): the token has no subject and the server reported none")
	}
	return r, err
}

// checkOIDC checks a CI OIDC token before any network call and says what
// it is: the claims are unverified, so they are for display and these
// checks only; the probe's list calls, which kube-apiserver authenticates,
// are the proof.
func (a *app) checkOIDC(o *options, src string, tok token.Token) error {
	aud := oidcAudience(o, src)
	if err := token.CheckOIDC(tok, aud, o.MinLifetime, time.Now()); err != nil {
		return err
	}
	claims, _ := tok.Claims()
	fmt.Fprintf(a.streams.ErrOut, "note: OIDC token: %s\n", a.red.Text(token.Describe(claims)))
	if left := time.Until(claims.Expiry); left < 15*time.Minute {
		fmt.Fprintf(a.streams.ErrOut, "warning: the token expires in %s: an argo command that runs longer (submit --wait, logs -f) fails after that\n", left.Round(time.Second))
	}
	a.oidc = true
	a.reviewSelf(o, tok)
	return nil
}

// reviewSelf says which user the cluster maps an OIDC token to, when the
// user named a kubeconfig for this run (--kubeconfig, or the action's
// kubeconfig input): the token is sent to its API server alone, without
// the kubeconfig's credentials, and only over verified TLS. An ambient
// KUBECONFIG or the pod's cluster gets no CI token. Nothing fails here:
// the probe is the check.
func (a *app) reviewSelf(o *options, tok token.Token) {
	if o.Kubeconfig == "" || kubeconfigProblem(o.Kubeconfig) != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	user, groups, err := kube.ReviewSelf(ctx, o.Kubeconfig, o.Context, tok.Raw(), "argo-cred/"+version(), 5*time.Second)
	if err != nil {
		fmt.Fprintf(a.streams.ErrOut, "note: the cluster's API server did not say who the token is: %s\n", a.red.Text(err.Error()))
		return
	}
	a.clusterUser = user
	fmt.Fprintf(a.streams.ErrOut, "note: the cluster maps the token to user %q (groups %s)\n", a.red.Text(user), a.red.Text(strings.Join(groups, ",")))
}

var deniedUser = regexp.MustCompile(`User "([^"]+)" cannot`)

// oidcHint says what a refused OIDC token needs: a 401 is the cluster's
// AuthenticationConfiguration, a 403 a RoleBinding for the user the
// cluster mapped the token to (Kubernetes names it).
func oidcHint(err error, r probe.Report, claims token.Claims, s env.Settings) error {
	hint := ""
	switch exitcode.Of(err) {
	case exitcode.TokenRejected:
		hint = fmt.Sprintf("the cluster did not accept the OIDC token: its AuthenticationConfiguration must trust issuer %s for audience %s, the token must pass its claim rules (e.g. the repository owner), and kube-apiserver must have read the issuer's discovery document (it retries every 10 s); argo-cred oidc-config prints what the cluster needs",
			claims.Issuer, strings.Join(claims.Audience, ","))
	case exitcode.MissingAccess:
		for _, c := range r.Checks {
			if m := deniedUser.FindStringSubmatch(c.Message); m != nil {
				hint = fmt.Sprintf("the cluster maps the token to user %q, which no RoleBinding in namespace %s grants this: bind it (argo-cred oidc-config … --apply)", m[1], s.Namespace)
				break
			}
		}
	}
	if hint == "" {
		return err
	}
	return &exitcode.Error{Code: exitcode.Of(err), Err: err, Hint: hint}
}
