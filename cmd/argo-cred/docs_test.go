package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/cli"
	"github.com/argo-cred/argo-cred/internal/reference"
	"github.com/argo-cred/argo-cred/internal/testenv"
)

// docFiles are the project's Markdown documents, relative to the root:
// README.md, CONTRIBUTING.md and docs/*.md.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md", "CONTRIBUTING.md"}
	more, err := filepath.Glob(filepath.Join(testenv.Root(), "docs", "*.md"))
	must(t, err)
	for _, f := range more {
		files = append(files, filepath.Join("docs", filepath.Base(f)))
	}
	return files
}

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Root(), name))
	must(t, err)
	return string(b)
}

// recipeNames are the recipes the documents must hold, each once.
var recipeNames = []string{"shell", "docker", "github", "jenkins", "image"}

var recipeBlock = regexp.MustCompile("(?s)<!-- recipe: ([a-z]+) -->\n```[a-z]*\n(.*?)```")

// docRecipes returns the code blocks marked <!-- recipe: NAME --> in
// README.md, CONTRIBUTING.md and docs/*.md, by name. It fails if one of
// recipeNames is missing, or if any name is marked twice (in one file or
// in two).
func docRecipes(t *testing.T) map[string]string {
	t.Helper()
	out, where := map[string]string{}, map[string]string{}
	for _, f := range docFiles(t) {
		for _, m := range recipeBlock.FindAllStringSubmatch(readDoc(t, f), -1) {
			if prev, ok := where[m[1]]; ok {
				t.Fatalf("recipe %q is marked twice: in %s and in %s", m[1], prev, f)
			}
			out[m[1]], where[m[1]] = m[2], f
		}
	}
	for _, name := range recipeNames {
		if out[name] == "" {
			t.Fatalf("no document marks a recipe %q (<!-- recipe: %s --> before a code block in README.md or docs/*.md)", name, name)
		}
	}
	return out
}

// docWith returns the one document whose text matches re, and the match.
func docWith(t *testing.T, re *regexp.Regexp, what string) (string, []string) {
	t.Helper()
	var file string
	var match []string
	for _, f := range docFiles(t) {
		if m := re.FindStringSubmatch(readDoc(t, f)); m != nil {
			if file != "" {
				t.Fatalf("%s is in both %s and %s", what, file, f)
			}
			file, match = f, m
		}
	}
	if file == "" {
		t.Fatalf("no document (README.md, docs/*.md) holds %s", what)
	}
	return file, match
}

// The recipes the integration tests run are in the documents, each once,
// and the image recipe is the text TestIntegrationImageRecipe runs.
func TestRecipesInDocs(t *testing.T) {
	got := docRecipes(t)
	if got["image"] != imageRecipe {
		t.Errorf("the documents' image recipe differs from imageRecipe (-want +got):\n%s", cmp.Diff(imageRecipe, got["image"]))
	}
}

// docs/reference.md is what make docs generates from the command tree,
// with no ARGO_*, KUBECONFIG or GITHUB_* variable set.
func TestDocsReference(t *testing.T) {
	t.Cleanup(reference.CleanEnv())
	var b bytes.Buffer
	must(t, reference.Write(&b, cli.CommandTree()))
	want := readDoc(t, filepath.Join("docs", "reference.md"))
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("docs/reference.md is stale: run make docs (-committed +generated):\n%s", diff)
	}
}

var (
	mdLink    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeading = regexp.MustCompile(`(?m)^#{1,6} (.+)$`)
	fence     = regexp.MustCompile("(?ms)^```.*?^```")
)

// anchors are the anchors GitHub gives a document's headings.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	for _, m := range mdHeading.FindAllStringSubmatch(fence.ReplaceAllString(text, ""), -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 0x7f:
				b.WriteRune(r)
			}
		}
		a := b.String()
		for n := 1; out[a]; n++ {
			a = fmt.Sprintf("%s-%d", b.String(), n)
		}
		out[a] = true
	}
	return out
}

// Every relative link of README.md, CONTRIBUTING.md and docs/*.md names a
// file (or directory) that exists, and an anchor, if any, that the
// target's headings give.
func TestDocsLinks(t *testing.T) {
	root := testenv.Root()
	for _, f := range docFiles(t) {
		text := readDoc(t, f)
		for _, m := range mdLink.FindAllStringSubmatch(fence.ReplaceAllString(text, ""), -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(link, "#")
			target := f
			if path != "" {
				target = filepath.Join(filepath.Dir(f), path)
				if _, err := os.Stat(filepath.Join(root, target)); err != nil {
					t.Errorf("%s: link %q: %s does not exist", f, link, target)
					continue
				}
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(target, ".md") {
				t.Errorf("%s: link %q: an anchor in a file that is not Markdown", f, link)
				continue
			}
			if !anchors(readDoc(t, target))[anchor] {
				t.Errorf("%s: link %q: %s has no heading with anchor #%s", f, link, target, anchor)
			}
		}
	}
}

// The documents' links test itself: what counts as a heading's anchor.
func TestDocsLinksAnchors(t *testing.T) {
	got := anchors("# argo-cred\n## Set up\n```sh\n# not a heading\n```\n## Keyless GitHub Actions\n### argo-cred's image, as the argo CLI image\n## Set up\n")
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"argo-cred", "argo-creds-image-as-the-argo-cli-image", "keyless-github-actions", "set-up", "set-up-1"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("anchors (-want +got):\n%s", diff)
	}
}
