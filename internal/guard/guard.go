// Package guard is argo-cred's guard: a second process that undoes what a
// run set up (a per-run Secret, a container) when argo-cred dies without
// undoing it itself: a SIGKILL, a crash, an OOM kill. It holds the read
// end of a pipe from argo-cred; argo-cred writes "done" when it has
// cleaned up itself. The pipe ending without "done" means argo-cred is
// gone: the guard acts. It runs in its own session, so a terminal's
// signals do not reach it.
package guard

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/version"
)

// Command is the hidden first argument that makes argo-cred a guard.
const Command = "__guard"

// Target is what a guard undoes. Only names: they are in the process
// table.
type Target struct {
	// Kubeconfig and Context are where the per-run Secret is.
	Kubeconfig, Context string
	// Container is a container to remove (docker rm -f), if any.
	Container string
	// Namespace, Secret and UID name the per-run Secret of a --bind token
	// to delete, if any (only one with argo-cred's binding labels and
	// that UID).
	Namespace, Secret, UID string
}

// Args are the guard's command-line arguments for t, after Command.
func (t Target) Args() []string {
	args := []string{"--kubeconfig", t.Kubeconfig, "--context", t.Context, "--container", t.Container}
	if t.Secret != "" {
		args = append(args, "--binding", t.Namespace+"/"+t.Secret+"/"+t.UID)
	}
	return args
}

// Guard is a started guard.
type Guard struct {
	w   *os.File
	cmd *exec.Cmd
}

// Start starts a guard of t: argo-cred itself, as Command.
func Start(t Target) (*Guard, error) {
	self, err := os.Executable() // argo-cred itself
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(self, append([]string{Command}, t.Args()...)...)
	cmd.Stdin, cmd.Stderr = r, os.Stderr
	detach(cmd)
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, err
	}
	return &Guard{w: w, cmd: cmd}, nil
}

// Release tells the guard that argo-cred cleaned up itself, and waits for
// it to exit.
func (g *Guard) Release() {
	if g == nil {
		return
	}
	_, _ = g.w.WriteString("done")
	_ = g.w.Close()
	_ = g.cmd.Wait()
}

// orphaned blocks, in the guard, until argo-cred releases it (false) or
// is gone (true).
func orphaned(r io.Reader) bool {
	b, _ := io.ReadAll(io.LimitReader(r, 16))
	return string(b) != "done"
}

// parse reads the guard's arguments (after Command) back into a Target.
func parse(args []string) (Target, error) {
	var t Target
	fs := pflag.NewFlagSet(Command, pflag.ContinueOnError)
	fs.StringVar(&t.Kubeconfig, "kubeconfig", "", "")
	fs.StringVar(&t.Context, "context", "", "")
	fs.StringVar(&t.Container, "container", "", "")
	ref := fs.String("binding", "", "")
	if err := fs.Parse(args); err != nil {
		return t, err
	}
	if parts := strings.Split(*ref, "/"); len(parts) == 3 {
		t.Namespace, t.Secret, t.UID = parts[0], parts[1], parts[2]
	}
	return t, nil
}

// goneAnyway tells whether a container whose removal failed with out is
// gone, or going: the engine's own --rm removal may be in progress (a race
// with it, not a failure), which is waited for, at most 30 s.
func goneAnyway(name, out string) bool {
	if strings.Contains(out, "No such container") {
		return true
	}
	if !strings.Contains(out, "is already in progress") {
		return false
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if exec.Command("docker", "inspect", "--format", "{{.Id}}", name).Run() != nil {
			return true
		}
	}
	return false
}

// Run is the guard process, with args after Command: it waits until
// argo-cred releases it (stdin says "done") or dies, and in the second
// case removes the container and deletes the per-run Secret. Every line
// it prints on stderr goes through text (a redactor's or a cleaner). Its
// exit code tells whether it had to act and succeeded: 0, 1 when it could
// not, 2 for arguments it does not know.
func Run(args []string, stdin io.Reader, stderr io.Writer, text func(string) string) int {
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)
	t, err := parse(args)
	if err != nil {
		return 2
	}
	if !orphaned(stdin) {
		return 0
	}
	code := 0
	if t.Container != "" {
		if out, err := exec.Command("docker", "rm", "-f", t.Container).CombinedOutput(); err != nil && !goneAnyway(t.Container, string(out)) {
			fmt.Fprintf(stderr, "argo-cred guard: could not remove container %s: %s\n", t.Container, text(string(out)))
			code = 1
		} else {
			fmt.Fprintf(stderr, "argo-cred guard: argo-cred ended without cleaning up: removed container %s\n", t.Container)
		}
	}
	if t.Secret != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		kc, err := kube.Load(t.Kubeconfig, t.Context, "argo-cred/"+version.String(), 10*time.Second)
		if err == nil {
			err = identity.DeleteBinding(ctx, kc, t.Namespace, t.Secret, t.UID)
		}
		if err != nil {
			fmt.Fprintf(stderr, "argo-cred guard: could not delete secret %s/%s, so its token stays valid until it expires: %s\n", t.Namespace, t.Secret, text(err.Error()))
			return 1
		}
		fmt.Fprintf(stderr, "argo-cred guard: argo-cred ended without cleaning up: revoked: deleted secret %s/%s, the token bound to it\n", t.Namespace, t.Secret)
	}
	return code
}

// Set is the guards of one run.
type Set struct{ started []started }

type started struct {
	g *Guard
	// secret: it guards a per-run Secret.
	secret bool
}

// Start starts a guard for t and keeps it.
func (s *Set) Start(t Target) error {
	g, err := Start(t)
	if err == nil {
		s.started = append(s.started, started{g: g, secret: t.Secret != ""})
	}
	return err
}

// Release tells each guard there is nothing left to do, but for a per-run
// Secret that is still there (secretLeft): its guard tries once more.
func (s *Set) Release(secretLeft bool) {
	for _, st := range s.started {
		if !st.secret || !secretLeft {
			st.g.Release()
		}
	}
	s.started = nil
}
