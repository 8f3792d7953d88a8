package export

import (
	"fmt"
	"io"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
)

// outputFiles are the files --output-file writes: the file, and for
// --format jenkins the shell form for sh steps beside it, which replaces
// only a file argo-cred wrote.
func outputFiles(format, path string) []files.File {
	out := []files.File{{Path: path}}
	if format == "jenkins" {
		out = append(out, files.File{Path: path + ".sh", Owned: IsJenkinsShell})
	}
	return out
}

// Check tells, before anything is got or written, whether WriteFiles could
// write format's files at path (--output-file).
func Check(format, path string) error {
	if err := files.Check(outputFiles(format, path)...); err != nil {
		return exitcode.Wrap(exitcode.Usage, "check --output-file", fmt.Errorf("--output-file: %w", err))
	}
	return nil
}

// WriteFiles writes vars in format to path (--output-file), and for
// jenkins their shell form to path.sh, all or nothing (files.Write).
func WriteFiles(format, path string, vars []env.Var) error {
	write, err := Lookup(format)
	if err != nil {
		return err
	}
	out := outputFiles(format, path)
	if out[0].Data, err = files.Render(func(w io.Writer) error { return write(w, vars) }); err != nil {
		return err
	}
	if format == "jenkins" {
		if out[1].Data, err = files.Render(func(w io.Writer) error { return JenkinsShell(w, vars) }); err != nil {
			return err
		}
	}
	if err := files.Write(out...); err != nil {
		return exitcode.Wrap(exitcode.Usage, "check --output-file", err)
	}
	return nil
}
