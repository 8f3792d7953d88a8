package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// The limits that keep the design small enough to see whole: a thin
// command layer, no file over 450 lines, no function over 100, a README
// that is a front page, and the GitHub runner read only by its runtime
// package. Every change keeps them.
const (
	maxCommandLayer = 1400 // lines of non-test Go in internal/cli
	maxFile         = 450
	maxFunc         = 100
	maxReadme       = 300
)

func TestLayoutLimits(t *testing.T) {
	root := testenv.Root()
	cli := 0
	for _, dir := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			n := strings.Count(string(src), "\n")
			if n > maxFile {
				t.Errorf("%s: %d lines; at most %d", rel, n, maxFile)
			}
			if filepath.Dir(rel) == filepath.Join("internal", "cli") {
				cli += n
				if strings.Contains(string(src), `"GITHUB_`) || strings.Contains(string(src), `"INPUT_`) {
					t.Errorf("%s reads the GitHub runner's variables: that is internal/github's", rel)
				}
			}
			for _, f := range longFuncs(t, path, src) {
				t.Errorf("%s: %s", rel, f)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if cli > maxCommandLayer {
		t.Errorf("internal/cli: %d lines of non-test Go; at most %d", cli, maxCommandLayer)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(readme), "\n"); n > maxReadme {
		t.Errorf("README.md: %d lines; at most %d (the rest goes to docs/)", n, maxReadme)
	}
}

// longFuncs names the functions (and function literals) of a file longer
// than maxFunc lines.
func longFuncs(t *testing.T, path string, src []byte) []string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		var body *ast.BlockStmt
		name := "a function literal"
		switch x := n.(type) {
		case *ast.FuncDecl:
			body, name = x.Body, x.Name.Name
		case *ast.FuncLit:
			body = x.Body
		}
		if body != nil {
			start, end := fset.Position(n.Pos()).Line, fset.Position(body.Rbrace).Line
			if end-start+1 > maxFunc {
				out = append(out, fmt.Sprintf("%s at line %d: %d lines; at most %d", name, start, end-start+1, maxFunc))
			}
		}
		return true
	})
	return out
}
