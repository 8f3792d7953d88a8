// Package docker runs the argo CLI image with `docker run`, passing every
// setting by name only (`-e NAME`, the value in the docker CLI's own
// environment, as GitHub's runner does), so no value is in any process's
// command line; only the container's HOME, no secret, is given by value.
// The container runs as the caller's uid:gid, so it reads the files of the
// working directory as the caller does. It talks to the engine through the
// docker CLI, which honours the user's contexts and configuration.
package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
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
	Mounts  []string  // directories mounted read-only at the same path (--mount)
	// User is docker run --user (the caller's UID:GID, so that the files
	// of the working directory are readable as they are on the host), and
	// Home the container's HOME, a directory that user may write to.
	User    string
	Home    string
	Network string
	Extra   []string // more docker run arguments, before the image
	Stdin   bool     // -i
	TTY     bool     // -t
	Verbose bool     // Exec prints the docker command line (names, no values)
}

// Command returns the docker CLI's arguments and the environment entries
// to add to its own: every value goes into the environment, never into an
// argument. HOME is the exception: the docker CLI reads its own
// configuration from $HOME/.docker, so the container's HOME, which is no
// secret, is on argv.
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
	if r.User != "" {
		args = append(args, "--user", r.User)
	}
	if r.Workdir != "" {
		args = append(args, "-v", r.Workdir+":"+r.Workdir, "-w", r.Workdir)
	}
	seen := map[string]bool{r.Workdir: true} // docker refuses a mount point twice
	for _, d := range r.Mounts {
		if !seen[d] {
			seen[d] = true
			args = append(args, "-v", d+":"+d+":ro")
		}
	}
	for _, f := range r.Files {
		args = append(args, "-v", f+":"+f+":ro")
	}
	if r.Home != "" {
		args = append(args, "-e", "HOME="+r.Home)
	}
	for _, v := range r.Vars {
		args = append(args, "-e", v.Name)
		environ = append(environ, v.Name+"="+v.Value)
	}
	args = append(append(args, r.Extra...), r.Image)
	return append(args, r.Args...), environ
}

// ContainerHome is the HOME of the container: /tmp is writable by any uid
// in the argocli image (distroless, mode 1777), whatever --user is.
const ContainerHome = "/tmp"

// User is the docker run --user that reads the caller's files as the
// caller does: the caller's UID:GID, or on a rootless engine 0:0 (root in
// the engine's user namespace is the caller). It is "" on Windows, which
// has no uids.
func User(rootless bool) string {
	if runtime.GOOS == "windows" || os.Getuid() < 0 {
		return ""
	}
	if rootless {
		return "0:0"
	}
	return strconv.Itoa(os.Getuid()) + ":" + strconv.Itoa(os.Getgid())
}

// CheckMounts resolves each --mount directory to an absolute, clean path
// and checks that it is an existing directory docker -v can name.
func CheckMounts(dirs []string) ([]string, error) {
	var out []string
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, exitcode.Wrap(exitcode.Usage, "", fmt.Errorf("resolving --mount %s: %w", d, err))
		}
		if strings.ContainsAny(abs, ":,") {
			return nil, exitcode.New(exitcode.Usage, "mount a directory whose path has no ':' or ','", "--mount %s: docker -v cannot name a path with ':' or ','", strconv.QuoteToASCII(abs))
		}
		st, err := os.Stat(abs)
		switch {
		case err != nil:
			return nil, exitcode.New(exitcode.Usage, "give --mount an existing directory", "--mount %s: %v", abs, errors.Unwrap(err))
		case !st.IsDir():
			return nil, exitcode.New(exitcode.Usage, "give --mount the file's directory", "--mount %s is not a directory", abs)
		}
		out = append(out, abs)
	}
	return out, nil
}

// Unseen returns the arguments of args that name an existing file or
// directory of the host the container will not see: outside workdir and
// every mount (or a symlink to outside them). A "--flag=value" argument is
// judged by its value.
func Unseen(args []string, workdir string, mounts []string) []string {
	roots := append([]string{workdir}, mounts...)
	var out []string
	for _, a := range args {
		p := a
		if strings.HasPrefix(a, "-") {
			_, v, ok := strings.Cut(a, "=")
			if !ok {
				continue
			}
			p = v
		}
		if p == "" || p == "-" {
			continue
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(workdir, p)
		}
		p = filepath.Clean(p)
		st, err := os.Stat(p)
		if err != nil || !(st.Mode().IsRegular() || st.IsDir()) {
			continue // not a file here (or /dev/stdin, which the container has too)
		}
		if !visible(p, roots) {
			out = append(out, p)
		}
	}
	return out
}

// MountDir is the directory to mount so that the container sees p, a path
// Unseen returned: where p leads (a symlink's target), or its directory
// when that is a file.
func MountDir(p string) string {
	dir := p
	if real, err := filepath.EvalSymlinks(p); err == nil {
		dir = real
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		dir = filepath.Dir(dir)
	}
	return dir
}

// visible tells whether p, mounted from the host, is under one of roots,
// both as written (the path the container mounts) and with symlinks
// resolved (a symlink to outside the mount is dangling in the container).
func visible(p string, roots []string) bool {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return false
	}
	for _, r := range roots {
		rr, err := filepath.EvalSymlinks(r)
		if err == nil && within(p, r) && (within(real, rr) || within(real, r)) {
			return true
		}
	}
	return false
}

func within(p, root string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// Engine is what Check learned of the Docker engine.
type Engine struct {
	// Rootless: the engine runs in a user namespace of the caller's
	// (rootless Docker), where the container's root is the caller.
	Rootless bool
}

// Check says, in one error of class Usage, why docker cannot be used: no
// CLI, or no engine it can reach.
func Check(ctx context.Context) (Engine, error) {
	path, err := exec.LookPath("docker")
	if err != nil {
		return Engine{}, exitcode.New(exitcode.Usage, "install the docker CLI, or use argo-cred exec or env", "the docker CLI is not installed (not in PATH)")
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "version", "--format", "{{.Server.Version}}").CombinedOutput()
	if err != nil {
		line, _, _ := strings.Cut(strings.TrimSpace(string(bytes.TrimPrefix(out, []byte("Error response from daemon: ")))), "\n")
		return Engine{}, exitcode.New(exitcode.Usage, "start the Docker engine, or check DOCKER_HOST and the docker context",
			"no Docker engine reachable: %s", line)
	}
	// Best effort: an engine that does not say (Podman) is taken as rootful.
	info, _ := exec.CommandContext(ctx, path, "info", "--format", "{{json .SecurityOptions}}").Output()
	return Engine{Rootless: bytes.Contains(info, []byte("name=rootless"))}, nil
}

// Exec runs docker with r and returns the container's exit code; with
// r.Verbose it first prints the command line on stderr. SIGINT and
// SIGTERM that reach argo-cred go on to the docker CLI, which proxies them
// into the container; a docker CLI killed by a signal is 128+signal.
func Exec(environ []string, r Run, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	args, vars := r.Command()
	if r.Verbose {
		fmt.Fprintln(stderr, "docker "+strings.Join(args, " "))
	}
	cmd := exec.Command("docker", args...)
	cmd.Env = append(environ, vars...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if !r.Stdin {
		cmd.Stdin = nil
	}
	return child.Run(cmd)
}
