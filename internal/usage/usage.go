// Package usage turns what cobra refuses (an unknown flag, a value that
// does not parse, an unexpected argument) into one error with the usage
// exit code and a hint for the usual slip.
package usage

import (
	"errors"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

// NoArgs refuses positional arguments, with a hint for the usual slips:
// a cobra.PositionalArgs.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		hint := "run argo-cred --help for the commands"
		if strings.HasPrefix(args[0], "-") {
			hint = "flags go after the command name: argo-cred env --secret …"
		}
		return exitcode.New(exitcode.Usage, hint, "unknown command %q", args[0])
	}
	hint := "see " + cmd.CommandPath() + " --help"
	if slices.Contains([]string{"true", "false"}, args[0]) {
		hint = "a boolean flag takes its value after '=', e.g. --secure=false"
	}
	return exitcode.New(exitcode.Usage, hint, "unexpected argument %q", args[0])
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FlagError classifies a flag that does not parse, with a hint for the
// usual slips.
func FlagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	hint := "see " + cmd.CommandPath() + " --help"
	switch {
	case strings.HasPrefix(msg, "unknown flag: ") || strings.HasPrefix(msg, "unknown shorthand flag: "):
		name := strings.TrimPrefix(msg, "unknown flag: ")
		lookup := func(fs *pflag.FlagSet) *pflag.Flag { return fs.Lookup(strings.TrimLeft(name, "-")) }
		if rest, ok := strings.CutPrefix(msg, "unknown shorthand flag: "); ok {
			// pflag says "unknown shorthand flag: 'v' in -v".
			short, _, _ := strings.Cut(strings.Trim(rest, "'"), "'")
			name = "-" + short
			lookup = func(fs *pflag.FlagSet) *pflag.Flag { return fs.ShorthandLookup(short) }
		}
		msg = "flag provided but not defined: " + name
		subs := slices.Clone(cmd.Commands())
		slices.SortStableFunc(subs, func(x, y *cobra.Command) int { return boolInt(y.Name() == "env") - boolInt(x.Name() == "env") })
		for _, sub := range subs {
			if f := lookup(sub.Flags()); f != nil && cmd.HasSubCommands() {
				hint = "a flag of " + sub.CommandPath() + " goes after the command name: " + sub.CommandPath() + " " + name + " …"
				break
			}
		}
		if name == "-v" && !cmd.HasParent() {
			hint = "-v is --verbose, which goes after the command name (argo-cred env -v …); the version: argo-cred version, or argo-cred --version"
		}
	case strings.Contains(msg, "missing unit in duration"):
		hint = "a duration needs a unit: 500ms, 5s, 2m, 1h"
	case strings.Contains(msg, "strconv.ParseBool"):
		hint = "a boolean flag takes true or false after '=', e.g. --secure=false"
	}
	return exitcode.Wrap(exitcode.Usage, hint, errors.New(msg))
}
