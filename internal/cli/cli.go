// Package cli is argo-cred's command line: it parses flags and environment
// into options and calls the token, env, probe and export packages.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/redact"
)

// Version is set at build time with -ldflags "-X …/internal/cli.Version=v1.2.3".
var Version = ""

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
}

// Run runs argo-cred with args (without the program name) and returns the
// exit code. It prints one error line on ErrOut when something fails.
func Run(ctx context.Context, args []string, streams IOStreams) int {
	a := &app{streams: streams, log: slog.New(slog.DiscardHandler)}
	err := a.run(ctx, args)
	if errors.Is(err, flag.ErrHelp) {
		return int(exitcode.OK)
	}
	if err != nil && ctx.Err() != nil {
		err = exitcode.Wrap(exitcode.Interrupted, "", fmt.Errorf("interrupted (%w)", err))
	}
	if err != nil {
		line := "error: " + err.Error()
		if h := exitcode.Hint(err); h != "" {
			line += "; " + h
		}
		// One line, without the token, whatever the error carries.
		fmt.Fprintln(streams.ErrOut, a.red.Text(line))
	}
	return int(exitcode.Of(err))
}

func (a *app) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		a.usage()
		return exitcode.New(exitcode.Usage, "", "no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "env":
		return a.env(ctx, rest)
	case "probe":
		return a.probe(ctx, rest)
	case "version", "--version":
		fmt.Fprintln(a.streams.Out, "argo-cred", version())
		return nil
	case "help", "-h", "--help", "-help":
		a.streams.ErrOut, a.streams.Out = a.streams.Out, a.streams.ErrOut
		a.usage()
		return nil
	default:
		a.usage()
		return exitcode.New(exitcode.Usage, "", "unknown command %q", cmd)
	}
}

// setVerbose turns on debug logs on stderr, each stamped with the time since
// start, so -v also shows where the time goes.
func (a *app) setVerbose(v bool) {
	if !v {
		return
	}
	start := time.Now()
	a.log = slog.New(slog.NewTextHandler(a.streams.ErrOut, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, at slog.Attr) slog.Attr {
			if at.Key == slog.TimeKey {
				return slog.String("elapsed", time.Since(start).Round(10*time.Microsecond).String())
			}
			return at
		},
	}))
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func (a *app) usage() {
	fmt.Fprint(a.streams.ErrOut, `argo-cred gives CI a verified, least-privilege credential for the Argo Workflows Server.

Usage:
  argo-cred env [flags]     get a token, check it against the Argo Server, print the ARGO_* settings
  argo-cred probe [flags]   get a token and print only the verdict of the check
  argo-cred version         print the version

Run "argo-cred env --help" for the flags.

`+exitcode.Help())
}

func commandUsage(w io.Writer, cmd, what string) func(*flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		fmt.Fprintf(w, "Usage: argo-cred %s [flags]\n\n%s\n\nFlags (each also read from the environment variable named; a flag wins):\n", cmd, what)
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			dash := "--"
			if len(f.Name) == 1 {
				dash = "-"
			}
			def := ""
			if f.DefValue != "" && f.DefValue != "false" {
				def = " (now " + f.DefValue + ")"
			}
			fmt.Fprintf(w, "  %s\n      %s%s\n", strings.TrimSpace(dash+f.Name+" "+name), strings.ReplaceAll(usage, "\n", "\n      "), def)
		})
		fmt.Fprint(w, "\n"+exitcode.Help())
	}
}

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
