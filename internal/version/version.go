// Package version is what argo-cred says of its build: the version, the
// commit and date it was built from, and the argo-workflows module it talks
// to the Argo Server with.
package version

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Version, Commit and Date are set at build time with -ldflags
// "-X github.com/argo-cred/argo-cred/internal/version.Version=v1.2.3"
// (make dist: also …/internal/version.Commit=… and …/internal/version.Date=…).
var (
	Version = ""
	Commit  = ""
	Date    = ""
)

// String is the version argo-cred reports (and puts in its user agents):
// Version, else the module's version, else "(devel)".
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// Info is what `argo-cred version` tells.
type Info struct {
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	Date       string `json:"date,omitempty"`
	Go         string `json:"go"`
	Platform   string `json:"platform"`
	ArgoClient string `json:"argoApiclient"` // the argo-workflows module argo-cred talks to the Argo Server with
}

// Current is this binary's build.
func Current() Info {
	b := Info{Version: String(), Commit: Commit, Date: Date, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/argoproj/argo-workflows/v3" {
				b.ArgoClient = d.Version
			}
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && b.Commit == "" {
				b.Commit = s.Value
			}
		}
	}
	return b
}

// Write prints the current build to w: as JSON for output "json", else as
// lines of text.
func Write(w io.Writer, output string) error {
	return Current().Write(w, output)
}

// Write prints b to w: as JSON for output "json", else as lines of text.
func (b Info) Write(w io.Writer, output string) error {
	if output == "json" {
		out, err := json.MarshalIndent(b, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(out, '\n'))
		return err
	}
	_, err := fmt.Fprintf(w, "argo-cred %s\n  commit: %s\n  built: %s\n  go: %s %s\n  argo apiclient: %s\n",
		b.Version, cmp.Or(b.Commit, "-"), cmp.Or(b.Date, "-"), b.Go, b.Platform, cmp.Or(b.ArgoClient, "-"))
	return err
}
