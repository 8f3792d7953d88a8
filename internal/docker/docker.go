// Package docker runs the argo CLI image with `docker run`, passing every
// setting by name only (`-e NAME`, the value in the docker CLI's own
// environment, as GitHub's runner does), so no value is in any process's
// command line. It talks to the engine through the docker CLI, which
// honours the user's contexts and configuration.
package docker

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/argo-cred/argo-cred/internal/child"
	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
)

// DefaultImage is the argocli image whose version matches the argo
// apiclient argo-cred was built with.
func DefaultImage() string {
	v := "v3.7.9"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/argoproj/argo-workflows/v3" && strings.HasPrefix(d.Version, "v") {
				v = d.Version
			}
		}
	}
	return "quay.io/argoproj/argocli:" + v
}

// imageRef is the grammar of an image reference (distribution/reference):
// [DOMAIN[:PORT]/]PATH[:TAG][@DIGEST].
var imageRef = func() *regexp.Regexp {
	label := `[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?`
	domain := `(?:` + label + `(?:\.` + label + `)*(?::[0-9]+)?/)?`
	component := `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`
	tag := `(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?`
	digest := `(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?`
	return regexp.MustCompile(`^` + domain + component + `(?:/` + component + `)*` + tag + digest + `$`)
}()

// CheckImage refuses what is not an image reference: an --image starting
// with '-' would be read by docker run as an option (--volume=/:/host).
func CheckImage(ref string) error {
	if len(ref) > 512 || !imageRef.MatchString(ref) {
		return exitcode.New(exitcode.Usage, "give an image reference such as quay.io/argoproj/argocli:v3.7.9 (docker run options go in --docker-arg)",
			"--image %s is not an image reference", strconv.QuoteToASCII(redactLong(ref)))
	}
	return nil
}

func redactLong(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// Run is one `docker run --rm` of the argo CLI image.
type Run struct {
	Name    string // the container's name, for a guard to remove it
	Image   string
	Vars    []env.Var // passed by name
	Args    []string  // the container's arguments (argo's)
	Workdir string    // mounted at the same path and used as the working directory
	Files   []string  // mounted read-only at the same path (a CA bundle)
	Network string
	Extra   []string // more docker run arguments, before the image
	Stdin   bool     // -i
	TTY     bool     // -t
}

// Command returns the docker CLI's arguments and the environment entries
// to add to its own: every value goes into the environment, never into an
// argument.
func (r Run) Command() (args, environ []string) {
	args = []string{"run", "--rm"}
	if r.Name != "" {
		args = append(args, "--name", r.Name)
	}
	if r.Stdin {
		args = append(args, "-i")
	}
	if r.TTY {
		args = append(args, "-t")
	}
	if r.Network != "" {
		args = append(args, "--network", r.Network)
	}
	if r.Workdir != "" {
		args = append(args, "-v", r.Workdir+":"+r.Workdir, "-w", r.Workdir)
	}
	for _, f := range r.Files {
		args = append(args, "-v", f+":"+f+":ro")
	}
	for _, v := range r.Vars {
		args = append(args, "-e", v.Name)
		environ = append(environ, v.Name+"="+v.Value)
	}
	args = append(append(args, r.Extra...), r.Image)
	return append(args, r.Args...), environ
}

// Check says, in one error of class Usage, why docker cannot be used: no
// CLI, or no engine it can reach.
func Check(ctx context.Context) error {
	path, err := exec.LookPath("docker")
	if err != nil {
		return exitcode.New(exitcode.Usage, "install the docker CLI, or use argo-cred exec or env", "the docker CLI is not installed (not in PATH)")
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "version", "--format", "{{.Server.Version}}").CombinedOutput()
	if err != nil {
		line, _, _ := strings.Cut(strings.TrimSpace(string(bytes.TrimPrefix(out, []byte("Error response from daemon: ")))), "\n")
		return exitcode.New(exitcode.Usage, "start the Docker engine, or check DOCKER_HOST and the docker context",
			"no Docker engine reachable: %s", line)
	}
	return nil
}

// Exec runs docker with r and returns the container's exit code. SIGINT and
// SIGTERM that reach argo-cred go on to the docker CLI, which proxies them
// into the container; a docker CLI killed by a signal is 128+signal.
func Exec(environ []string, r Run, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	args, vars := r.Command()
	cmd := exec.Command("docker", args...)
	cmd.Env = append(environ, vars...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if !r.Stdin {
		cmd.Stdin = nil
	}
	return child.Run(cmd)
}
