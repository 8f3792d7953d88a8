package github

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
	"github.com/argo-cred/argo-cred/internal/redact"
)

// envName is a name for $GITHUB_ENV, $GITHUB_OUTPUT or $GITHUB_STATE.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

func invalid(format string, args ...any) error {
	return exitcode.New(exitcode.Usage, "remove newlines and control characters from the setting", format, args...)
}

// WriteEnv writes the variables for envFile (the file named by
// $GITHUB_ENV, $GITHUB_OUTPUT or $GITHUB_STATE, which the runner parses
// alike) as `NAME<<DELIMITER` blocks with a delimiter random per write, as
// @actions/core does. A value containing the delimiter or a CR (the
// runner's Linux parser keeps CRs in values) and the name NODE_OPTIONS
// (which the runner refuses) are refused before anything is written.
func WriteEnv(envFile io.Writer, vars []env.Var) error {
	delim, err := delimiter()
	if err != nil {
		return err
	}
	return writeEnv(envFile, vars, delim)
}

func writeEnv(envFile io.Writer, vars []env.Var, delim string) error {
	check := func() error {
		for _, v := range vars {
			// Outputs such as token-expires-at have hyphens; nothing the
			// runner could read as "=" or "<<" (a name ending in '<' would).
			if !envName.MatchString(v.Name) {
				return invalid("invalid variable name %q", v.Name)
			}
			if strings.ContainsRune(v.Value, 0) || !utf8.ValidString(v.Value) {
				return invalid("%s contains a NUL byte or invalid UTF-8", v.Name)
			}
		}
		for _, v := range vars {
			switch {
			case strings.Contains(v.Value, delim):
				return invalid("%s contains the heredoc delimiter", v.Name)
			case strings.ContainsRune(v.Value, '\r'):
				return invalid("%s contains a carriage return, which the runner would keep in the value", v.Name)
			case strings.EqualFold(v.Name, "NODE_OPTIONS"):
				return invalid("the runner refuses NODE_OPTIONS")
			}
		}
		return nil
	}
	return files.WriteWhole(envFile, check, func(b *bytes.Buffer) {
		for _, v := range vars {
			fmt.Fprintf(b, "%s<<%s\n%s\n%s\n", v.Name, delim, v.Value, delim)
		}
	})
}

func delimiter() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making a heredoc delimiter: %w", err)
	}
	return "ghadelimiter_" + hex.EncodeToString(b), nil
}

// masks returns every form in which the secrets could be printed
// (redact.Forms: with and without "Bearer ", base64 and URL encodings).
func masks(secrets []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range secrets {
		for _, f := range redact.Forms(s) {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	return out
}

// writeMasks writes an `::add-mask::` command for every form of each
// secret, so that the runner hides them in all later log lines.
func writeMasks(w io.Writer, secrets []string) error {
	ms := masks(secrets)
	check := func() error {
		for _, m := range ms {
			if strings.ContainsAny(m, "\r\n") {
				return invalid("a secret contains a newline, which ::add-mask:: cannot mask")
			}
		}
		return nil
	}
	return files.WriteWhole(w, check, func(b *bytes.Buffer) {
		for _, m := range ms {
			// Escaped as the runner unescapes command data (%25 → %), so
			// that it masks exactly the secret.
			fmt.Fprintf(b, "::add-mask::%s\n", commandEscape(m, false))
		}
	})
}

// commandEscape escapes s for a workflow command (`::cmd
// prop=value::data`): %, CR and LF always, and : and , in a property value.
func commandEscape(s string, property bool) string {
	r := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	if property {
		r = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
	}
	return r.Replace(s)
}
