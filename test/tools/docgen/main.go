// Command docgen writes docs/reference.md, the flag reference generated
// from argo-cred's command tree (make docs). It unsets the environment
// variables that change the tree's defaults first, so the file is the same
// on every machine.
package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/argo-cred/argo-cred/internal/cli"
	"github.com/argo-cred/argo-cred/internal/reference"
)

func main() {
	path := "docs/reference.md"
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	if err := run(path); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	reference.CleanEnv()
	var b bytes.Buffer
	if err := reference.Write(&b, cli.CommandTree()); err != nil {
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing the reference: %w", err)
	}
	return nil
}
