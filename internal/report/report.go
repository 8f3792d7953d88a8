// Package report renders a probe's report: as a table for people (stderr),
// as Markdown for a CI step summary, as JSON for machines (with what is
// known about the token, never the token), and as the one-line summary of
// a verified credential.
package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/redact"
	"github.com/argo-cred/argo-cred/internal/token"
)

// Table writes the report for people: the server, then a row per check,
// then the verdict.
func Table(w io.Writer, r probe.Report) error {
	var b bytes.Buffer
	scheme := "plain"
	if r.Secure {
		scheme = "tls"
	}
	fmt.Fprintf(&b, "server     %s (%s, %s) %s\nnamespace  %s\n\n", r.Server, r.Transport, scheme, r.ServerVersion, r.Namespace)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tEXPECTED\tACTUAL\tCODE\tLATENCY\tRESULT")
	for _, c := range r.Checks {
		res := "ok"
		switch {
		case c.Actual == probe.NotChecked && c.Name != "identity":
			res = "WARN"
		case !c.OK && c.Actual != "":
			res = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Expected, cmp.Or(c.Actual, "-"), code(c), latency(c.LatencyMS), res)
	}
	_ = tw.Flush()
	if n := r.NotCheckedOf(); r.OK && len(n) > 0 {
		fmt.Fprintf(&b, "\nverdict: ok, but not checked: %s\n", strings.Join(n, ", "))
	} else if r.OK {
		b.WriteString("\nverdict: ok\n")
	} else {
		fmt.Fprintf(&b, "\nverdict: %s (exit %d)\n", exitcode.Code(r.ExitCode), r.ExitCode)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// Markdown writes the report as a step summary.
func Markdown(w io.Writer, r probe.Report) error {
	var b bytes.Buffer
	// Whatever a server or a token may have supplied is a code span (no
	// markup, no autolinked URL); plain words, such as argo-cred's own
	// verdicts, cannot be either.
	cs := redact.Code
	cell := func(s string) string {
		if plainWords.MatchString(s) {
			return s
		}
		return cs(s)
	}
	fmt.Fprintf(&b, "### argo-cred: %s via %s, namespace %s\n\n| check | expected | actual | code | latency |\n|---|---|---|---|---|\n", cs(r.Server), r.Transport, cs(r.Namespace))
	for _, c := range r.Checks {
		mark := "✅"
		switch {
		case c.Actual == probe.NotChecked && c.Name != "identity":
			mark = "⚠️"
		case !c.OK:
			mark = "❌"
		}
		fmt.Fprintf(&b, "| %s %s | %s | %s | %s | %s |\n", mark, redact.Markdown(c.Name), cell(c.Expected), cell(cmp.Or(c.Actual, "-")), code(c), latency(c.LatencyMS))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// Failure writes a failure for the step summary: a heading of its own
// unless it follows the probe's report, then the error and the hint. Both
// may hold a server's or a token's text: redacted with red, as code spans.
func Failure(w io.Writer, afterReport bool, err error, red *redact.Redactor) error {
	var b bytes.Buffer
	code := exitcode.Of(err)
	if afterReport {
		fmt.Fprintf(&b, "\n**%s (exit %d)**\n\n", code, code)
	} else {
		fmt.Fprintf(&b, "### ❌ argo-cred: %s (exit %d)\n\n", code, code)
	}
	hint := cmp.Or(redact.Code(red.Text(exitcode.Hint(err))), "-")
	fmt.Fprintf(&b, "| error | what to do |\n|---|---|\n| %s | %s |\n", redact.Code(red.Text(err.Error())), hint)
	_, werr := w.Write(b.Bytes())
	return werr
}

// JSON writes the report and what is known about the token (never the
// token itself) as one JSON object; clusterUser is the user the cluster
// maps an OIDC token to, if known.
func JSON(w io.Writer, r probe.Report, tok token.Token, clusterUser string) error {
	claims, isJWT := tok.Claims()
	out := struct {
		probe.Report
		Token tokenInfo `json:"token"`
	}{Report: r, Token: tokenInfo{Source: tok.Source, From: tok.From, JWT: isJWT, ClusterUser: clusterUser}}
	if isJWT {
		out.Token.Claims = &claims
	}
	if !tok.Expiry.IsZero() {
		e := tok.Expiry
		out.Token.Expiry = &e
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// tokenInfo describes the token in probe output, without the token.
type tokenInfo struct {
	Source string     `json:"source"`
	From   string     `json:"from"`
	JWT    bool       `json:"jwt"`
	Expiry *time.Time `json:"expiry,omitempty"`
	Claims any        `json:"claims,omitempty"`
	// ClusterUser is the user the cluster maps an OIDC token to.
	ClusterUser string `json:"clusterUser,omitempty"`
}

// Summary is the report of a verified credential in one line: server,
// transport, identity, namespace and each expectation's outcome.
func Summary(r probe.Report) string {
	var parts []string
	for _, c := range r.Expectations() {
		parts = append(parts, c.Name+" "+c.Actual)
	}
	who := "unknown identity"
	if id := r.Identity(); id != nil {
		who = id.Actual
	}
	return fmt.Sprintf("%s via %s as %s in namespace %s: %s", r.Server, r.Transport, who, r.Namespace, strings.Join(parts, ", "))
}

var plainWords = regexp.MustCompile(`^[a-z-]+( [a-z-]+)*$`)

func code(c probe.Check) string {
	switch {
	case c.Via == "selfsubjectaccessreview" && c.Actual != probe.NotChecked:
		return "k8s SSAR"
	case c.HTTPStatus != 0:
		return fmt.Sprintf("HTTP %d", c.HTTPStatus)
	case c.GRPCCode != "":
		return "gRPC " + c.GRPCCode
	}
	return "-"
}

func latency(ms float64) string { return fmt.Sprintf("%.0fms", ms) }
