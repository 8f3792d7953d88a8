package docker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/env"
)

func TestPlan(t *testing.T) {
	wd := t.TempDir()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	elsewhere := t.TempDir()
	wf := filepath.Join(elsewhere, "wf.yaml")
	if err := os.WriteFile(wf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	w := Wrapper{Image: "img:1", Args: []string{"submit", wf}, Workdir: wd, Settings: env.Settings{Server: "127.0.0.1:2746", CABundle: "/c/ca.pem"}}
	r, notes := w.Plan(devnull, false, true)
	want := []string{
		"note: " + wf + " is outside the working directory " + wd + ": the container does not see it; mount its directory read-only with --mount " + elsewhere,
		"note: ARGO_SERVER 127.0.0.1:2746 is a loopback address, which a container reaches only with --network host",
	}
	if diff := cmp.Diff(want, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if r.Stdin || r.TTY || r.Workdir != wd || !strings.HasPrefix(r.Name, "argo-cred-") || len(r.Name) != len("argo-cred-")+12 {
		t.Errorf("run %+v: want no stdin from /dev/null, no TTY when not asked, the working directory, a random argo-cred- name", r)
	}
	if diff := cmp.Diff([]string{"/c/ca.pem"}, r.Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	w.Network = "host"
	if _, notes := w.Plan(devnull, false, true); len(notes) != 1 {
		t.Errorf("with --network host: notes %q; want only the unseen file's", notes)
	}
}
