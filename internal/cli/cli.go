// Package cli is argo-cred's command layer: it parses flags and environment
// into one options struct per command, runs each command on the domain
// packages (credential, identity, report, export, docker) and prints what
// they return, leaving everything about the CI runner to its runtime
// (internal/github).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/github"
	"github.com/argo-cred/argo-cred/internal/guard"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/redact"
	ver "github.com/argo-cred/argo-cred/internal/version"
)

// IOStreams are the standard streams. Out carries only the payload.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// app is one run of the command line.
type app struct {
	streams IOStreams
	log     *slog.Logger
	red     *redact.Redactor // the token's forms, once it is known
	// gh is the GitHub Actions runner, which the action and --format
	// github write to; made on first use (runner).
	gh *github.Runtime
	// binding is the per-run Secret of a --bind token, if any.
	binding *cred.Binding
	// guards undo what exec or docker set up if argo-cred is killed.
	guards guard.Set
	// secrets are the secret values known so far, which red redacts.
	secrets []string
	// noted holds the notes printed so far: provision, rotate and revoke
	// validate the settings more than once, and say each note once.
	noted map[string]bool
}

// ciRuntime is what any command asks of the CI system it runs in: its
// masks before any other line, and a failure said once, on the job's page.
type ciRuntime interface {
	// InActions reports whether the runner reads workflow commands.
	InActions() bool
	// Mask hides the secrets in all later log lines.
	Mask(secrets ...string) error
	// Failure reports err (and the probe's report, if any) once a run.
	Failure(r *probe.Report, err error, red *redact.Redactor)
	// Annotated reports whether Failure printed the error's one line.
	Annotated() bool
}

// runner returns the GitHub Actions runtime, made on first use from the
// process environment and the app's stderr: also for an app not made by
// Run (a quiet copy that probes a Secret), so that no mask is skipped.
func (a *app) runner() *github.Runtime {
	if a.gh == nil {
		a.gh = github.New(os.LookupEnv, a.streams.ErrOut)
	}
	return a.gh
}

// runtime is the CI runtime as every command sees it.
func (a *app) runtime() ciRuntime { return a.runner() }

// note prints line to stderr, once a run.
func (a *app) note(line string) {
	if a.noted[line] {
		return
	}
	if a.noted == nil {
		a.noted = map[string]bool{}
	}
	a.noted[line] = true
	fmt.Fprintln(a.streams.ErrOut, line)
}

// Run runs argo-cred with args (without the program name) and returns the
// exit code. It prints one error line on ErrOut when something fails.
func Run(ctx context.Context, args []string, streams IOStreams) int {
	a := &app{streams: streams, log: slog.New(slog.DiscardHandler)}
	if len(args) > 0 && args[0] == guard.Command {
		return guard.Run(args[1:], streams.In, streams.ErrOut, a.red.Text)
	}
	root := a.commands()
	if filepath.Base(os.Args[0]) == github.PostName {
		args = []string{"action", "--post"} // the action's post stage
	}
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	// A --bind token dies with the run unless the command handed it on.
	a.dropBinding()
	a.guards.Release(a.binding != nil)
	if errors.Is(err, exitcode.ErrChild) {
		return int(exitcode.Of(err))
	}
	if err != nil && ctx.Err() != nil {
		err = exitcode.Wrap(exitcode.Interrupted, "", fmt.Errorf("interrupted (%w)", err))
	}
	if err != nil && !a.runtime().Annotated() {
		// In GitHub Actions the ::error annotation was the one line.
		// One line, without the token, whatever the error carries.
		fmt.Fprintln(streams.ErrOut, a.red.Text(exitcode.Line(err)))
	}
	return int(exitcode.Of(err))
}

// setVerbose turns on debug logs on stderr, each stamped with the time since
// start, so -v also shows where the time goes.
func (a *app) setVerbose(v bool) {
	if v {
		a.log = redact.Logger(a.streams.ErrOut, func() *redact.Redactor { return a.red })
	}
}

func version() string { return ver.String() }

// isTerminal reports whether w is a character device, where progress lines
// help; in CI logs they are noise.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// dropBinding deletes the per-run Secret, revoking the token bound to it.
func (a *app) dropBinding() {
	b := a.binding
	if b == nil {
		return
	}
	if err := b.Drop(context.Background()); err != nil {
		fmt.Fprintf(a.streams.ErrOut, "warning: could not delete secret %s/%s, so its token stays valid until it expires: %s\n", b.Namespace, b.Name, a.red.Text(err.Error()))
		return
	}
	fmt.Fprintf(a.streams.ErrOut, "revoked: deleted secret %s/%s, the token bound to it\n", b.Namespace, b.Name)
	a.binding = nil
}

// CommandTree is the command tree as Run builds it, for the generated
// reference (internal/reference): its defaults come from the environment.
func CommandTree() *cobra.Command {
	a := &app{streams: IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}, log: slog.New(slog.DiscardHandler)}
	return a.commands()
}
