package testenv

import (
	"strings"
	"unicode"
)

// RunnerCommand is a command GitHub's runner reads from a line a step
// printed (stdout or stderr).
type RunnerCommand struct {
	Name, Data string
	Props      map[string]string
	Legacy     bool // the ##[name props]data form
}

// runnerCommands are the commands the runner registers (actions/runner
// ActionCommandManager: the Worker's extensions).
var runnerCommands = map[string]bool{"add-mask": true, "add-matcher": true, "remove-matcher": true, "set-env": true, "set-output": true,
	"save-state": true, "add-path": true, "debug": true, "warning": true, "error": true, "notice": true, "group": true,
	"endgroup": true, "echo": true, "stop-commands": true, "internal-set-repo-path": true}

// ParseRunnerCommand ports actions/runner's ActionCommand.TryParseV2 and
// TryParse (src/Runner.Common/ActionCommand.cs) as the runner applies
// them to each line: "::name props::data" once leading white space is
// trimmed, else "##[name props]data" found anywhere in the line (IndexOf).
// Properties are not unescaped: the tests need only to know that a line
// is a command and which.
func ParseRunnerCommand(line string) (RunnerCommand, bool) {
	// .NET's TrimStart: every Unicode white space.
	if msg := strings.TrimLeftFunc(line, unicode.IsSpace); strings.HasPrefix(msg, "::") {
		if end := strings.Index(msg[2:], "::"); end >= 0 {
			info := msg[2 : 2+end]
			name, props, _ := strings.Cut(info, " ")
			// Command names are case-insensitive (ActionCommandManager's
			// registry is an OrdinalIgnoreCase dictionary).
			if name = strings.ToLower(name); runnerCommands[name] {
				return RunnerCommand{Name: name, Data: msg[2+end+2:], Props: props2(props, ",")}, true
			}
		}
	}
	i := strings.Index(line, "##[")
	if i < 0 {
		return RunnerCommand{}, false
	}
	rb := strings.IndexByte(line[i:], ']')
	if rb < 0 {
		return RunnerCommand{}, false
	}
	info := line[i+3 : i+rb]
	name, props, _ := strings.Cut(info, " ")
	if name = strings.ToLower(name); !runnerCommands[name] {
		return RunnerCommand{}, false
	}
	return RunnerCommand{Name: name, Data: line[i+rb+1:], Props: props2(props, ";"), Legacy: true}, true
}

func props2(s, sep string) map[string]string {
	out := map[string]string{}
	for _, p := range strings.Split(s, sep) {
		if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && k != "" && v != "" {
			out[k] = v
		}
	}
	return out
}

// RunnerCommands returns the commands the runner would read from out,
// line by line.
func RunnerCommands(out string) []RunnerCommand {
	var cmds []RunnerCommand
	for _, l := range strings.Split(out, "\n") {
		if c, ok := ParseRunnerCommand(l); ok {
			cmds = append(cmds, c)
		}
	}
	return cmds
}
