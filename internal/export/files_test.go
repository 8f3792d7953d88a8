package export

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
)

func TestWriteFiles(t *testing.T) {
	vars := []env.Var{{Name: "ARGO_SERVER", Value: "argo:2746"}, {Name: "ARGO_TOKEN", Value: "Bearer a.b.c"}}
	for _, tc := range []struct {
		name, format string
		existingSh   string // the .sh companion there before, if not ""
		want         map[string]string
		wantErr      string // of Check, or of WriteFiles when Check passes
	}{
		{name: "json", format: "json", want: map[string]string{"out": "{\n  \"ARGO_SERVER\": \"argo:2746\",\n  \"ARGO_TOKEN\": \"Bearer a.b.c\"\n}\n"}},
		{name: "dotenv, no companion", format: "dotenv", existingSh: "mine", want: map[string]string{"out": "ARGO_SERVER=argo:2746\nARGO_TOKEN=Bearer a.b.c\n", "out.sh": "mine"}},
		{name: "jenkins and its .sh", format: "jenkins", want: map[string]string{"out": "", "out.sh": ""}},
		{name: "jenkins over its own .sh", format: "jenkins", existingSh: jenkinsShellMarker + "\nold\n", want: map[string]string{"out": "", "out.sh": ""}},
		{name: "jenkins over someone's .sh", format: "jenkins", existingSh: "#!/bin/sh\nrm -rf ~\n",
			want: map[string]string{"out.sh": "#!/bin/sh\nrm -rf ~\n"}, wantErr: "--output-file: %s.sh exists and argo-cred did not write it: not written by argo-cred"},
		{name: "unknown format", format: "xml", want: map[string]string{}, wantErr: `unknown --format "xml"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out")
			if tc.existingSh != "" {
				if err := os.WriteFile(path+".sh", []byte(tc.existingSh), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := Check(tc.format, path)
			if err == nil {
				err = WriteFiles(tc.format, path, vars)
			}
			if want := strings.ReplaceAll(tc.wantErr, "%s", path); (err == nil) != (want == "") || (err != nil && err.Error() != want) {
				t.Fatalf("got error %v; want %q", err, want)
			}
			if err != nil {
				if exitcode.Of(err) != exitcode.Usage {
					t.Errorf("exit code %d; want %d", exitcode.Of(err), exitcode.Usage)
				}
				if tc.existingSh != "" && (!errors.Is(err, files.ErrNotOwned) || exitcode.Hint(err) != "check --output-file") {
					t.Errorf("got %v, hint %q; want ErrNotOwned and hint %q", err, exitcode.Hint(err), "check --output-file")
				}
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != len(tc.want) {
				t.Errorf("%d files in the directory; want %d", len(entries), len(tc.want))
			}
			for name, want := range tc.want {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if want != "" && string(got) != want {
					t.Errorf("%s = %q; want %q", name, got, want)
				}
				if name == "out.sh" && tc.format == "jenkins" && tc.wantErr == "" && !IsJenkinsShell(got) {
					t.Errorf("out.sh = %q; want the shell form", got)
				}
			}
		})
	}
}
