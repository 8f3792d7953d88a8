// Command testsum reads `go test -json` on stdin and prints what a person
// needs: a line per package as go test prints it, the whole output of every
// failed test, every skipped test with its reason, and one last line with
// the counts. It exits 1 when a test or a package failed, or when tests
// were skipped while CI=true (in CI every test must run).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action, Package, Test, Output string
	Elapsed                       float64
}

type summary struct {
	passed, failed, skipped int
	output                  map[string][]string // package/test → output lines
	failedTests, skips      []string
	pkgFailed               bool
}

func (s *summary) add(e event, out io.Writer) {
	key := e.Package + " " + e.Test
	switch e.Action {
	case "output", "build-output":
		if e.Test == "" && (strings.HasPrefix(e.Output, "ok ") || strings.HasPrefix(e.Output, "FAIL") || strings.HasPrefix(e.Output, "?")) {
			fmt.Fprint(out, e.Output) // the package's own line
			return
		}
		s.output[key] = append(s.output[key], e.Output)
	case "pass":
		if e.Test != "" {
			s.passed++
		}
	case "skip":
		if e.Test != "" {
			s.skipped++
			s.skips = append(s.skips, fmt.Sprintf("%s %s: %s", e.Package, e.Test, reason(s.output[key])))
		}
	case "fail", "build-fail":
		if e.Test == "" {
			s.pkgFailed = true
			if e.Action == "build-fail" || len(s.output[key]) > 0 {
				fmt.Fprint(out, strings.Join(s.output[key], ""))
			}
			return
		}
		s.failed++
		s.failedTests = append(s.failedTests, key)
		fmt.Fprintf(out, "--- FAIL: %s (%s)\n%s", e.Test, e.Package, strings.Join(s.output[key], ""))
	}
}

// reason is the skip message: the test's output line after "--- SKIP".
func reason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l != "" && !strings.HasPrefix(l, "--- SKIP") && !strings.HasPrefix(l, "=== ") {
			return l
		}
	}
	return "(no reason given)"
}

func main() {
	s := &summary{output: map[string][]string{}}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Println(sc.Text()) // not an event: a build error, vet's output
			continue
		}
		s.add(e, os.Stdout)
	}
	sort.Strings(s.skips)
	for _, sk := range s.skips {
		fmt.Println("skipped:", sk)
	}
	fmt.Printf("tests: %d ran (%d passed, %d failed), %d skipped\n", s.passed+s.failed, s.passed, s.failed, s.skipped)
	switch {
	case s.failed > 0 || s.pkgFailed:
		os.Exit(1)
	case s.skipped > 0 && os.Getenv("CI") == "true":
		fmt.Println("testsum: tests were skipped in CI (CI=true): every test must run there")
		os.Exit(1)
	}
}
