package docker

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

func TestCheckImage(t *testing.T) {
	for ref, ok := range map[string]bool{
		"quay.io/argoproj/argocli:v3.7.9":                    true,
		"argo-cred:dev":                                      true,
		"localhost:5000/team/argocli":                        true,
		"ghcr.io/argo-cred/argo-cred-action@sha256:" + hex64: true,
		"argocli:v3.7.9@sha256:" + hex64:                     true,
		"--volume=/:/host":                                   false,
		"-v":                                                 false,
		"argocli --privileged":                               false,
		"Argocli":                                            false,
		"argocli:":                                           false,
		"":                                                   false,
		"argocli\n--privileged":                              false,
		"quay.io/argoproj/argocli:v3.7.9 ":                   false,
	} {
		if err := CheckImage(ref); (err == nil) != ok {
			t.Errorf("CheckImage(%q) = %v; want ok %t", ref, err, ok)
		}
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestUser(t *testing.T) {
	if runtime.GOOS == "windows" {
		if got := User(false); got != "" {
			t.Errorf("User = %q on Windows; want none", got)
		}
		return
	}
	want := strconv.Itoa(os.Getuid()) + ":" + strconv.Itoa(os.Getgid())
	if got := User(false); got != want {
		t.Errorf("User(false) = %q; want %q", got, want)
	}
	if got := User(true); got != "0:0" {
		t.Errorf("User(true) = %q; want 0:0 (the caller, on a rootless engine)", got)
	}
}

func TestCheckMounts(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	got, err := CheckMounts([]string{dir, ".", dir + "/../" + filepath.Base(dir)})
	if err != nil || !slices.Equal(got, []string{dir, dir, dir}) {
		t.Errorf("CheckMounts = %q, %v; want %s thrice, absolute and clean", got, err, dir)
	}
	for arg, want := range map[string]string{
		file:                         "is not a directory",
		filepath.Join(dir, "nope"):   "no such file or directory",
		filepath.Join(dir, "a:b"):    "cannot name a path with ':' or ','",
		filepath.Join(dir, "a,ro=x"): "cannot name a path with ':' or ','",
	} {
		_, err := CheckMounts([]string{arg})
		if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckMounts(%s) = %v; want a usage error with %q", arg, err, want)
		}
	}
}

// Unseen names the arguments that are files of the host outside the
// working directory and the mounts: the container would not find them.
func TestUnseen(t *testing.T) {
	root := t.TempDir()
	wd, shared, other := filepath.Join(root, "repo"), filepath.Join(root, "shared"), filepath.Join(root, "other")
	for _, d := range []string{wd, shared, other} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(wd, "wf.yaml"), filepath.Join(shared, "wf.yaml"), filepath.Join(other, "wf.yaml")} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(other, "wf.yaml"), filepath.Join(wd, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	args := []string{
		"submit", "-n", "ci", // no files
		"wf.yaml", filepath.Join(wd, "wf.yaml"), // in the working directory
		filepath.Join(shared, "wf.yaml"),       // mounted
		"--from=" + filepath.Join(shared, "x"), // missing: nothing to say
		"../other/wf.yaml",                     // outside
		"--values=" + filepath.Join(other, "wf.yaml"),
		"link.yaml", // a symlink to outside: dangling in the container
		"/dev/stdin", "-",
		other, // a directory outside
	}
	got := Unseen(args, wd, []string{shared})
	want := []string{filepath.Join(other, "wf.yaml"), filepath.Join(other, "wf.yaml"), filepath.Join(wd, "link.yaml"), other}
	if !slices.Equal(got, want) {
		t.Errorf("Unseen = %q; want %q", got, want)
	}
}

// A --mount of the working directory, or twice the same, is one mount:
// docker refuses a mount point twice.
func TestCommandMountsOnce(t *testing.T) {
	args, _ := Run{Image: "argocli", Workdir: "/w", Mounts: []string{"/w", "/x", "/x"}}.Command()
	want := []string{"run", "--rm", "-v", "/w:/w", "-w", "/w", "-v", "/x:/x:ro", "argocli"}
	if !slices.Equal(args, want) {
		t.Errorf("Command = %q; want %q", args, want)
	}
}

// MountDir is the directory that makes a path visible: a file's, a
// directory itself, a symlink's target's.
func TestMountDir(t *testing.T) {
	root := t.TempDir()
	dir, other := filepath.Join(root, "dir"), filepath.Join(root, "other")
	for _, d := range []string{dir, other} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(other, "wf.yaml")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(file, filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, filepath.Join(dir, "linkdir")); err != nil {
		t.Fatal(err)
	}
	real := func(p string) string {
		r, err := filepath.EvalSymlinks(p)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tc := range []struct{ name, path, want string }{
		{"a file", file, real(other)},
		{"a directory", dir, real(dir)},
		{"a symlink to a file", filepath.Join(dir, "link.yaml"), real(other)},
		{"a symlink to a directory", filepath.Join(dir, "linkdir"), real(other)},
		{"gone meanwhile", filepath.Join(root, "missing"), filepath.Join(root, "missing")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MountDir(tc.path); got != tc.want {
				t.Errorf("MountDir(%q) = %q; want %q", tc.path, got, tc.want)
			}
		})
	}
}
