package testenv

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/argo-cred/argo-cred/internal/profile"
)

// ArgoProfiles are the job profiles (internal/profile) of the argo commands
// an example runs, sorted, each once. An argo command is a subcommand of
// the profile table's (submit, wait, list, cron create, …) after "argo", an
// argocli or argo-cred image, "args:" (a docker:// step) or "--" (argo-cred
// docker); submit with --wait, --watch or -w needs wait too, and submit
// --from is submit-from. Comments (# and //) and YAML name: lines are not
// commands.
func ArgoProfiles(text string) []string {
	byCommand := map[string]string{}
	for _, p := range profile.Profiles {
		for _, c := range p.Commands {
			f := strings.Fields(c)[1:]
			if slices.ContainsFunc(f, func(s string) bool { return strings.HasPrefix(s, "--from") }) {
				continue // submit --from: below
			}
			key := f[0]
			if key == "cron" {
				key += " " + f[1]
			}
			byCommand[key] = p.Name
		}
	}
	var out []string
	for _, line := range strings.Split(strings.ReplaceAll(text, "\\\n", " "), "\n") {
		line, _, _ = strings.Cut(line, " #")
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "#") || strings.HasPrefix(l, "//") || nameLine.MatchString(l) {
			continue
		}
		for _, seg := range segment.Split(line, -1) {
			tok := strings.FieldsFunc(seg, func(r rune) bool { return strings.ContainsRune(" \t'\"`()=", r) })
			for i := 0; i+1 < len(tok); i++ {
				if t := tok[i]; t != "argo" && t != "args:" && t != "--" && !strings.Contains(t, "argocli:") && !strings.Contains(t, "argo-cred:") {
					continue
				}
				key := tok[i+1]
				if key == "cron" && i+2 < len(tok) {
					key += " " + tok[i+2]
				}
				name, ok := byCommand[key]
				if !ok {
					continue
				}
				rest := tok[i+2:]
				if key == "submit" && slices.ContainsFunc(rest, func(s string) bool { return strings.HasPrefix(s, "--from") }) {
					name = "submit-from"
				}
				out = append(out, name)
				if key == "submit" && (slices.Contains(rest, "--wait") || slices.Contains(rest, "--watch") || slices.Contains(rest, "-w")) {
					out = append(out, "wait")
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var (
	nameLine = regexp.MustCompile(`^(- )?name:`)
	segment  = regexp.MustCompile(`&&|\|\||[;|]|\$\(`)
	forValue = regexp.MustCompile(`(?m)(?:--for[ =]|^\s*for: |[(,]\s*(?:for|forProfiles): '|ARGO_CRED_FOR[:=] ?)([a-z,-]+)`)
)

// ForProfiles are the profiles an example's --for (or the action's for:
// input, the Jenkins step's for: parameter, or ARGO_CRED_FOR) names, sorted; an error when it names none, or
// two different lists.
func ForProfiles(text string) ([]string, error) {
	var got []string
	for _, m := range forValue.FindAllStringSubmatch(text, -1) {
		ps := strings.Split(m[1], ",")
		slices.Sort(ps)
		if got != nil && !slices.Equal(got, ps) {
			return nil, fmt.Errorf("--for names %s and %s: one job, one list of profiles", strings.Join(got, ","), strings.Join(ps, ","))
		}
		got = ps
	}
	if got == nil {
		return nil, fmt.Errorf("no --for (for:, ARGO_CRED_FOR): its grants should be its argo commands' profiles")
	}
	return got, nil
}

// ProfileRules are the RBAC rules that grant exactly the profiles named:
// an identity for a test that runs those profiles' argo commands.
func ProfileRules(t testing.TB, names ...string) []rbacv1.PolicyRule {
	t.Helper()
	ps, err := profile.Parse(names)
	if err != nil {
		t.Fatal(err)
	}
	var rules []rbacv1.PolicyRule
	for _, r := range profile.Union(ps) {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{r.Group}, Resources: []string{r.Resource}, Verbs: r.Verbs})
	}
	return rules
}
