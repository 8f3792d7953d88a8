package dist

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// releaseTree is a fresh git repository in a temporary directory holding
// the repository's files as they are (tracked and new, not ignored), in one
// commit.
func releaseTree(t *testing.T) string {
	t.Helper()
	testenv.Command(t, "git", "git")
	root := testenv.Root()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "-co", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dir := t.TempDir()
	for _, f := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		st, err := os.Lstat(filepath.Join(root, f))
		if err != nil || !st.Mode().IsRegular() {
			continue // deleted in the work tree, or a link
		}
		copyFile(t, filepath.Join(root, f), filepath.Join(dir, f))
		if err := os.Chmod(filepath.Join(dir, f), st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	git(t, dir, "init", "-q", "-b", "main")
	commitAll(t, dir, "the sources", "2026-01-01T00:00:00Z")
	return dir
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commitAll commits every change in dir at date, as the release's
// maintainer would.
func commitAll(t *testing.T, dir, msg, date string) string {
	t.Helper()
	git(t, dir, "add", "-A")
	git(t, dir, "-c", "user.name=release", "-c", "user.email=release@example.com", "commit", "-q", "--allow-empty", "-m", msg, "--date", date)
	cmd := exec.Command("git", "-C", dir, "commit", "-q", "--amend", "--no-edit", "--allow-empty")
	cmd.Env = append(os.Environ(), "GIT_COMMITTER_DATE="+date, "GIT_COMMITTER_NAME=release", "GIT_COMMITTER_EMAIL=release@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git commit --amend: %v\n%s", err, out)
	}
	return git(t, dir, "rev-parse", "HEAD")
}

// makeIn runs make in dir with args, for linux/amd64 only (dist.sh's
// PLATFORMS: the six take minutes).
func makeIn(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-s", "-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "V=", "DIGEST=", "VERSION=", "DIST_DIR=", "PLATFORMS=linux/amd64", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var archiveLine = regexp.MustCompile(`(?m)^[0-9a-f]{64}  argo-cred_\S+\.(tar\.gz|zip)$`)

// pins are the archive lines of a checksums.txt.
func pins(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return archiveLine.FindAllString(string(b), -1)
}

// The release, its three steps as the Makefile describes them, on a copy
// of this repository: the archives the tag's commit builds (as release.yml
// runs make dist) are byte for byte those whose SHA-256 the tag pins in
// setup/checksums.txt, built from its parent, and say the version VERSION
// names and the parent's commit. A commit that changes what goes into an
// archive (README) changes the archive: the comparison can fail.
func TestReleasePinsReproducible(t *testing.T) {
	testenv.Command(t, "make", "make")
	dir := releaseTree(t)
	digest := "sha256:" + strings.Repeat("0123456789abcdef", 4)
	start := time.Now()
	if out, err := makeIn(t, dir, "release-prep", "V=v9.9.9"); err != nil {
		t.Fatalf("release-prep V=v9.9.9: %v\n%s", err, out)
	}
	if p := pins(t, filepath.Join(dir, "setup", "checksums.txt")); len(p) != 0 {
		t.Errorf("the tag form pins %q; want none, as on main", p)
	}
	images := commitAll(t, dir, "release v9.9.9", "2026-02-01T00:00:00Z")

	// Step 3, on the images' commit: the digest and the pins; refused on
	// a tree with changes, which the archives would hold and the tag not.
	readme := filepath.Join(dir, "README.md")
	clean, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(readme, append(clean, "uncommitted\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := makeIn(t, dir, "release-prep", "V=v9.9.9", "DIGEST="+digest); err == nil || !strings.Contains(out, "uncommitted changes") {
		t.Errorf("release-prep DIGEST on a changed tree: %v; want a refusal\n%s", err, out)
	}
	if err := os.WriteFile(readme, clean, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := makeIn(t, dir, "release-prep", "V=v9.9.9", "DIGEST="+digest); err != nil {
		t.Fatalf("release-prep DIGEST: %v\n%s", err, out)
	}
	t.Logf("release-prep V=v9.9.9 DIGEST=… (make dist for linux/amd64): %s", time.Since(start).Round(time.Second))
	changedFiles := git(t, dir, "diff", "--name-only") + git(t, dir, "ls-files", "--others", "--exclude-standard")
	if diff := cmp.Diff("action.yml\nsetup/checksums.txt", changedFiles); diff != "" {
		t.Errorf("release-prep DIGEST changed (-what release.yml allows +changed):\n%s", diff)
	}
	pinned := pins(t, filepath.Join(dir, "setup", "checksums.txt"))
	if len(pinned) != 1 || !strings.HasSuffix(pinned[0], "  argo-cred_v9.9.9_linux_amd64.tar.gz") {
		t.Fatalf("setup/checksums.txt pins %q; want the linux/amd64 archive of v9.9.9", pinned)
	}
	commitAll(t, dir, "v9.9.9: the action image by digest", "2026-02-02T00:00:00Z")

	// The release workflow, on the tag's commit.
	rebuilt := filepath.Join(t.TempDir(), "dist")
	if out, err := makeIn(t, dir, "dist", "VERSION=v9.9.9", "DIST_DIR="+rebuilt); err != nil {
		t.Fatalf("make dist on the tag's commit: %v\n%s", err, out)
	}
	if diff := cmp.Diff(pinned, pins(t, filepath.Join(rebuilt, "checksums.txt"))); diff != "" {
		t.Errorf("the tag's commit builds other archives than it pins (-pinned +built):\n%s", diff)
	}
	version := versionOf(t, filepath.Join(rebuilt, "argo-cred_v9.9.9_linux_amd64.tar.gz"))
	if !strings.Contains(version, `"version": "v9.9.9"`) || !strings.Contains(version, `"commit": "`+images+`"`) || !strings.Contains(version, `"date": "2026-02-01T00:00:00Z"`) {
		t.Errorf("the released binary says\n%s\nwant v9.9.9, the images' commit %s and its date", version, images)
	}

	// The control: a change to a file the archive holds.
	f, err := os.OpenFile(filepath.Join(dir, "README.md"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("\none more line\n")
	f.Close()
	commitAll(t, dir, "a README line", "2026-02-03T00:00:00Z")
	changed := filepath.Join(t.TempDir(), "dist")
	if out, err := makeIn(t, dir, "dist", "DIST_DIR="+changed); err != nil {
		t.Fatalf("make dist: %v\n%s", err, out)
	}
	if got := pins(t, filepath.Join(changed, "checksums.txt")); cmp.Equal(pinned, got) {
		t.Errorf("a README change left the archive as pinned: %q", got)
	}
	t.Logf("three linux/amd64 releases: %s", time.Since(start).Round(time.Second))
}

// versionOf runs `argo-cred version -o json` of the linux/amd64 archive.
func versionOf(t *testing.T, archive string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "argo-cred")
	if err := os.WriteFile(bin, binaryOf(t, archive), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version", "-o", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("argo-cred version: %v\n%s", err, out)
	}
	return string(out)
}
