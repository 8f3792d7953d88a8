// Package dist tests the release artifacts make dist produces.
package dist

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

const (
	version = "v0.0.0-disttest"
	epoch   = "1767225600" // 2026-01-01T00:00:00Z
)

var platforms = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"}

func dist(t *testing.T, dir string, extra ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.Root(), "test", "dist", "dist.sh"))
	cmd.Env = append(os.Environ(), append([]string{"DIST_DIR=" + dir, "VERSION=" + version, "SOURCE_DATE_EPOCH=" + epoch}, extra...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dist.sh: %v\n%s", err, out)
	}
}

// binaryOf extracts the binary from an archive.
func binaryOf(t *testing.T, archive string) []byte {
	t.Helper()
	if strings.HasSuffix(archive, ".zip") {
		zr, err := zip.OpenReader(archive)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			if strings.HasSuffix(f.Name, "/argo-cred.exe") {
				rc, _ := f.Open()
				defer rc.Close()
				b, _ := io.ReadAll(rc)
				return b
			}
		}
		t.Fatalf("%s holds no argo-cred.exe", archive)
	}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s holds no argo-cred: %v", archive, err)
		}
		if strings.HasSuffix(h.Name, "/argo-cred") {
			if h.Uid != 0 || h.Mode&0o111 == 0 {
				t.Errorf("%s: uid %d, mode %o", h.Name, h.Uid, h.Mode)
			}
			b, _ := io.ReadAll(tr)
			return b
		}
	}
}

// machine reads the executable header: format and architecture.
func machine(b []byte) string {
	r := bytes.NewReader(b)
	if f, err := elf.NewFile(r); err == nil {
		return "linux/" + map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}[f.Machine]
	}
	if f, err := macho.NewFile(r); err == nil {
		return "darwin/" + map[macho.Cpu]string{macho.CpuAmd64: "amd64", macho.CpuArm64: "arm64"}[f.Cpu]
	}
	if f, err := pe.NewFile(r); err == nil {
		return "windows/" + map[uint16]string{pe.IMAGE_FILE_MACHINE_AMD64: "amd64", pe.IMAGE_FILE_MACHINE_ARM64: "arm64"}[f.Machine]
	}
	return "unknown"
}

// make dist: a binary for each platform (by its header), the linux/amd64
// one runs, checksums verify, SBOMs list the modules the binary is built
// from and name nothing the dependency test forbids, the krew manifest
// names the archives' hashes, and a second run gives identical bytes, as
// does a build from an empty build cache. The release proof: minutes of
// builds, so `make test` leaves it to `make release-proof`, which .ci/run
// runs as a phase of its own.
func TestReleaseDist(t *testing.T) {
	testenv.Prereq(t, "six platform builds")
	a, b := t.TempDir(), t.TempDir()
	dist(t, a)
	for _, p := range platforms {
		os_, arch, _ := strings.Cut(p, "/")
		name := fmt.Sprintf("argo-cred_%s_%s_%s", version, os_, arch)
		ext := ".tar.gz"
		if os_ == "windows" {
			ext = ".zip"
		}
		bin := binaryOf(t, filepath.Join(a, name+ext))
		if got := machine(bin); got != p {
			t.Errorf("%s%s: the binary is for %s", name, ext, got)
		}
		for _, forbidden := range []string{"argo-workflows/v3/server.", "argo-workflows/v3/workflow/controller", "k8s.io/client-go/kubernetes.", "k8s.io/client-go/dynamic."} {
			if bytes.Contains(bin, []byte(forbidden)) {
				t.Errorf("%s links %s", name, forbidden)
			}
		}
		if p == runtime.GOOS+"/"+runtime.GOARCH {
			exe := filepath.Join(t.TempDir(), "argo-cred")
			if err := os.WriteFile(exe, bin, 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(exe, "version", "-o", "json").Output()
			var info map[string]string
			if err != nil || json.Unmarshal(out, &info) != nil || info["version"] != version || info["date"] != "2026-01-01T00:00:00Z" || info["argoApiclient"] != "v3.7.9" || len(info["commit"]) != 40 {
				t.Errorf("version -o json: %v %s", err, out)
			}
		}
		sbomModules(t, filepath.Join(a, name+".sbom.json"), os_, arch)
	}
	// checksums.txt verifies every artifact.
	sums, err := os.ReadFile(filepath.Join(a, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(sums)), "\n")
	if len(lines) != 2*len(platforms) {
		t.Errorf("%d checksums; want %d", len(lines), 2*len(platforms))
	}
	for _, l := range lines {
		sum, file, _ := strings.Cut(l, "  ")
		b, err := os.ReadFile(filepath.Join(a, file))
		h := sha256.Sum256(b)
		if err != nil || hex.EncodeToString(h[:]) != sum {
			t.Errorf("%s does not verify: %v", file, err)
		}
		krew, _ := os.ReadFile(filepath.Join(a, "argo-cred.krew.yaml"))
		if !strings.HasSuffix(file, ".sbom.json") && !strings.Contains(string(krew), file+"\n    sha256: "+sum) {
			t.Errorf("the krew manifest lacks %s with its sha256", file)
		}
	}
	var bake struct {
		Target map[string]struct {
			Tags      []string `json:"tags"`
			Platforms []string `json:"platforms"`
		} `json:"target"`
	}
	if b, err := os.ReadFile(filepath.Join(a, "docker-bake.json")); err != nil || json.Unmarshal(b, &bake) != nil || len(bake.Target) != 2 {
		t.Errorf("docker-bake.json: %v\n%s", err, b)
	}
	// Reproducible: a second run gives the same bytes, and so does a
	// linux/amd64 build from an empty build cache (nothing reused).
	dist(t, b)
	cold := t.TempDir()
	dist(t, cold, "PLATFORMS=linux/amd64", "GOCACHE="+t.TempDir())
	for _, f := range []string{"_linux_amd64.tar.gz", "_linux_amd64.sbom.json"} {
		x, _ := os.ReadFile(filepath.Join(a, "argo-cred_"+version+f))
		y, err := os.ReadFile(filepath.Join(cold, "argo-cred_"+version+f))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("argo-cred_%s%s differs when built from an empty build cache: %v", version, f, err)
		}
	}
	for _, f := range lines {
		_, file, _ := strings.Cut(f, "  ")
		x, _ := os.ReadFile(filepath.Join(a, file))
		y, _ := os.ReadFile(filepath.Join(b, file))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs", file)
		}
	}
}

// sbomModules checks that an SBOM lists exactly the modules the binary is
// built from (go list -deps for its platform).
func sbomModules(t *testing.T, path, goos, goarch string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var sbom struct {
		Components []struct {
			Name, Version, Type string
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &sbom); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range sbom.Components {
		if c.Name != "std" {
			got = append(got, c.Name+"@"+c.Version)
		}
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}}@{{.Version}}{{end}}{{end}}", "./cmd/argo-cred")
	cmd.Dir = testenv.Root()
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range strings.Fields(string(out)) {
		if !slices.Contains(want, m) {
			want = append(want, m)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: SBOM modules (-go list +sbom):\n%s", filepath.Base(path), diff)
	}
}

var (
	imageByTag    = regexp.MustCompile(`(?m)^  image: docker://ghcr\.io/argo-cred/argo-cred-action:(v\S+)$`)
	imageByDigest = regexp.MustCompile(`(?m)^  image: docker://ghcr\.io/argo-cred/argo-cred-action@(sha256:[0-9a-f]{64}) # (v\S+)$`)
)

// actionImage reads the action's image from action.yml: by tag, as on main
// (digest ""), or by digest with the tag in a comment, as a release tag has
// it (make release-prep V=… DIGEST=…).
func actionImage(actionYML string) (version, digest string, err error) {
	if m := imageByTag.FindStringSubmatch(actionYML); m != nil {
		return m[1], "", nil
	}
	if m := imageByDigest.FindStringSubmatch(actionYML); m != nil {
		return m[2], m[1], nil
	}
	return "", "", fmt.Errorf("action.yml names ghcr.io/argo-cred/argo-cred-action neither as :vX.Y.Z nor as @sha256:<64 hex> # vX.Y.Z")
}

// The action's image in action.yml is that of the version being released
// (VERSION), by tag or by digest, as the release workflows check against
// the git tag.
func TestReleaseVersion(t *testing.T) {
	v, err := os.ReadFile(filepath.Join(testenv.Root(), "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	action, err := os.ReadFile(filepath.Join(testenv.Root(), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	version, _, err := actionImage(string(action))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(v)); version != want {
		t.Errorf("action.yml names the image of %s; want VERSION's, %s", version, want)
	}
}

// The workflow files pass actionlint.
func TestWorkflowsLint(t *testing.T) {
	testenv.Prereq(t, "actionlint (built by test/tools/tool.sh)")
	al, err := exec.Command(filepath.Join(testenv.Root(), "test", "tools", "tool.sh"), "actionlint").Output()
	if err != nil {
		t.Fatalf("building actionlint: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(testenv.Root(), ".github", "workflows", "*.yml"))
	examples, _ := filepath.Glob(filepath.Join(testenv.Root(), "examples", "github-actions", "*.yml"))
	cmd := exec.Command(strings.TrimSpace(string(al)), append(files, examples...)...)
	cmd.Dir = testenv.Root()
	if out, err := cmd.CombinedOutput(); err != nil || len(files) == 0 {
		t.Errorf("actionlint: %v\n%s", err, out)
	}
}

// The archives do not depend on the builder's umask (0022 on CI, often 0002
// on a maintainer's machine, where make release-prep pins them): the
// release workflow's rebuild must give the bytes the tag pins.
func TestDistUmask(t *testing.T) {
	testenv.Prereq(t, "two platform builds, twice")
	t.Parallel()
	sums := map[string]string{}
	for _, umask := range []string{"0022", "0002"} {
		dir := t.TempDir()
		cmd := exec.Command("sh", "-c", "umask "+umask+" && exec \"$0\"", filepath.Join(testenv.Root(), "test", "dist", "dist.sh"))
		cmd.Env = append(os.Environ(), "DIST_DIR="+dir, "VERSION="+version, "SOURCE_DATE_EPOCH="+epoch, "PLATFORMS=linux/amd64 windows/amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("dist.sh under umask %s: %v\n%s", umask, err, out)
		}
		b, err := os.ReadFile(filepath.Join(dir, "checksums.txt"))
		if err != nil {
			t.Fatal(err)
		}
		sums[umask] = strings.Join(archiveLine.FindAllString(string(b), -1), "\n")
	}
	if diff := cmp.Diff(sums["0022"], sums["0002"]); diff != "" || sums["0022"] == "" {
		t.Errorf("the archives under umask 0022 and 0002 (-0022 +0002):\n%s", diff)
	}
}
