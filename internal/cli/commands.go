package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/export"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/report"
)

func (a *app) runEnv(ctx context.Context, o *envOptions) error {
	_, _, err := a.envWith(ctx, &o.Options, o.ExportOptions)
	if err != nil && o.Format == "github" && o.OutputFile == "" && a.runner().InActions() {
		// Exporting to the runner's own files: a failure before the probe,
		// too, is in the step summary and one annotation.
		a.runtime().Failure(nil, err, a.red)
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
func (a *app) envWith(ctx context.Context, o *Options, x ExportOptions) (c *cred.Credential, rep *probe.Report, err error) {
	fail := func(err error) (*cred.Credential, *probe.Report, error) { return c, rep, err }
	format, err := export.Lookup(x.Format)
	if err != nil {
		return fail(err)
	}
	// --format github without --output-file writes to the runner's files.
	toRunner := x.Format == "github" && x.OutputFile == ""
	if toRunner {
		if err := a.runner().CheckEnvFile(); err != nil {
			return fail(err)
		}
	}
	if x.OutputFile != "" {
		if err := export.Check(x.Format, x.OutputFile); err != nil {
			return fail(err)
		}
	}
	if c, err = a.credential(ctx, o); err != nil {
		return fail(err)
	}
	if err := a.bundle(o, c); err != nil {
		return fail(err)
	}
	vars := c.Settings.Vars()
	// Refuse what the format cannot carry before any network call.
	if err := format(io.Discard, vars); err != nil {
		return fail(err)
	}
	if x.Format == "github" {
		a.runner().NoteUnmasked()
	}
	if rep, err = a.probeIf(ctx, o, c); err != nil {
		if rep != nil && x.Format == "github" && a.runner().InActions() {
			a.runtime().Failure(rep, err, a.red)
		}
		return fail(err)
	}
	if toRunner {
		// Appended to the runner's own files, as the runner expects.
		if err := a.runner().AppendEnv(vars); err != nil {
			return fail(err)
		}
		if rep != nil {
			return fail(a.runner().AppendSummary(func(w io.Writer) error { return report.Markdown(w, *rep) }))
		}
		return c, rep, nil
	}
	if x.OutputFile == "" {
		return fail(format(a.streams.Out, vars))
	}
	return fail(export.WriteFiles(x.Format, x.OutputFile, vars))
}

func (a *app) runProbe(ctx context.Context, po *probeOptions) error {
	o := &po.Options
	if po.Output != "table" && po.Output != "json" {
		return exitcode.New(exitcode.Usage, "use table or json", "unknown --output %q", po.Output)
	}
	c, err := a.credential(ctx, o)
	if err != nil {
		return err
	}
	r, err := cred.Verify(ctx, c, nil)
	if po.Output == "json" {
		if werr := report.JSON(a.streams.Out, r, c.Token, c.ClusterUser); werr != nil {
			return werr
		}
	} else {
		_ = report.Table(a.streams.ErrOut, r)
	}
	return err
}

// checked gets the credential, writes its CA bundle, and probes it unless
// --probe=false: what env and exec share.
func (a *app) checked(ctx context.Context, o *Options) (*cred.Credential, *probe.Report, error) {
	c, err := a.credential(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	if err := a.bundle(o, c); err != nil {
		return nil, nil, err
	}
	r, err := a.probeIf(ctx, o, c)
	return c, r, err
}

func (a *app) bundle(o *Options, c *cred.Credential) (err error) {
	if c.Settings.CAFile != "" && !o.noBundle {
		c.Settings.CABundle, err = cred.CABundle(c.Settings.CAFile, os.LookupEnv)
	}
	return err
}

// probeIf probes unless --probe=false; a failed probe's table is printed,
// and its report returned with the error.
func (a *app) probeIf(ctx context.Context, o *Options, c *cred.Credential) (*probe.Report, error) {
	if !o.Probe {
		quietly(o, a.note)("note: --probe=false: the credential was not checked against the Argo Server")
		return nil, nil
	}
	r, err := cred.Verify(ctx, c, nil)
	if err != nil {
		_ = report.Table(a.streams.ErrOut, r)
		return &r, err
	}
	fmt.Fprintf(a.streams.ErrOut, "verified: %s\n", report.Summary(r))
	return &r, nil
}
