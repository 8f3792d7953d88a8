package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Commit and Date are set at build time, as Version is (make dist:
// -X …/internal/cli.Commit=… -X …/internal/cli.Date=…).
var (
	Commit = ""
	Date   = ""
)

// buildInfo is what `argo-cred version` tells.
type buildInfo struct {
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	Date       string `json:"date,omitempty"`
	Go         string `json:"go"`
	Platform   string `json:"platform"`
	ArgoClient string `json:"argoApiclient"` // the argo-workflows module argo-cred talks to the Argo Server with
}

func currentBuild() buildInfo {
	b := buildInfo{Version: version(), Commit: Commit, Date: Date, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
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

func writeVersion(w io.Writer, output string) error {
	b := currentBuild()
	if output == "json" {
		out, err := json.MarshalIndent(b, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(out, '\n'))
		return err
	}
	_, err := fmt.Fprintf(w, "argo-cred %s\n  commit: %s\n  built: %s\n  go: %s %s\n  argo apiclient: %s\n",
		b.Version, orDash(b.Commit), orDash(b.Date), b.Go, b.Platform, orDash(b.ArgoClient))
	return err
}
