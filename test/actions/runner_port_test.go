// Package actions tests argo-cred's GitHub Action the way GitHub's runner
// runs it: a container action run by `docker run` exactly as
// actions/runner's ContainerActionHandler does, its file-command files
// parsed by a line-for-line port of the runner's parser, and its log
// passed through a port of the runner's secret masker. The ports follow
// actions/runner at commit 258d6c857db3519913f7deb6004b60172f8043ae
// (v2.336.0), and testdata/*.json holds the runner's own test vectors
// (its L0 tests, file and commit named in each) that they must pass.
package actions

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/argo-cred/argo-cred/internal/testenv"
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

// masker ports the runner's SecretMasker (src/Sdk/DTLogging/Logging/
// SecretMasker.cs) with the value encoders the runner's HostContext
// registers (src/Runner.Common/HostContext.cs, ValueEncoders.cs). Masking
// finds every occurrence of every secret in a line, merges those that
// overlap or touch, and replaces each merged stretch by "***".
type masker struct{ values []string }

// addMask is the add-mask command (src/Runner.Worker/ActionCommandManager.cs
// AddMaskCommandExtension): nothing for white space only; else the value,
// then each of its CR/LF-separated lines, trimmed, empty ones dropped.
func (m *masker) addMask(data string) {
	if strings.TrimSpace(data) == "" {
		return
	}
	m.addValue(data)
	for _, l := range strings.FieldsFunc(data, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if l = strings.TrimSpace(l); l != "" {
			m.addValue(l)
		}
	}
}

// addValue is SecretMasker.AddValue: the value and every non-empty
// encoding of it become secrets.
func (m *masker) addValue(v string) {
	if v == "" {
		return
	}
	for _, s := range append([]string{v}, encodings(v)...) {
		if s != "" && !slices.Contains(m.values, s) {
			m.values = append(m.values, s)
		}
	}
}

// mask is SecretMasker.MaskSecrets.
func (m *masker) mask(line string) string {
	type span struct{ start, end int }
	var spans []span
	for _, v := range m.values {
		for from := 0; from+len(v) <= len(line); {
			k := strings.Index(line[from:], v)
			if k < 0 {
				break
			}
			spans = append(spans, span{from + k, from + k + len(v)})
			from += k + 1
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var b strings.Builder
	at := 0
	for i := 0; i < len(spans); {
		cur := spans[i]
		for i++; i < len(spans) && spans[i].start <= cur.end; i++ {
			cur.end = max(cur.end, spans[i].end)
		}
		b.WriteString(line[at:cur.start] + "***")
		at = cur.end
	}
	return b.String() + line[at:]
}

// encodings are the runner's value encoders, in the order HostContext adds
// them (ValueEncoders.cs). Lengths the runner compares are of .NET's
// UTF-16 strings.
func encodings(v string) []string {
	b := []byte(v)
	shift := func(n int) string {
		if len(b) > n {
			return base64.StdEncoding.EncodeToString(b[n:])
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	return []string{
		base64.StdEncoding.EncodeToString(b), // Base64StringEscape
		shift(1),                             // Base64StringEscapeShift1
		shift(2),                             // Base64StringEscapeShift2
		strings.ReplaceAll(v, `"`, `\"`),     // CommandLineArgumentEscape
		strings.ReplaceAll(v, "'", "''"),     // ExpressionStringEscape
		jsonStringEscape(v),
		uriDataEscape(v),
		strings.NewReplacer("<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;", "&", "&amp;").Replace(v), // XmlDataEscape (SecurityElement.Escape)
		trimDoubleQuotes(v),
		powerShellPreAmpersand(v),
		powerShellPostAmpersand(v),
	}
}

func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// jsonStringEscape is JsonConvert.ToString (Newtonsoft.Json, default
// escaping) without its quotes.
func jsonStringEscape(v string) string {
	var b strings.Builder
	for _, r := range v {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\u0085', '\u2028', '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// uriDataEscape is .NET's Uri.EscapeDataString: all but the RFC 3986
// unreserved characters percent-encoded, as UTF-8, upper-case hex.
func uriDataEscape(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// trimDoubleQuotes: a value longer than 8 in double quotes, without them.
func trimDoubleQuotes(v string) string {
	if utf16Len(v) > 8 && strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`) {
		return v[1 : len(v)-1]
	}
	return ""
}

// powerShellPreAmpersand: the part up to "&+", or else up to the last "&",
// if 6 long or more (PowerShell may colour what follows it).
func powerShellPreAmpersand(v string) string {
	var section string
	switch {
	case !strings.Contains(v, "&"):
		return ""
	case strings.Contains(v, "&+"):
		section = v[:strings.Index(v, "&+")+2]
	default:
		section = v[:strings.LastIndex(v, "&")+1]
	}
	if utf16Len(section) >= 6 {
		return section
	}
	return ""
}

// powerShellPostAmpersand: the part after "&+" and the one character
// PowerShell colours, or else after the last "&", if 6 long or more.
func powerShellPostAmpersand(v string) string {
	var section string
	switch {
	case !strings.Contains(v, "&"):
		return ""
	case strings.Contains(v, "&+"):
		u := utf16.Encode([]rune(v))
		if i := utf16Len(v[:strings.Index(v, "&+")]); len(u) > i+3 {
			section = string(utf16.Decode(u[i+3:]))
		}
	default:
		section = v[strings.LastIndex(v, "&")+1:]
	}
	if utf16Len(section) >= 6 {
		return section
	}
	return ""
}

// unescapeData, unescapeProperty and unescape are ActionCommand.cs's: the
// data of a ::command::, a property of one, and both in the ##[command]
// form. Each replaces its escapes in turn, %25 last.
func unescapeData(s string) string {
	return replaceInTurn(s, "%0D", "\r", "%0A", "\n", "%25", "%")
}

func unescapeProperty(s string) string {
	return replaceInTurn(s, "%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%")
}

func unescape(s string) string {
	return replaceInTurn(s, "%3B", ";", "%0D", "\r", "%0A", "\n", "%5D", "]", "%25", "%")
}

func replaceInTurn(s string, oldnew ...string) string {
	for i := 0; i < len(oldnew); i += 2 {
		s = strings.ReplaceAll(s, oldnew[i], oldnew[i+1])
	}
	return s
}

// commandData is a runner command's data, unescaped as the runner does.
func commandData(c testenv.RunnerCommand) string {
	if c.Legacy {
		return unescape(c.Data)
	}
	return unescapeData(c.Data)
}

// processLog is the runner's view of a step's output: an add-mask command
// (either form, read by testenv.ParseRunnerCommand as the runner reads
// commands) feeds the masker and shows as "::add-mask::***"; every other
// line is masked with the masks added so far.
func processLog(out string, m *masker) string {
	var b strings.Builder
	for _, line := range strings.Split(out, "\n") {
		if c, ok := testenv.ParseRunnerCommand(line); ok && c.Name == "add-mask" {
			m.addMask(commandData(c))
			b.WriteString("::add-mask::***\n")
			continue
		}
		b.WriteString(m.mask(line) + "\n")
	}
	return b.String()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
