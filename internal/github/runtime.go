// Package github is argo-cred's side of the GitHub Actions runner: its
// file commands ($GITHUB_ENV, $GITHUB_OUTPUT, $GITHUB_STATE, the step
// summary) and workflow commands (::add-mask::, ::error), the action's
// inputs and outputs, its post stage, and the claims of GitHub's OIDC
// tokens that oidc-config trusts. Another CI system's runtime would be a
// sibling package.
package github

import (
	"fmt"
	"io"
	"strings"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/redact"
	"github.com/argo-cred/argo-cred/internal/report"
)

// Runtime is the runner as one run of argo-cred sees it: its variables
// (read through lookup, such as os.LookupEnv) and its log (stderr, where
// workflow commands go with every other line, so that their order holds).
type Runtime struct {
	lookup func(string) (string, bool)
	stderr io.Writer
	// annotated is set once the ::error annotation was printed.
	annotated bool
}

// New returns the runtime reading the runner's variables through lookup
// and writing workflow commands to stderr.
func New(lookup func(string) (string, bool), stderr io.Writer) *Runtime {
	return &Runtime{lookup: lookup, stderr: stderr}
}

func (r *Runtime) get(name string) string {
	v, _ := r.lookup(name)
	return v
}

// InActions reports whether argo-cred runs in GitHub Actions, where the
// runner reads workflow commands in the log.
func (r *Runtime) InActions() bool { return r.get("GITHUB_ACTIONS") == "true" }

// InStep reports whether argo-cred runs as a step that can set
// environment variables and outputs: what the action's main stage needs.
func (r *Runtime) InStep() bool {
	return r.InActions() && r.get("GITHUB_ENV") != "" && r.get("GITHUB_OUTPUT") != ""
}

// CheckEnvFile fails unless the runner named its environment file, which
// --format github without --output-file appends to.
func (r *Runtime) CheckEnvFile() error {
	if r.get("GITHUB_ENV") == "" {
		return exitcode.New(exitcode.Usage, "run it in a GitHub Actions step; elsewhere use --format dotenv or shell with --output-file", "--format github needs GITHUB_ENV")
	}
	return nil
}

// NoteUnmasked says, outside GitHub Actions, that no ::add-mask:: lines
// were written for the github format.
func (r *Runtime) NoteUnmasked() {
	if !r.InActions() {
		fmt.Fprintln(r.stderr, "note: not in GitHub Actions (GITHUB_ACTIONS is not true): no ::add-mask:: lines written, since nothing here would mask them")
	}
}

// Input returns the action's input name (INPUT_<NAME upper-cased, hyphens
// kept>) trimmed; empty means not given.
func (r *Runtime) Input(name string) string {
	return strings.TrimSpace(r.get("INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))))
}

// AppendEnv sets environment variables for the job's later steps
// ($GITHUB_ENV).
func (r *Runtime) AppendEnv(vars []env.Var) error { return r.appendVars("GITHUB_ENV", vars) }

// AppendOutput sets the step's outputs ($GITHUB_OUTPUT).
func (r *Runtime) AppendOutput(vars []env.Var) error { return r.appendVars("GITHUB_OUTPUT", vars) }

// AppendState saves values for the post stage ($GITHUB_STATE), which
// reads them as STATE_<name>.
func (r *Runtime) AppendState(vars []env.Var) error { return r.appendVars("GITHUB_STATE", vars) }

// AppendSummary appends what write writes to the step summary, if the
// runner keeps one.
func (r *Runtime) AppendSummary(write func(io.Writer) error) error {
	if sum := r.get("GITHUB_STEP_SUMMARY"); sum != "" {
		return appendFile(sum, write)
	}
	return nil
}

func (r *Runtime) appendVars(file string, vars []env.Var) error {
	return appendFile(r.get(file), func(w io.Writer) error { return WriteEnv(w, vars) })
}

// appendFile appends to a file of the runner's, such as $GITHUB_ENV, in
// one write.
func appendFile(path string, write func(io.Writer) error) error {
	b, err := files.Render(write)
	if err != nil {
		return err
	}
	return exitcode.Wrap(exitcode.Usage, "", files.Append(path, b))
}

// Mask writes, in GitHub Actions, an `::add-mask::` command for every form
// of each secret (with and without "Bearer ", base64 and URL encodings),
// so that the runner hides them in all later log lines. Call it before
// anything could print a secret. Outside GitHub Actions it does nothing.
func (r *Runtime) Mask(secrets ...string) error {
	if !r.InActions() {
		return nil
	}
	return writeMasks(r.stderr, secrets)
}

// Annotated reports whether the run's ::error annotation was printed:
// then it was the error's one line.
func (r *Runtime) Annotated() bool { return r.annotated }

// Annotate prints err as the one ::error annotation of the run (later
// calls print nothing): redacted with red, cleaned, with URLs defanged so
// that no server-supplied link appears on the job's page.
func (r *Runtime) Annotate(err error, red *redact.Redactor) {
	if r.annotated {
		return
	}
	r.annotated = true
	msg := err.Error()
	if h := exitcode.Hint(err); h != "" {
		msg += "; " + h
	}
	fmt.Fprintf(r.stderr, "::error title=argo-cred %s (exit %d)::%s\n",
		commandEscape(exitcode.Of(err).String(), true), exitcode.Of(err), commandEscape(redact.Defang(red.Text(msg)), false))
}

// Failure puts a failure into the step summary (the probe's report, if it
// got that far, then the error and what to do) and one ::error line into
// the log, so the job's page says what to fix: once a run, whichever
// caller comes first.
func (r *Runtime) Failure(rep *probe.Report, err error, red *redact.Redactor) {
	if r.annotated {
		return
	}
	_ = r.AppendSummary(func(w io.Writer) error {
		if rep != nil {
			if err := report.Markdown(w, *rep); err != nil {
				return err
			}
		}
		return report.Failure(w, rep != nil, err, red)
	})
	r.Annotate(err, red)
}
