package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/export"
	"github.com/argo-cred/argo-cred/internal/files"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/redact"
	"github.com/argo-cred/argo-cred/internal/token"
)

func (a *app) env(ctx context.Context, o *options) error {
	_, _, err := a.envWith(ctx, o)
	if err != nil && o.Format == "github" && o.OutputFile == "" && os.Getenv("GITHUB_ACTIONS") == "true" {
		// Exporting to the runner's own files: a failure before the probe,
		// too, is in the step summary and one annotation.
		a.githubFailure(nil, err)
	}
	if err == nil && a.binding != nil {
		b := a.binding
		a.binding = nil // handed on: it lives until revoked, or until the token expires
		fmt.Fprintf(a.streams.ErrOut, "note: the token is bound to secret %s/%s: revoke it with argo-cred revoke --namespace %s --binding %s\n", b.Namespace, b.Name, b.Namespace, b.Name)
	}
	return err
}

// envWith is env, returning the credential and the probe's report (also
// when the probe failed) for the GitHub Action's outputs.
func (a *app) envWith(ctx context.Context, o *options) (c *credential, report *probe.Report, err error) {
	fail := func(err error) (*credential, *probe.Report, error) { return c, report, err }
	if !slices.Contains(export.Formats, o.Format) {
		return fail(exitcode.New(exitcode.Usage, "use one of "+strings.Join(export.Formats, ", "), "unknown --format %q", o.Format))
	}
	inActions := os.Getenv("GITHUB_ACTIONS") == "true"
	if o.Format == "github" && o.OutputFile == "" && os.Getenv("GITHUB_ENV") == "" {
		return fail(exitcode.New(exitcode.Usage, "run it in a GitHub Actions step; elsewhere use --format dotenv or shell with --output-file", "--format github needs GITHUB_ENV"))
	}
	if o.OutputFile != "" {
		if err := files.Check(outputFiles(o)...); err != nil {
			return fail(exitcode.Wrap(exitcode.Usage, "check --output-file", fmt.Errorf("--output-file: %w", err)))
		}
	}
	if c, err = a.credential(ctx, o); err != nil {
		return fail(err)
	}
	if err := a.bundle(c); err != nil {
		return fail(err)
	}
	vars := c.settings.Vars()
	// Refuse what the format cannot carry before any network call.
	if err := formatter(o.Format)(io.Discard, vars); err != nil {
		return fail(err)
	}
	if o.Format == "github" && !inActions {
		fmt.Fprintln(a.streams.ErrOut, "note: not in GitHub Actions (GITHUB_ACTIONS is not true): no ::add-mask:: lines written, since nothing here would mask them")
	}
	if report, err = a.probeIf(ctx, o, c); err != nil {
		if report != nil && o.Format == "github" && inActions {
			a.githubFailure(report, err)
		}
		return fail(err)
	}
	write := func(w io.Writer) error { return formatter(o.Format)(w, vars) }
	if o.Format == "github" && o.OutputFile == "" {
		// Appended to the runner's own files, as the runner expects.
		if err := appendFile(os.Getenv("GITHUB_ENV"), write); err != nil {
			return fail(err)
		}
		if sum := os.Getenv("GITHUB_STEP_SUMMARY"); sum != "" && report != nil {
			return fail(appendFile(sum, func(w io.Writer) error { return markdown(w, *report) }))
		}
		return c, report, nil
	}
	if o.OutputFile == "" {
		return fail(write(a.streams.Out))
	}
	out := outputFiles(o)
	if out[0].Data, err = files.Render(write); err != nil {
		return fail(err)
	}
	if o.Format == "jenkins" {
		if out[1].Data, err = files.Render(func(w io.Writer) error { return export.JenkinsShell(w, vars) }); err != nil {
			return fail(err)
		}
	}
	if err := files.Write(out...); err != nil {
		return fail(exitcode.Wrap(exitcode.Usage, "check --output-file", err))
	}
	return c, report, nil
}

func (a *app) probe(ctx context.Context, o *options) error {
	if o.Output != "table" && o.Output != "json" {
		return exitcode.New(exitcode.Usage, "use table or json", "unknown --output %q", o.Output)
	}
	c, err := a.credential(ctx, o)
	if err != nil {
		return err
	}
	r, err := a.verify(ctx, o, c)
	if o.Output == "json" {
		if werr := writeJSON(a.streams.Out, r, c.token, a.clusterUser); werr != nil {
			return werr
		}
	} else {
		a.table(r)
	}
	return err
}

// writeJSON writes the report and what is known about the token (never the
// token itself) as one JSON object.
func writeJSON(w io.Writer, r probe.Report, tok token.Token, clusterUser string) error {
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

func formatter(f string) func(io.Writer, []env.Var) error {
	switch f {
	case "dotenv":
		return export.Dotenv
	case "json":
		return export.JSON
	case "jenkins":
		return export.Jenkins
	case "github":
		return export.GitHubEnv
	}
	return export.Shell
}

func summary(r probe.Report) string {
	var parts []string
	for _, c := range r.Checks[min(2, len(r.Checks)):] {
		parts = append(parts, c.Name+" "+c.Actual)
	}
	who := "unknown identity"
	if len(r.Checks) > 1 {
		who = r.Checks[1].Actual
	}
	return fmt.Sprintf("%s via %s as %s in namespace %s: %s", r.Server, r.Transport, who, r.Namespace, strings.Join(parts, ", "))
}

// checked gets the credential, writes its CA bundle, and probes it unless
// --probe=false: what env and exec share.
func (a *app) checked(ctx context.Context, o *options) (*credential, *probe.Report, error) {
	c, err := a.credential(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	if err := a.bundle(c); err != nil {
		return nil, nil, err
	}
	r, err := a.probeIf(ctx, o, c)
	return c, r, err
}

func (a *app) bundle(c *credential) (err error) {
	if c.settings.CAFile != "" && !a.noBundle {
		c.settings.CABundle, err = cred.CABundle(c.settings.CAFile, os.LookupEnv)
	}
	return err
}

// probeIf probes unless --probe=false; a failed probe's table is printed,
// and its report returned with the error.
func (a *app) probeIf(ctx context.Context, o *options, c *credential) (*probe.Report, error) {
	if !o.Probe {
		fmt.Fprintln(a.streams.ErrOut, "note: --probe=false: the credential was not checked against the Argo Server")
		return nil, nil
	}
	r, err := a.verify(ctx, o, c)
	if err != nil {
		a.table(r)
		return &r, err
	}
	fmt.Fprintf(a.streams.ErrOut, "verified: %s\n", summary(r))
	return &r, nil
}

// outputFiles are the files --output-file writes: the file, and for
// --format jenkins the shell form for sh steps beside it, which replaces
// only a file argo-cred wrote.
func outputFiles(o *options) []files.File {
	out := []files.File{{Path: o.OutputFile}}
	if o.Format == "jenkins" {
		out = append(out, files.File{Path: o.OutputFile + ".sh", Owned: export.IsJenkinsShell})
	}
	return out
}

// githubFailure puts a failure into the step summary (the probe's report,
// if it got that far, then the error and what to do) and one ::error line
// into the log, so the job's page says what to fix: once a run, whichever
// caller comes first.
func (a *app) githubFailure(r *probe.Report, err error) {
	if a.annotated {
		return
	}
	if sum := os.Getenv("GITHUB_STEP_SUMMARY"); sum != "" {
		_ = appendFile(sum, func(w io.Writer) error {
			if r != nil {
				if err := markdown(w, *r); err != nil {
					return err
				}
			}
			return a.failureMarkdown(w, r != nil, err)
		})
	}
	a.annotate(err)
}

// failureMarkdown writes a failure for the step summary: a heading of its
// own unless it follows the probe's report, then the error and the hint.
// Both may hold a server's or a token's text: redacted, as code spans.
func (a *app) failureMarkdown(w io.Writer, afterReport bool, err error) error {
	var b bytes.Buffer
	code := exitcode.Of(err)
	if afterReport {
		fmt.Fprintf(&b, "\n**%s (exit %d)**\n\n", code, code)
	} else {
		fmt.Fprintf(&b, "### ❌ argo-cred: %s (exit %d)\n\n", code, code)
	}
	hint := orDash(redact.Code(a.red.Text(exitcode.Hint(err))))
	fmt.Fprintf(&b, "| error | what to do |\n|---|---|\n| %s | %s |\n", redact.Code(a.red.Text(err.Error())), hint)
	_, werr := w.Write(b.Bytes())
	return werr
}

// table prints the report for people, on stderr.
func (a *app) table(r probe.Report) {
	_ = writeTable(a.streams.ErrOut, r)
}

func writeTable(w io.Writer, r probe.Report) error {
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
		if !c.OK && c.Actual != "" {
			res = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Expected, orDash(c.Actual), code(c), latency(c.LatencyMS), res)
	}
	_ = tw.Flush()
	if r.OK {
		b.WriteString("\nverdict: ok\n")
	} else {
		fmt.Fprintf(&b, "\nverdict: %s (exit %d)\n", exitcode.Code(r.ExitCode), r.ExitCode)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// markdown writes the report as a GitHub step summary.
func markdown(w io.Writer, r probe.Report) error {
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
		if !c.OK {
			mark = "❌"
		}
		fmt.Fprintf(&b, "| %s %s | %s | %s | %s | %s |\n", mark, redact.Markdown(c.Name), cell(c.Expected), cell(orDash(c.Actual)), code(c), latency(c.LatencyMS))
	}
	_, err := w.Write(b.Bytes())
	return err
}

var plainWords = regexp.MustCompile(`^[a-z-]+( [a-z-]+)*$`)

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func code(c probe.Check) string {
	switch {
	case c.HTTPStatus != 0:
		return fmt.Sprintf("HTTP %d", c.HTTPStatus)
	case c.GRPCCode != "":
		return "gRPC " + c.GRPCCode
	}
	return "-"
}

func latency(ms float64) string { return fmt.Sprintf("%.0fms", ms) }

// appendFile appends to a file of the runner's, such as $GITHUB_ENV, in
// one write.
func appendFile(path string, write func(io.Writer) error) error {
	b, err := files.Render(write)
	if err != nil {
		return err
	}
	return exitcode.Wrap(exitcode.Usage, "", files.Append(path, b))
}
