// Package actions tests argo-cred's GitHub Action the way GitHub's runner
// runs it (see ../shared/research/gha-runner.md): a container action run by
// `docker run` exactly as actions/runner's ContainerActionHandler does, its
// file-command files parsed by a line-for-line port of the runner's parser,
// and its log passed through a port of the runner's secret masker.
package actions

import (
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// pair is one NAME=value a file command yields.
type pair struct{ Key, Value string }

// parseFileCommand ports FileCommandManager.EnvFileKeyValuePairs of
// actions/runner (Linux): the BOM is stripped, lines end at LF only, empty
// lines outside a heredoc are skipped, NAME=value splits at the first '=',
// NAME<<DELIM runs to the first line exactly equal to DELIM. It returns the
// pairs yielded before an error too: the runner applies them as it goes.
func parseFileCommand(contents string) ([]pair, error) {
	contents = strings.TrimPrefix(contents, "\ufeff")
	var out []pair
	index := 0
	// readLine returns the next line and whether it ended with a newline;
	// ok is false at the end of contents.
	readLine := func() (line string, newline, ok bool) {
		if index >= len(contents) {
			return "", false, false
		}
		end := strings.IndexByte(contents[index:], '\n')
		if end < 0 {
			line, index = contents[index:], len(contents)
			return line, false, true
		}
		line = contents[index : index+end]
		index += end + 1
		return line, true, true
	}
	for {
		line, _, ok := readLine()
		if !ok {
			return out, nil
		}
		if line == "" {
			continue
		}
		eq, hd := strings.Index(line, "="), strings.Index(line, "<<")
		var key, value string
		switch {
		case eq >= 0 && (hd < 0 || eq < hd):
			key, value, _ = strings.Cut(line, "=")
		case hd >= 0 && (eq < 0 || hd < eq):
			k, delim, _ := strings.Cut(line, "<<")
			if k == "" || delim == "" {
				return out, fmt.Errorf("invalid format %q: name must not be empty and delimiter must not be empty", line)
			}
			key = k
			start, end := index, index
			for {
				l, newline, ok := readLine()
				if ok && l == delim {
					break
				}
				if !ok {
					return out, fmt.Errorf("invalid value: matching delimiter not found %q", delim)
				}
				if !newline {
					return out, errors.New("invalid value: EOF marker missing new line")
				}
				end = index - 1
			}
			if end > start {
				value = contents[start:end]
			}
		default:
			return out, fmt.Errorf("invalid format %q", line)
		}
		out = append(out, pair{key, value})
	}
}

// applyEnv is the runner's `env` file command: pairs apply in order, and
// NODE_OPTIONS is refused (an error that fails the step) without stopping
// the others.
func applyEnv(contents string, env map[string]string) error {
	pairs, err := parseFileCommand(contents)
	var errs []error
	for _, p := range pairs {
		if strings.EqualFold(p.Key, "NODE_OPTIONS") {
			errs = append(errs, errors.New("can't store NODE_OPTIONS output parameter using '$GITHUB_ENV' command"))
			continue
		}
		env[p.Key] = p.Value
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("unable to process file command 'env' successfully: %w", err))
	}
	return errors.Join(errs...)
}

// masker ports the runner's SecretMasker as ::add-mask:: feeds it: the
// value, each of its lines (trimmed, empties dropped), and the base64 forms
// at the three alignments; each log line is masked after every mask added
// before it.
type masker struct{ values []string }

func unescapeData(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(s)
}

func (m *masker) add(v string) {
	if strings.TrimSpace(v) == "" {
		return
	}
	forms := []string{v}
	for _, l := range strings.FieldsFunc(v, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if l = strings.TrimSpace(l); l != "" {
			forms = append(forms, l)
		}
	}
	for _, f := range slicesClone(forms) {
		for shift := 0; shift < 3; shift++ {
			enc := base64.StdEncoding.EncodeToString(append(make([]byte, shift), f...))
			// Drop the characters the unknown preceding bytes decide, and
			// the padding.
			enc = strings.TrimRight(enc[(shift*4+2)/3:], "=")
			if len(enc) > 4 {
				forms = append(forms, enc)
			}
		}
	}
	m.values = append(m.values, forms...)
	sort.Slice(m.values, func(i, j int) bool { return len(m.values[i]) > len(m.values[j]) })
}

func (m *masker) mask(line string) string {
	for _, v := range m.values {
		line = strings.ReplaceAll(line, v, "***")
	}
	return line
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// processLog is the runner's view of a step's output: ::add-mask:: lines
// feed the masker (and are not shown); every other line is masked with the
// masks added so far.
func processLog(out string, m *masker) string {
	var b strings.Builder
	for _, line := range strings.Split(out, "\n") {
		if data, ok := strings.CutPrefix(strings.TrimLeft(line, " \t"), "::add-mask::"); ok {
			m.add(unescapeData(data))
			b.WriteString("::add-mask::***\n")
			continue
		}
		b.WriteString(m.mask(line) + "\n")
	}
	return b.String()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
