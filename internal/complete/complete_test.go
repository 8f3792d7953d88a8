package complete

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	cred "github.com/argo-cred/argo-cred/internal/credential"
)

// names drops the descriptions of completions.
func names(cs []string) []string {
	var out []string
	for _, c := range cs {
		v, _, _ := strings.Cut(c, "\t")
		out = append(out, v)
	}
	return out
}

// --expect, --allow and --for complete the last item typed, by their grammar.
func TestGrammar(t *testing.T) {
	tests := map[string]struct {
		got, want []string
	}{
		"expect create":      {Expect("allow:workflows/c"), []string{"allow:workflows/create"}},
		"expect second item": {Expect("allow:workflows/list,deny:cron"), []string{"allow:workflows/list,deny:cronworkflows/list"}},
		"allow resource":     {Allow("cron"), []string{"cronworkflows:"}},
		"allow verb":         {Allow("workflows:list,de"), []string{"workflows:list,delete", "workflows:list,deletecollection"}},
		"allow core":         {Allow("pods:"), []string{"pods:delete", "pods:list", "pods:watch"}},
		"allow core verb":    {Allow("pods/log:get,"), nil},
		"allow unknown":      {Allow("secrets:"), nil},
		"for":                {names(For("s")), []string{"submit", "submit-from"}},
		"for second item":    {names(For("submit,")), []string{"submit,wait", "submit,logs", "submit,read", "submit,manage", "submit,cron", "submit,submit-from"}},
		"for last item":      {names(For("logs,submit,w")), []string{"logs,submit,wait"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// --source offers every source of credential.Sources, with what it reads.
func TestSources(t *testing.T) {
	got, directive := Flags("env", nil)["source"](&cobra.Command{}, nil, "")
	var want []string
	for _, s := range cred.Sources {
		want = append(want, s.Name+"\t"+s.About)
	}
	if diff := cmp.Diff(want, got); diff != "" || directive != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("directive %d; (-want +got):\n%s", directive, diff)
	}
}

// A context whose user runs a credential plugin is never asked for
// clients: completion would wait on it.
func TestNeedsPlugin(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(`{"apiVersion":"v1","kind":"Config","clusters":[{"name":"c","cluster":{"server":"https://127.0.0.1:1"}}],`+
		`"users":[{"name":"u","user":{"token":"x"}},{"name":"p","user":{"exec":{"apiVersion":"client.authentication.k8s.io/v1","command":"false"}}}],`+
		`"contexts":[{"name":"token","context":{"cluster":"c","user":"u"}},{"name":"plugin","context":{"cluster":"c","user":"p"}}],"current-context":"plugin"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for context, want := range map[string]bool{"": true, "plugin": true, "token": false} {
		if got := NeedsPlugin(kc, context); got != want {
			t.Errorf("NeedsPlugin(%q) = %t; want %t", context, got, want)
		}
	}
	if got := Clients(t.Context(), Cluster{Kubeconfig: kc, Context: "plugin", Namespace: "ci", LookupEnv: os.LookupEnv}); got != nil {
		t.Errorf("clients through a plugin: %q; want none", got)
	}
	if got := Contexts(Cluster{Kubeconfig: kc, LookupEnv: os.LookupEnv}); !cmp.Equal(got, []string{"plugin", "token"}) {
		t.Errorf("contexts: %q; want plugin, token", got)
	}
}
