package version

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWrite(t *testing.T) {
	b := Info{Version: "v1.2.3", Commit: "abc", Go: "go1.25.0", Platform: "linux/amd64", ArgoClient: "v3.7.0"}
	for _, tc := range []struct {
		name, output string
		info         Info
		want         string
	}{
		{"text", "text", b, "argo-cred v1.2.3\n  commit: abc\n  built: -\n  go: go1.25.0 linux/amd64\n  argo apiclient: v3.7.0\n"},
		{"text, nothing known", "", Info{Version: "(devel)", Go: "go1.25.0", Platform: "linux/amd64"},
			"argo-cred (devel)\n  commit: -\n  built: -\n  go: go1.25.0 linux/amd64\n  argo apiclient: -\n"},
		{"json", "json", b, `{
  "version": "v1.2.3",
  "commit": "abc",
  "go": "go1.25.0",
  "platform": "linux/amd64",
  "argoApiclient": "v3.7.0"
}
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := tc.info.Write(&out, tc.output); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCurrent(t *testing.T) {
	defer func(v, c, d string) { Version, Commit, Date = v, c, d }(Version, Commit, Date)
	Version, Commit, Date = "v9.9.9", "deadbeef", "2025-01-02T03:04:05Z"
	var out bytes.Buffer
	if err := Write(&out, "json"); err != nil {
		t.Fatal(err)
	}
	var got Info
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Version != "v9.9.9" || got.Commit != "deadbeef" || got.Date != "2025-01-02T03:04:05Z" || got.Go == "" || got.Platform == "" {
		t.Errorf("got %+v; want the -X values, a Go version and a platform", got)
	}
	if String() != "v9.9.9" {
		t.Errorf("String() = %q; want v9.9.9", String())
	}
	Version = ""
	if s := String(); s == "" {
		t.Error(`String() = ""; want the module's version or (devel)`)
	}
}
