// Package export writes settings in the forms CI systems read: POSIX shell,
// dotenv, JSON, GitHub Actions environment files (internal/github's
// writer) and Jenkins properties, each registered under its --format name.
// Every writer refuses what the reader could misread (a bad name, a newline
// where one cannot be carried) before writing anything.
package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
	"github.com/argo-cred/argo-cred/internal/github"
)

// Writer writes the variables in one format.
type Writer func(io.Writer, []env.Var) error

// Format is a --format: its name, what it prints, and its writer.
type Format struct {
	Name, Help string
	Write      Writer
}

// formats are the --format values, in the order help and completion
// list them.
var formats = []Format{
	{"shell", "export lines for eval", Shell},
	{"dotenv", "NAME=value lines (docker --env-file)", Dotenv},
	{"json", "one JSON object", JSON},
	{"github", "$GITHUB_ENV lines", github.WriteEnv},
	{"jenkins", "a properties file and its .sh companion", Jenkins},
}

// Formats returns the formats, in order.
func Formats() []Format { return slices.Clone(formats) }

// Names returns the formats' names, in order.
func Names() []string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = f.Name
	}
	return names
}

// Alternatives is the names as a hint words them: "a, b or c".
func Alternatives() string {
	names := Names()
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Lookup returns the writer of the format name, or a usage error naming
// the formats.
func Lookup(name string) (Writer, error) {
	for _, f := range formats {
		if f.Name == name {
			return f.Write, nil
		}
	}
	return nil, exitcode.New(exitcode.Usage, "use one of "+strings.Join(Names(), ", "), "unknown --format %q", name)
}

var validName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func invalid(format string, args ...any) error {
	return exitcode.New(exitcode.Usage, "remove newlines and control characters from the setting", format, args...)
}

func checkNames(vars []env.Var) error {
	for _, v := range vars {
		if !validName.MatchString(v.Name) {
			return invalid("invalid variable name %q", v.Name)
		}
		if strings.ContainsRune(v.Value, 0) {
			return invalid("%s contains a NUL byte", v.Name)
		}
		if !utf8.ValidString(v.Value) {
			return invalid("%s is not valid UTF-8", v.Name)
		}
	}
	return nil
}

// checkLines refuses values a line-based format cannot carry.
func checkLines(vars []env.Var, format string) error {
	for _, v := range vars {
		if strings.ContainsAny(v.Value, "\r\n") {
			return invalid("%s contains a newline, which %s cannot carry", v.Name, format)
		}
	}
	return nil
}

// Shell writes `export NAME='value'` lines that bash, dash and zsh evaluate
// to the exact values, between a first line that turns tracing off and a
// last that turns it back on only if it was on: a file of them sourced
// under `sh -x` (`. "$f"`) traces no value. (A trace of `eval "$creds"` or
// of `creds=$(…)` prints the whole text before any line of it runs: only
// sourcing a file keeps the values out of the trace.)
func Shell(w io.Writer, vars []env.Var) error {
	return files.WriteWhole(w, func() error { return checkNames(vars) }, func(b *bytes.Buffer) { shellExports(b, vars) })
}

// traceOff and traceBack surround the exports of the shell forms. The
// `set +x` itself is traced to /dev/null.
const (
	traceOff  = "{ case $- in *x*) _argo_cred_x=1; set +x ;; *) _argo_cred_x= ;; esac; } 2>/dev/null\n"
	traceBack = "if [ -n \"$_argo_cred_x\" ]; then unset _argo_cred_x; set -x; else unset _argo_cred_x; fi\n"
)

func shellExports(b *bytes.Buffer, vars []env.Var) {
	b.WriteString(traceOff)
	for _, v := range vars {
		fmt.Fprintf(b, "export %s=%s\n", v.Name, shellQuote(v.Value))
	}
	b.WriteString(traceBack)
}

// shellQuote quotes s for a POSIX shell: single quotes, with each ' as '\”.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Dotenv writes NAME=value lines without quoting, as `docker run --env-file`
// and Compose read them; values with newlines or surrounding white space are
// refused.
func Dotenv(w io.Writer, vars []env.Var) error {
	check := func() error {
		if err := checkNames(vars); err != nil {
			return err
		}
		for _, v := range vars {
			if strings.TrimSpace(v.Value) != v.Value {
				return invalid("%s has leading or trailing white space, which dotenv readers strip", v.Name)
			}
		}
		return checkLines(vars, "dotenv")
	}
	return files.WriteWhole(w, check, func(b *bytes.Buffer) {
		for _, v := range vars {
			fmt.Fprintf(b, "%s=%s\n", v.Name, v.Value)
		}
	})
}

// JSON writes one object mapping names to values, in the given order.
func JSON(w io.Writer, vars []env.Var) error {
	return files.WriteWhole(w, func() error { return checkNames(vars) }, func(b *bytes.Buffer) {
		b.WriteString("{\n")
		for i, v := range vars {
			k, _ := json.Marshal(v.Name)
			val, _ := json.Marshal(v.Value)
			fmt.Fprintf(b, "  %s: %s", k, val)
			if i < len(vars)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString("}\n")
	})
}

// Jenkins writes a Java properties file, as the Pipeline Utility Steps'
// readProperties reads it.
func Jenkins(w io.Writer, vars []env.Var) error {
	return files.WriteWhole(w, func() error { return checkNames(vars) }, func(b *bytes.Buffer) {
		b.WriteString("# argo-cred: read with readProperties, pass with withEnv\n")
		for _, v := range vars {
			fmt.Fprintf(b, "%s=%s\n", v.Name, propertiesEscape(v.Value))
		}
	})
}

// jenkinsShellMarker opens every file JenkinsShell writes; argo-cred
// replaces an existing file beside --output-file only if it starts so.
const jenkinsShellMarker = "# argo-cred: ARGO_* settings for Jenkins sh steps"

// JenkinsShell writes the shell form for Jenkins' sh steps, to be sourced
// (`. ./argo.properties.sh`): Shell's lines after a marker comment. Jenkins
// runs sh steps as `sh -xe`, whose trace would print every export with its
// value; the file turns tracing off around the exports, as Shell's does.
func JenkinsShell(w io.Writer, vars []env.Var) error {
	return files.WriteWhole(w, func() error { return checkNames(vars) }, func(b *bytes.Buffer) {
		b.WriteString(jenkinsShellMarker + "; source it with: . ./FILE\n")
		shellExports(b, vars)
	})
}

// IsJenkinsShell tells whether a file starting with head was written by
// JenkinsShell.
func IsJenkinsShell(head []byte) bool { return bytes.HasPrefix(head, []byte(jenkinsShellMarker)) }

func propertiesEscape(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\\' || r == '=' || r == ':' || r == '#' || r == '!':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == ' ' && i == 0:
			b.WriteString(`\ `)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r > 0x7e:
			if r > 0xffff {
				hi, lo := utf16.EncodeRune(r)
				fmt.Fprintf(&b, `\u%04x\u%04x`, hi, lo)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
