package usage

import (
	"errors"
	"testing"

	"github.com/spf13/cobra"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

func TestHints(t *testing.T) {
	root := &cobra.Command{Use: "argo-cred"}
	env := &cobra.Command{Use: "env"}
	env.Flags().String("secret", "", "")
	root.AddCommand(env)
	for name, tc := range map[string]struct {
		err      error
		wantErr  string
		wantHint string
	}{
		"argument to a command":   {err: NoArgs(env, []string{"x"}), wantErr: `unexpected argument "x"`, wantHint: "see argo-cred env --help"},
		"a boolean's value":       {err: NoArgs(env, []string{"false"}), wantErr: `unexpected argument "false"`, wantHint: "a boolean flag takes its value after '=', e.g. --secure=false"},
		"unknown command":         {err: NoArgs(root, []string{"nope"}), wantErr: `unknown command "nope"`, wantHint: "run argo-cred --help for the commands"},
		"a flag before a command": {err: NoArgs(root, []string{"--secret"}), wantErr: `unknown command "--secret"`, wantHint: "flags go after the command name: argo-cred env --secret …"},
		"a command's flag on root": {err: FlagError(root, errors.New("unknown flag: --secret")), wantErr: "flag provided but not defined: --secret",
			wantHint: "a flag of argo-cred env goes after the command name: argo-cred env --secret …"},
		"-v on root": {err: FlagError(root, errors.New("unknown shorthand flag: 'v' in -v")), wantErr: "flag provided but not defined: -v",
			wantHint: "-v is --verbose, which goes after the command name (argo-cred env -v …); the version: argo-cred version, or argo-cred --version"},
		"a duration without unit": {err: FlagError(env, errors.New(`invalid argument "5" for "--wait" flag: time: missing unit in duration "5"`)),
			wantErr: `invalid argument "5" for "--wait" flag: time: missing unit in duration "5"`, wantHint: "a duration needs a unit: 500ms, 5s, 2m, 1h"},
	} {
		t.Run(name, func(t *testing.T) {
			if exitcode.Of(tc.err) != exitcode.Usage || tc.err.Error() != tc.wantErr || exitcode.Hint(tc.err) != tc.wantHint {
				t.Errorf("got %q (code %d, hint %q); want %q, hint %q", tc.err, exitcode.Of(tc.err), exitcode.Hint(tc.err), tc.wantErr, tc.wantHint)
			}
		})
	}
	if NoArgs(env, nil) != nil {
		t.Error("no arguments refused")
	}
}
