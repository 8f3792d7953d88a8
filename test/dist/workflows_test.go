package dist

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	yaml "sigs.k8s.io/yaml/goyaml.v3"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

var (
	commitRef   = regexp.MustCompile(`^[0-9a-f]{40}$`)
	tagComment  = regexp.MustCompile(`^#\s*v[0-9]+(\.[0-9]+)*\S*$`)
	imageDigest = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	permission  = map[string]bool{"read": true, "write": true, "none": true}
)

// mapping returns the value of key in a YAML mapping node, or nil.
func mapping(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// checkPermissions: a permissions block is a mapping of scopes to read,
// write or none ({} grants nothing), never read-all or write-all.
func checkPermissions(where string, p *yaml.Node) []string {
	if p.Kind != yaml.MappingNode {
		return []string{fmt.Sprintf("%s: permissions: %q; want a mapping of scopes (or {})", where, p.Value)}
	}
	var problems []string
	for i := 0; i+1 < len(p.Content); i += 2 {
		if v := p.Content[i+1].Value; !permission[v] {
			problems = append(problems, fmt.Sprintf("%s: permissions: %s: %q", where, p.Content[i].Value, v))
		}
	}
	return problems
}

// checkUses: a local action or workflow (./…) as it is; a docker:// image
// by digest; anything else by a full commit SHA, with the release tag it
// is in a comment on the same line (`uses: owner/repo@<sha> # v1.2.3`).
func checkUses(where string, u *yaml.Node) []string {
	ref := u.Value
	switch {
	case strings.HasPrefix(ref, "./"):
		return nil
	case strings.HasPrefix(ref, "docker://"):
		if !imageDigest.MatchString(ref) {
			return []string{fmt.Sprintf("%s: uses: %s: a docker:// image must be named by digest (@sha256:…)", where, ref)}
		}
		return nil
	}
	name, version, ok := strings.Cut(ref, "@")
	if !ok || strings.Count(name, "/") < 1 {
		return []string{fmt.Sprintf("%s: uses: %s: want owner/repo@<commit sha>", where, ref)}
	}
	if !commitRef.MatchString(version) {
		return []string{fmt.Sprintf("%s: uses: %s: pinned by %q, which can move; pin the full 40-hex commit of a release tag", where, ref, version)}
	}
	if !tagComment.MatchString(strings.TrimSpace(u.LineComment)) {
		return []string{fmt.Sprintf("%s: uses: %s: no `# vX.Y.Z` comment naming the release tag of that commit", where, ref)}
	}
	return nil
}

// lintWorkflow returns what is wrong with a workflow file, as the release
// hardening wants it: the workflow grants nothing itself (permissions
// absent or {}), every job declares its own permissions, every step and
// reusable workflow that is not local is pinned (checkUses), and every
// actions/checkout step sets persist-credentials: false.
func lintWorkflow(name string, src []byte) []string {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return []string{fmt.Sprintf("%s: %v", name, err)}
	}
	if len(doc.Content) != 1 {
		return []string{name + ": not one YAML document"}
	}
	root := doc.Content[0]
	var problems []string
	if p := mapping(root, "permissions"); p != nil {
		if p.Kind != yaml.MappingNode || len(p.Content) > 0 {
			problems = append(problems, name+": the workflow's permissions grant something; want permissions: {} and each job's own")
		}
	}
	jobs := mapping(root, "jobs")
	if jobs == nil || jobs.Kind != yaml.MappingNode || len(jobs.Content) == 0 {
		return append(problems, name+": no jobs")
	}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		job, body := name+": job "+jobs.Content[i].Value, jobs.Content[i+1]
		if p := mapping(body, "permissions"); p == nil {
			problems = append(problems, job+": declares no permissions")
		} else {
			problems = append(problems, checkPermissions(job, p)...)
		}
		if u := mapping(body, "uses"); u != nil {
			problems = append(problems, checkUses(job, u)...)
		}
		steps := mapping(body, "steps")
		if steps == nil {
			continue
		}
		for n, step := range steps.Content {
			u := mapping(step, "uses")
			if u == nil {
				continue
			}
			where := fmt.Sprintf("%s: step %d", job, n+1)
			problems = append(problems, checkUses(where, u)...)
			if strings.HasPrefix(u.Value, "actions/checkout@") {
				if pc := mapping(mapping(step, "with"), "persist-credentials"); pc == nil || pc.Value != "false" {
					problems = append(problems, where+": actions/checkout without persist-credentials: false (the job's token would stay in .git/config)")
				}
			}
		}
	}
	return problems
}

func workflowFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.yml", "*.yaml"} {
		f, err := filepath.Glob(filepath.Join(testenv.Root(), ".github", "workflows", pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f...)
	}
	if len(files) == 0 {
		t.Fatal("no workflow in .github/workflows")
	}
	return files
}

// Every workflow in .github/workflows: third-party actions pinned by
// commit SHA with the tag in a comment, permissions per job and none at the
// workflow's level, checkout credentials not persisted.
func TestWorkflowsPinned(t *testing.T) {
	for _, f := range workflowFiles(t) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(".github", "workflows", filepath.Base(f))
		for _, p := range lintWorkflow(name, src) {
			t.Error(p)
		}
		// Also the lines the YAML parser might not see as steps (a
		// composite or an odd indentation): every `uses:` in the file.
		for i, line := range strings.Split(string(src), "\n") {
			l := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "-"))
			if !strings.HasPrefix(l, "uses:") {
				continue
			}
			value, comment, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(l, "uses:")), "#")
			u := &yaml.Node{Value: strings.Trim(strings.TrimSpace(value), `"'`), LineComment: "#" + comment}
			for _, p := range checkUses(fmt.Sprintf("%s:%d", name, i+1), u) {
				t.Error(p)
			}
		}
	}
}

// lintWorkflow finds each thing it is there to find (so that
// TestWorkflowsPinned passing means something).
func TestLintWorkflowCatches(t *testing.T) {
	const sha = "11d5960a326750d5838078e36cf38b85af677262"
	good := `on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@` + sha + ` # v4.4.0
        with:
          persist-credentials: false
      - uses: ./local-action
      - uses: docker://alpine@sha256:` + strings.Repeat("a", 64) + `
      - run: echo ok
  b:
    permissions: {}
    uses: org/repo/.github/workflows/x.yml@` + sha + ` # v1.0.0
`
	if p := lintWorkflow("good", []byte(good)); len(p) != 0 {
		t.Fatalf("a good workflow: %q", p)
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"a tag", "checkout@" + sha + " # v4.4.0", "checkout@v4", `pinned by "v4"`},
		{"a branch", "checkout@" + sha + " # v4.4.0", "checkout@main # v4.4.0", `pinned by "main"`},
		{"a short sha", "checkout@" + sha, "checkout@" + sha[:12], "pinned by"},
		{"no tag comment", sha + " # v4.4.0", sha, "no `# vX.Y.Z` comment"},
		{"a reusable workflow by tag", "x.yml@" + sha + " # v1.0.0", "x.yml@v1", `pinned by "v1"`},
		{"a docker image by tag", "alpine@sha256:" + strings.Repeat("a", 64), "alpine:3", "by digest"},
		{"persisted credentials", "persist-credentials: false", "persist-credentials: true", "without persist-credentials: false"},
		{"default credentials", "        with:\n          persist-credentials: false\n", "", "without persist-credentials: false"},
		{"a job without permissions", "    permissions:\n      contents: read\n", "", "job a: declares no permissions"},
		{"write-all", "    permissions:\n      contents: read\n", "    permissions: write-all\n", `permissions: "write-all"`},
		{"the workflow grants", "permissions: {}\njobs:", "permissions:\n  packages: write\njobs:", "the workflow's permissions grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(good, tc.old) {
				t.Fatalf("the good workflow lacks %q", tc.old)
			}
			bad := strings.Replace(good, tc.old, tc.new, 1)
			p := lintWorkflow("bad", []byte(bad))
			if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, tc.want) }) {
				t.Errorf("problems %q; want one with %q", p, tc.want)
			}
		})
	}
}

// Dependabot keeps the pinned actions, the Go modules and the base images
// current.
func TestDependabot(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.Root(), ".github", "dependabot.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Version int
		Updates []struct {
			Ecosystem string `yaml:"package-ecosystem"`
			Directory string
			Schedule  struct{ Interval string }
		}
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range cfg.Updates {
		if u.Directory == "/" && u.Schedule.Interval != "" {
			got = append(got, u.Ecosystem)
		}
	}
	slices.Sort(got)
	if diff := cmp.Diff([]string{"docker", "github-actions", "gomod"}, got); cfg.Version != 2 || diff != "" {
		t.Errorf("dependabot.yml: version %d, ecosystems at / with a schedule (-want +got):\n%s", cfg.Version, diff)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// exampleImage is the argo-cred image an example names, and its tag.
var exampleImage = regexp.MustCompile(`ghcr\.io/argo-cred/argo-cred:([^\s"']+)`)

// make release-prep V=… writes the tag form, and the setup action pins no
// archive; with DIGEST=… the digest form (the tag kept in a comment), which
// release.yml requires of a tag, and the SHA-256 of this commit's archives
// in setup/checksums.txt (linux/amd64 only here); a malformed DIGEST
// changes nothing. It runs on a copy of the repository, each step
// committed as the release's are.
func TestReleasePrep(t *testing.T) {
	testenv.Command(t, "make", "make")
	dir := releaseTree(t)
	examples, _ := filepath.Glob(filepath.Join(dir, "examples", "github-actions", "*.yml"))
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	digest := "sha256:" + strings.Repeat("0123456789abcdef", 4)
	for _, tc := range []struct {
		name        string
		args        []string
		version     string
		digest      string // "" for the tag form
		wantFailure bool
	}{
		{"tag", []string{"V=v0.2.0"}, "v0.2.0", "", false},
		{"digest", []string{"V=v0.2.0", "DIGEST=" + digest}, "v0.2.0", digest, false},
		{"digest again", []string{"V=v0.2.0", "DIGEST=" + digest}, "v0.2.0", digest, false},
		{"back to a tag", []string{"V=v0.3.0"}, "v0.3.0", "", false},
		{"short digest", []string{"V=v0.4.0", "DIGEST=sha256:abc"}, "v0.3.0", "", true},
		{"uppercase digest", []string{"V=v0.4.0", "DIGEST=sha256:" + strings.ToUpper(strings.Repeat("0123456789abcdef", 4))}, "v0.3.0", "", true},
		{"digest without algorithm", []string{"V=v0.4.0", "DIGEST=" + strings.Repeat("0123456789abcdef", 4)}, "v0.3.0", "", true},
		{"bad version", []string{"V=0.4.0"}, "v0.3.0", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := makeIn(t, dir, append([]string{"release-prep"}, tc.args...)...)
			if tc.wantFailure != (err != nil) {
				t.Fatalf("make release-prep %s: %v; want failure %v\n%s", strings.Join(tc.args, " "), err, tc.wantFailure, out)
			}
			if !tc.wantFailure {
				defer commitAll(t, dir, "release-prep "+strings.Join(tc.args, " "), "2026-02-01T00:00:00Z")
			}
			var wantPins []string
			if tc.digest != "" {
				wantPins = []string{"argo-cred_" + tc.version + "_linux_amd64.tar.gz"}
			}
			var gotPins []string
			for _, p := range pins(t, filepath.Join(dir, "setup", "checksums.txt")) {
				gotPins = append(gotPins, p[66:])
			}
			if diff := cmp.Diff(wantPins, gotPins); diff != "" {
				t.Errorf("setup/checksums.txt pins (-want +got):\n%s", diff)
			}
			version, gotDigest, err := actionImage(read("action.yml"))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(read("VERSION")); got != tc.version || version != tc.version || gotDigest != tc.digest {
				t.Errorf("VERSION %s, action.yml names %s %q; want %s %q", got, version, gotDigest, tc.version, tc.digest)
			}
			images := 0
			for _, e := range examples {
				ex := read(filepath.Join("examples", "github-actions", filepath.Base(e)))
				for _, action := range []string{"argo-cred/argo-cred@", "argo-cred/argo-cred/setup@"} {
					if n := strings.Count(ex, action); n != strings.Count(ex, action+tc.version) {
						t.Errorf("%s does not use %s%s", filepath.Base(e), action, tc.version)
					}
				}
				// The argo-cred image as a docker:// step (long-job.yml).
				for _, m := range exampleImage.FindAllStringSubmatch(ex, -1) {
					if images++; m[1] != tc.version {
						t.Errorf("%s names the image ghcr.io/argo-cred/argo-cred:%s; want %s", filepath.Base(e), m[1], tc.version)
					}
				}
			}
			if images == 0 {
				t.Error("no example names the image ghcr.io/argo-cred/argo-cred:vX.Y.Z")
			}
		})
	}
}

// bakeFile runs `dist.sh bake` with env added and returns the bake file.
func bakeFile(t *testing.T, env ...string) (map[string]bakeTarget, []byte, error) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(filepath.Join(testenv.Root(), "test", "dist", "dist.sh"), "bake")
	cmd.Env = append(os.Environ(), append([]string{"DIST_DIR=" + dir, "VERSION=v9.8.7", "ARGOCLI_IMAGE=", "GO_IMAGE=", "ACTION_YML="}, env...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, out, err
	}
	if _, err := os.Stat(filepath.Join(dir, "argo-cred_v9.8.7_linux_amd64.tar.gz")); err == nil {
		t.Error("dist.sh bake built the archives too")
	}
	b, err := os.ReadFile(filepath.Join(dir, "docker-bake.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bake struct{ Target map[string]bakeTarget }
	if err := json.Unmarshal(b, &bake); err != nil {
		t.Fatalf("docker-bake.json: %v\n%s", err, b)
	}
	return bake.Target, out, nil
}

type bakeTarget struct {
	Target string            `json:"target"`
	Args   map[string]string `json:"args"`
	Tags   []string          `json:"tags"`
}

// dist.sh bake: the images' bake file alone, the base images named by
// digest (and nothing else accepted), never from a release commit whose
// action.yml pins the image already.
func TestDistBake(t *testing.T) {
	argocli := "quay.io/argoproj/argocli:v3.7.9@sha256:" + strings.Repeat("a", 64)
	goimage := "golang:1.26-bookworm@sha256:" + strings.Repeat("b", 64)
	targets, out, err := bakeFile(t, "ARGOCLI_IMAGE="+argocli, "GO_IMAGE="+goimage)
	if err != nil {
		t.Fatalf("dist.sh bake: %v\n%s", err, out)
	}
	for name, wantTag := range map[string]string{"argo-cred": "ghcr.io/argo-cred/argo-cred:v9.8.7", "action": "ghcr.io/argo-cred/argo-cred-action:v9.8.7"} {
		tg := targets[name]
		if diff := cmp.Diff([]string{wantTag}, tg.Tags); diff != "" {
			t.Errorf("%s: tags (-want +got):\n%s", name, diff)
		}
		if tg.Args["ARGOCLI_IMAGE"] != argocli || tg.Args["GO_IMAGE"] != goimage || tg.Args["VERSION"] != "v9.8.7" || len(tg.Args["REVISION"]) != 40 {
			t.Errorf("%s: args %v", name, tg.Args)
		}
	}
	if targets["action"].Target != "action" || len(targets) != 2 {
		t.Errorf("targets %+v", targets)
	}

	// An action.yml in the digest form, as a release tag has it.
	digestForm := filepath.Join(t.TempDir(), "action.yml")
	if err := os.WriteFile(digestForm, []byte("runs:\n  using: docker\n  image: docker://ghcr.io/argo-cred/argo-cred-action@sha256:"+strings.Repeat("c", 64)+" # v9.8.7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"no bases", nil, "ARGOCLI_IMAGE is not set"},
		{"a base by tag", []string{"ARGOCLI_IMAGE=" + argocli, "GO_IMAGE=golang:1.26-bookworm"}, "GO_IMAGE=golang:1.26-bookworm: want"},
		{"a short digest", []string{"ARGOCLI_IMAGE=quay.io/argoproj/argocli@sha256:abc", "GO_IMAGE=" + goimage}, "ARGOCLI_IMAGE=quay.io/argoproj/argocli@sha256:abc: want"},
		{"an injected argument", []string{"ARGOCLI_IMAGE=" + argocli + `", "X": "y`, "GO_IMAGE=" + goimage}, "want name[:tag]@sha256"},
		{"a release commit", []string{"ARGOCLI_IMAGE=" + argocli, "GO_IMAGE=" + goimage, "ACTION_YML=" + digestForm}, "names the action's image by digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, out, err := bakeFile(t, tc.env...)
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Errorf("dist.sh bake: %v; want a failure saying %q\n%s", err, tc.want, out)
			}
		})
	}
}
