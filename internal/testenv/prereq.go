package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// InCI tells whether the tests run in CI (.ci/run sets CI=true): there a
// missing prerequisite is a failure, never a skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Need stops a test whose prerequisite what is missing (err != nil): with
// CI=true it fails with one line naming it; elsewhere it skips, saying
// so. Under -short the test skips before this is reached (Prereq).
func Need(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := strings.TrimSpace(err.Error())
	if InCI() {
		t.Fatalf("missing prerequisite: %s (%s)", what, msg)
	}
	t.Skipf("skipped: %s is missing (%s); with CI=true this fails", what, msg)
}

// Prereq skips under -short a test that needs what (with or without
// CI=true): unit runs never need the stack, Docker or other tools.
func Prereq(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s: not under -short", what)
	}
}

// Docker needs a Docker engine the docker CLI reaches.
func Docker(t testing.TB) {
	t.Helper()
	Prereq(t, "a Docker engine")
	out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput()
	if err != nil {
		err = &prereqError{strings.TrimSpace(string(out)) + ": " + err.Error()}
	}
	Need(t, "a Docker engine (docker version)", err)
}

// Command needs a program in PATH, naming the package that has it.
func Command(t testing.TB, name, debianPackage string) string {
	t.Helper()
	Prereq(t, name)
	path, err := exec.LookPath(name)
	Need(t, name+" (apt-get install "+debianPackage+"; make deps installs it)", err)
	return path
}

type prereqError struct{ s string }

func (e *prereqError) Error() string { return e.s }

// ArgoV36 needs the stack's Argo Server v3.6 and its argo CLI, and returns
// them (host:port, the binary): a stack brought up before they were added
// has neither (make stack-down stack-up).
func (s *Stack) ArgoV36(t testing.TB) (server, bin string) {
	t.Helper()
	var err error
	if s.ArgoServerV36 == "" || s.Argo36Bin == "" {
		err = &prereqError{"no ARGO_SERVER_V36 or ARGO36_BIN in " + s.Dir + "/env"}
	} else if _, err = exec.LookPath(s.Argo36Bin); err != nil {
		err = &prereqError{"ARGO36_BIN: " + err.Error()}
	}
	Need(t, "the stack's Argo Server v3.6 (make stack-down stack-up)", err)
	return s.ArgoServerV36, s.Argo36Bin
}
