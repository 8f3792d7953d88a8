package testenv

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRunnerCommand(t *testing.T) {
	tests := map[string]struct {
		line string
		want *RunnerCommand
	}{
		"v2":               {"::add-mask::x", &RunnerCommand{Name: "add-mask", Data: "x", Props: map[string]string{}}},
		"v2 indented":      {"  ::error title=t::m", &RunnerCommand{Name: "error", Data: "m", Props: map[string]string{"title": "t"}}},
		"v2 mid-line":      {"x ::error::m", nil},
		"v2 upper case":    {"::ERROR::m", &RunnerCommand{Name: "error", Data: "m", Props: map[string]string{}}},
		"v2 ideographic":   {"\u3000::error::m", &RunnerCommand{Name: "error", Data: "m", Props: map[string]string{}}},
		"v2 unknown":       {"::nope::m", nil},
		"legacy anywhere":  {"server 1.2.3 ##[save-state name=binding;]victim", &RunnerCommand{Name: "save-state", Data: "victim", Props: map[string]string{"name": "binding"}, Legacy: true}},
		"legacy no props":  {"a ##[endgroup]", &RunnerCommand{Name: "endgroup", Props: map[string]string{}, Legacy: true}},
		"legacy defused":   {"a # #[save-state name=x;]y", nil},
		"legacy unknown":   {"##[section]x", nil},
		"legacy unclosed":  {"##[set-output name=x", nil},
		"plain":            {"verdict: ok", nil},
		"quoted v2 inside": {"'::error::x", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := ParseRunnerCommand(tc.line)
			if (tc.want != nil) != ok {
				t.Fatalf("ParseRunnerCommand(%q) ok = %t", tc.line, ok)
			}
			if ok {
				if diff := cmp.Diff(*tc.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
}
