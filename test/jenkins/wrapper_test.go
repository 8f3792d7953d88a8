package jenkins

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// The wrapper on its own, made by setup.sh as the step's sh runs it: it
// refuses argo auth token however the words are spaced by flags, and it
// runs no argo from a relative PATH entry (the workspace, under the usual
// working directory), as Go's exec.LookPath refuses one.
func TestWrapper(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokenFile, cred, real, ws := filepath.Join(dir, "token"), filepath.Join(dir, "cred"), filepath.Join(dir, "real"), filepath.Join(dir, "ws")
	must(t, os.WriteFile(tokenFile, []byte("tok.wrapper-test-0123456789"), 0o600))
	for _, d := range []string{cred, real, ws} {
		must(t, os.MkdirAll(d, 0o700))
	}
	must(t, os.WriteFile(filepath.Join(real, "argo"), []byte("#!/bin/sh\necho \"real argo $*\"\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(ws, "argo"), []byte("#!/bin/sh\necho \"hostile argo $ARGO_TOKEN\"\n"), 0o755))
	script, err := os.ReadFile(filepath.Join(testenv.Root(), "resources", "io", "argocred", "setup.sh"))
	must(t, err)
	setup := exec.Command("sh", "-c", "set -- --source=file --token-file="+tokenFile+" --server=argo.example:2746 --namespace=ci --probe=false --skip-identity-check=true\n"+string(script))
	setup.Env = append(os.Environ(), "ARGO_CRED_DIR="+cred, "ARGO_CRED_BIN="+binary, "ARGO_CRED_RELAY=never")
	if out, err := setup.CombinedOutput(); err != nil {
		t.Fatalf("setup.sh: %v\n%s", err, out)
	}
	base := os.Getenv("PATH")
	cases := map[string]struct {
		path string
		args []string
		want string // in the output
		code int
	}{
		"list":                     {path: real, args: []string{"list"}, want: "real argo list"},
		"auth token":               {path: real, args: []string{"auth", "token"}, want: "would print the token", code: 2},
		"auth -v token":            {path: real, args: []string{"auth", "-v", "token"}, want: "would print the token", code: 2},
		"auth --loglevel=x token":  {path: real, args: []string{"auth", "--loglevel=debug", "token"}, want: "would print the token", code: 2},
		"--argo-server x auth tok": {path: real, args: []string{"--argo-server", "x", "auth", "token"}, want: "would print the token", code: 2},
		"dot before argo":          {path: ".:" + real, args: []string{"list"}, want: "real argo list"},
		"empty entry before argo":  {path: ":" + real, args: []string{"list"}, want: "real argo list"},
		"relative entry only":      {path: "../ws", args: []string{"list"}, want: "no argo CLI in PATH", code: 127},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(filepath.Join(cred, "bin", "argo"), tc.args...)
			cmd.Dir = ws
			cmd.Env = append(os.Environ(), "PATH="+filepath.Join(cred, "bin")+":"+tc.path+":"+base, "ARGO_CRED_RELAY=never")
			out, err := cmd.CombinedOutput()
			code := 0
			if e, ok := err.(*exec.ExitError); ok {
				code = e.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(string(out), tc.want) || strings.Contains(string(out), "hostile") {
				t.Errorf("argo %s: exit %d, %q; want exit %d and %q, no hostile argo", strings.Join(tc.args, " "), code, out, tc.code, tc.want)
			}
		})
	}
}
