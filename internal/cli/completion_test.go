package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/export"
	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/profile"
)

// offered runs the hidden command the shells' completion scripts call
// and returns the values offered (without descriptions) and the directive
// line. Completion writes only to stdout, and exits 0.
func offered(t *testing.T, args ...string) (values []string, directive string) {
	t.Helper()
	stdout, stderr, code := runCLI(append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %q: exit %d, stderr %q", args, code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	directive = lines[len(lines)-1]
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		values = append(values, v)
	}
	return values, directive
}

// Flag values complete from the lists argo-cred checks them against, each
// offered value accepted by the parser of its flag.
func TestCompletionValues(t *testing.T) {
	clearArgoEnv(t)
	var sources []string
	for _, s := range cred.Sources {
		sources = append(sources, s.Name)
	}
	tests := map[string]struct {
		args []string
		want []string
	}{
		"env --format":        {[]string{"env", "--format", ""}, export.Names()},
		"env --format prefix": {[]string{"env", "--format", "j"}, []string{"json", "jenkins"}},
		"provision --format":  {[]string{"provision", "--format", ""}, export.Names()},
		"probe --source":      {[]string{"probe", "--source", ""}, sources},
		"exec --source":       {[]string{"exec", "--source", "git"}, []string{"github-oidc"}},
		"probe -o":            {[]string{"probe", "-o", ""}, []string{"table", "json"}},
		"clients --output":    {[]string{"clients", "--output", "j"}, []string{"json"}},
		"version -o":          {[]string{"version", "-o", ""}, []string{"json"}},
		"oidc-config --only":  {[]string{"oidc-config", "--only", ""}, []string{"authentication-config", "rbac"}},
		"expect create":       {[]string{"env", "--expect", "allow:workflows/c"}, []string{"allow:workflows/create"}},
		"expect second item":  {[]string{"probe", "--expect", "allow:workflows/list,deny:cron"}, []string{"allow:workflows/list,deny:cronworkflows/list"}},
		"allow resource":      {[]string{"provision", "--allow", "cron"}, []string{"cronworkflows:"}},
		"allow verb":          {[]string{"oidc-config", "--allow", "workflows:list,de"}, []string{"workflows:list,delete", "workflows:list,deletecollection"}},
		"allow core":          {[]string{"provision", "--allow", "pods/log:"}, []string{"pods/log:get"}},
		"allow unknown":       {[]string{"provision", "--allow", "secrets:"}, nil},
		"provision --for":     {[]string{"provision", "--for", "submit,w"}, []string{"submit,wait"}},
		"exec --for":          {[]string{"exec", "--for", "l"}, []string{"logs"}},
		"probe --for":         {[]string{"probe", "--for", "read,"}, []string{"read,submit", "read,wait", "read,logs", "read,manage", "read,cron", "read,submit-from"}},
		"no arguments":        {[]string{"env", ""}, nil},
		"no files for secret": {[]string{"env", "--secret", ""}, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, directive := offered(t, tc.args...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// 4: no file names; 6: nor a space after (--allow, a list).
			if directive != ":4" && directive != ":6" {
				t.Errorf("directive %s; want no file completion", directive)
			}
		})
	}

	// Every value offered parses.
	for _, s := range sources {
		if got, err := cred.Choose(&cred.Request{SourceFlags: cred.SourceFlags{Source: s}}); err != nil || got.Name != s {
			t.Errorf("--source %s offered, and refused: %v", s, err)
		}
	}
	expects, _ := offered(t, "probe", "--expect", "")
	if len(expects) != 2*len(probe.Resources)+2 {
		t.Errorf("--expect offers %d values; want allow: and deny: of each resource's list, and of workflows/create:\n%v", len(expects), expects)
	}
	for _, e := range expects {
		if _, err := probe.ParseExpectation(e); err != nil {
			t.Errorf("--expect %s offered, and refused: %v", e, err)
		}
	}
	resources, _ := offered(t, "provision", "--allow", "")
	if len(resources) != len(identity.Resources)+len(identity.CoreResources) {
		t.Errorf("--allow offers %v; want each of %v and of %v", resources, identity.Resources, identity.CoreResources)
	}
	for _, r := range resources {
		verbs, _ := offered(t, "provision", "--allow", r)
		want := identity.Verbs
		if core, ok := identity.CoreResources[strings.TrimSuffix(r, ":")]; ok {
			want = core
		}
		if len(verbs) != len(want) {
			t.Errorf("--allow %s offers %v; want each of %v", r, verbs, want)
		}
		for _, v := range verbs {
			if _, err := identity.ParseGrant(v); err != nil {
				t.Errorf("--allow %s offered, and refused: %v", v, err)
			}
		}
	}
	for _, cmd := range []string{"provision", "env", "exec", "probe", "docker"} {
		fors, _ := offered(t, cmd, "--for", "")
		if diff := cmp.Diff(profile.Names(), fors); diff != "" {
			t.Errorf("%s --for (-want +got):\n%s", cmd, diff)
		}
		for _, f := range fors {
			if _, err := profile.Parse([]string{"submit," + f}); err != nil {
				t.Errorf("%s --for %s offered, and refused: %v", cmd, f, err)
			}
		}
	}
	// A verb given is not offered again.
	if again, _ := offered(t, "provision", "--allow", "workflows:list,"); slices.Contains(again, "workflows:list,list") || len(again) != len(identity.Verbs)-1 {
		t.Errorf("--allow workflows:list, offers %v", again)
	}
}

// --client and --context need a kubeconfig: without one, nothing is
// offered and nothing is said (an error would land in the command line).
func TestCompletionWithoutKubeconfig(t *testing.T) {
	clearArgoEnv(t)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	for _, args := range [][]string{
		{"clients", "--client", ""},
		{"revoke", "--namespace", "ci", "--client", ""},
		{"provision", "--kubeconfig", filepath.Join(t.TempDir(), "missing"), "--client", ""},
		{"env", "--context", ""},
	} {
		stdout, stderr, code := runCLI(append([]string{"__complete"}, args...)...)
		if code != 0 || stdout != ":4\n" || strings.Contains(stderr, "error") {
			t.Errorf("__complete %q: exit %d, stdout %q, stderr %q; want exit 0, nothing offered, no error", args, code, stdout, stderr)
		}
	}
}

// -v is --verbose wherever it is a flag; at the top level, where it once
// printed the version, it is a usage error that says where it goes and how
// to get the version.
func TestVerboseShorthand(t *testing.T) {
	clearArgoEnv(t)
	stdout, stderr, code := runCLI("-v")
	if code != 2 || stdout != "" || !strings.Contains(stderr, "error: flag provided but not defined: -v; -v is --verbose, which goes after the command name (argo-cred env -v …); the version: argo-cred version, or argo-cred --version") {
		t.Errorf("-v: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// Flags go after the command name, -v too.
	if stdout, stderr, code := runCLI("-v", "env"); code != 2 || stdout != "" || !strings.Contains(stderr, "-v is --verbose, which goes after the command name") {
		t.Errorf("-v env: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, stderr, _ := runCLI("env", "-v", "--token-file", "/nonexistent", "--server", "a:1"); !strings.Contains(stderr, "level=DEBUG") {
		t.Errorf("env -v: no debug lines:\n%s", stderr)
	}
	for _, cmd := range []string{"env", "probe", "exec", "docker", "provision", "rotate", "revoke", "clients", "oidc-config"} {
		root := (&app{}).commands()
		sub, _, err := root.Find([]string{cmd})
		if err != nil {
			t.Fatal(err)
		}
		if f := sub.Flags().ShorthandLookup("v"); f == nil || f.Name != "verbose" {
			t.Errorf("%s -v is %v; want --verbose", cmd, f)
		}
	}
	// A shorthand another command has is named in the hint.
	if _, stderr, code := runCLI("-o", "json"); code != 2 || !strings.Contains(stderr, "a flag of argo-cred clients goes after the command name: argo-cred clients -o …") {
		t.Errorf("-o json: exit %d, stderr %q", code, stderr)
	}
}

// --context completes from the kubeconfig named (or KUBECONFIG), offline.
func TestCompletionContexts(t *testing.T) {
	clearArgoEnv(t)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(`{"apiVersion":"v1","kind":"Config","clusters":[{"name":"c","cluster":{"server":"https://127.0.0.1:1"}}],`+
		`"users":[{"name":"u","user":{"token":"x"}}],"contexts":[{"name":"prod","context":{"cluster":"c","user":"u"}},`+
		`{"name":"staging","context":{"cluster":"c","user":"u"}},{"name":"two\nlines","context":{"cluster":"c","user":"u"}}],"current-context":"prod"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := offered(t, "env", "--kubeconfig", kc, "--context", ""); !slices.Equal(got, []string{"prod", "staging"}) {
		t.Errorf("--context with --kubeconfig: %q; want prod, staging", got)
	}
	t.Setenv("KUBECONFIG", kc)
	if got, _ := offered(t, "provision", "--context", "st"); !slices.Equal(got, []string{"staging"}) {
		t.Errorf("--context st with KUBECONFIG: %q; want staging", got)
	}
}
