package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/redact"
)

// Wrapper is what argo-cred docker runs the argo CLI image with: the
// settings, passed by name only, and what the caller gave.
type Wrapper struct {
	Image, Network string
	Args, Extra    []string
	Mounts         []string // checked by CheckMounts
	Workdir        string   // the working directory (Check)
	Engine         Engine
	Settings       env.Settings
	relay          bool // Settings are the relay's (Front)
}

// Check refuses, before any token is got, an --image that is not an image
// reference, a --mount that is not a directory, and no docker CLI or
// engine; it resolves the mounts and the working directory, and learns
// of the engine.
func (w *Wrapper) Check(ctx context.Context, mounts []string) (err error) {
	if err := CheckImage(w.Image); err != nil {
		return err
	}
	if w.Mounts, err = CheckMounts(mounts); err != nil {
		return err
	}
	if w.Workdir, err = os.Getwd(); err != nil {
		return fmt.Errorf("finding the working directory: %w", err)
	}
	w.Engine, err = Check(ctx)
	return err
}

// Plan is the run of the image in the working directory, named
// argo-cred-RANDOM, with the notes worth telling the caller: arguments
// naming files the container will not see, and a loopback server the
// container reaches only on the host's network. As the caller's uid:gid,
// with a HOME that uid may write to, the container reads the working
// directory's files as the caller does (the image's own uid could not read
// a 0600 file).
func (w Wrapper) Plan(stdin *os.File, tty, loopback bool) (Run, []string) {
	wd := w.Workdir
	r := Run{
		Image: w.Image, Args: w.Args, Workdir: wd, Mounts: w.Mounts, Network: w.Network, Extra: w.Extra,
		User: User(w.Engine.Rootless), Home: ContainerHome,
		Vars:  append(w.Settings.Vars(), env.Var{Name: "KUBECONFIG", Value: "/dev/null"}),
		Stdin: attached(stdin), TTY: tty,
	}
	var notes []string
	for _, p := range Unseen(w.Args, wd, w.Mounts) {
		// The names are printed as one clean line.
		notes = append(notes, fmt.Sprintf("note: %s is outside the working directory %s: the container does not see it; mount its directory read-only with --mount %s",
			redact.Clean(p), redact.Clean(wd), redact.Clean(MountDir(p))))
	}
	if w.Settings.CABundle != "" {
		r.Files = []string{w.Settings.CABundle}
	}
	if r.Network != "host" && loopback {
		notes = append(notes, fmt.Sprintf("note: ARGO_SERVER %s is a loopback address, which a container reaches only with --network host", w.Settings.Server))
	}
	if w.relay {
		notes = append(notes, fmt.Sprintf("note: the container's argo talks to argo-cred's relay on %s, with a per-run ARGO_TOKEN only the relay accepts; the relay renews the token and ends with the container", w.Settings.Server))
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	r.Name = "argo-cred-" + hex.EncodeToString(b)
	return r, notes
}

// attached tells whether f is a terminal or a pipe, worth passing to the
// container as its stdin.
func attached(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&(os.ModeCharDevice|os.ModeNamedPipe) != 0 && !isDevNull(st)
}

func isDevNull(st os.FileInfo) bool {
	null, err := os.Stat(os.DevNull)
	return err == nil && os.SameFile(st, null)
}
