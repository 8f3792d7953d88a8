// Package profile names what CI jobs do with the argo CLI (submit, wait,
// logs, …) and the Kubernetes permissions each needs on the Argo Server,
// as measured against a real Argo Server from the kube-apiserver's audit
// log (TestIntegrationProfilesMeasured).
package profile

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MeasuredVersion is the newest Argo Server version the profiles were
// measured on: the version of Profiles.
const MeasuredVersion = "v3.7.9"

// Versions are the Argo Server versions the profiles were measured on
// (TestIntegrationProfilesMeasured), oldest first: the newest patch of
// each minor the stack runs.
var Versions = []string{"v3.6.18", MeasuredVersion}

// tables are the profiles measured on each of Versions.
var tables = map[string][]Profile{
	// As v3.7 but for submit-from: v3.6 reads the workflow template with
	// the job's token (v3.7 with the server's own identity).
	"v3.6.18": replace(Profiles, Profile{Name: "submit-from", Commands: submitFrom,
		Rules: []Rule{{Group: argo, Resource: "cronworkflows", Verbs: []string{"get"}}, {Group: argo, Resource: "workflowtemplates", Verbs: []string{"get"}}, wf("create")}}),
	MeasuredVersion: Profiles,
}

// ForVersion returns the profiles measured on the Argo Server minor of
// serverVersion (as the server reports it: "v3.7.9", "v3.6.18+abc1234")
// and the version they were measured on; ok is false when that minor was
// never measured, or the version names none ("untagged").
func ForVersion(serverVersion string) (ps []Profile, measured string, ok bool) {
	m := minor(serverVersion)
	for _, v := range Versions {
		if m != "" && minor(v) == m {
			return tables[v], v, true
		}
	}
	return nil, "", false
}

// replace is ps with p in place of the profile of p's name.
func replace(ps []Profile, p Profile) []Profile {
	out := slices.Clone(ps)
	out[slices.IndexFunc(out, func(o Profile) bool { return o.Name == p.Name })] = p
	return out
}

// minor is "vMAJOR.MINOR" of a version "vMAJOR.MINOR[.…]", or "".
func minor(v string) string {
	f := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if !strings.HasPrefix(v, "v") || len(f) < 2 {
		return ""
	}
	for _, n := range f[:2] {
		if _, err := strconv.ParseUint(n, 10, 32); err != nil {
			return ""
		}
	}
	return "v" + f[0] + "." + f[1]
}

// Rule is verbs on one resource of an API group; Resource may name a
// subresource ("pods/log"). Group "" is the core group.
type Rule struct {
	Group    string
	Resource string
	Verbs    []string
}

func (r Rule) String() string {
	g := r.Group
	if g == "" {
		g = "core"
	}
	return g + " " + r.Resource + ":" + strings.Join(r.Verbs, ",")
}

// Profile is one thing a CI job does with the argo CLI.
type Profile struct {
	Name     string
	Commands []string // the argo commands measured
	// Rules are the requests the Argo Server made to Kubernetes with the
	// job's token (from the audit log).
	Rules []Rule
	// Reviews are the SelfSubjectAccessReviews the server made with the
	// job's token: it asks whether the token may do this before it
	// answers from its own cache. The audit log shows that a review was
	// made, not what it asked; what it asks is read in the server's source
	// (server/workflow/workflow_server.go) and proven by running the
	// commands with exactly Grants.
	Reviews []Rule
}

// Grants are the profile's rules and reviews, merged.
func (p Profile) Grants() []Rule { return Merge(append(slices.Clone(p.Rules), p.Reviews...)) }

const argo = "argoproj.io"

func wf(verbs ...string) Rule { return Rule{Group: argo, Resource: "workflows", Verbs: verbs} }

// Profiles are the profiles measured on Argo Server MeasuredVersion, the
// newest; ForVersion gives those of another version.
var Profiles = []Profile{
	{Name: "submit", Commands: []string{"argo submit FILE"},
		Rules: []Rule{wf("create")}},
	{Name: "wait", Commands: []string{"argo wait NAME", "argo watch NAME"},
		Rules: []Rule{wf("get", "watch")}},
	{Name: "logs", Commands: []string{"argo logs NAME"},
		Rules: []Rule{{Resource: "pods", Verbs: []string{"list", "watch"}}, {Resource: "pods/log", Verbs: []string{"get"}}, wf("get")}},
	{Name: "read", Commands: []string{"argo list", "argo get NAME"},
		Rules: []Rule{wf("get")}, Reviews: []Rule{wf("list")}},
	{Name: "manage", Commands: []string{"argo suspend NAME", "argo resume NAME", "argo stop NAME", "argo terminate NAME", "argo retry NAME", "argo resubmit NAME", "argo delete NAME"},
		Rules: []Rule{{Resource: "pods", Verbs: []string{"delete"}}, wf("create", "delete", "get", "patch", "update")}},
	{Name: "cron", Commands: []string{"argo cron create FILE", "argo cron list", "argo cron get NAME", "argo cron suspend NAME", "argo cron resume NAME", "argo cron delete NAME"},
		Rules: []Rule{{Group: argo, Resource: "cronworkflows", Verbs: []string{"create", "delete", "get", "list", "patch"}}}},
	{Name: "submit-from", Commands: submitFrom,
		Rules: []Rule{{Group: argo, Resource: "cronworkflows", Verbs: []string{"get"}}, wf("create")}},
}

var submitFrom = []string{"argo submit --from workflowtemplate/NAME", "argo submit --from cronwf/NAME"}

// Names are the profiles' names, in the table's order.
func Names() []string {
	var out []string
	for _, p := range Profiles {
		out = append(out, p.Name)
	}
	return out
}

// List is the profiles' names, comma-separated: for help and hints.
func List() string { return strings.Join(Names(), ", ") }

// Get returns the profile named name.
func Get(name string) (Profile, bool) {
	i := slices.IndexFunc(Profiles, func(p Profile) bool { return p.Name == name })
	if i < 0 {
		return Profile{}, false
	}
	return Profiles[i], true
}

// Parse reads PROFILE[,PROFILE…] (each of a repeated flag) and returns the
// named profiles, each once, in the table's order.
func Parse(values []string) ([]Profile, error) {
	seen := map[string]bool{}
	for _, v := range values {
		for _, n := range strings.Split(v, ",") {
			n = strings.TrimSpace(n)
			if _, ok := Get(n); !ok {
				return nil, fmt.Errorf("unknown profile %q (one of %s)", n, List())
			}
			seen[n] = true
		}
	}
	var out []Profile
	for _, p := range Profiles {
		if seen[p.Name] {
			out = append(out, p)
		}
	}
	return out, nil
}

// Union is every grant of the profiles, merged.
func Union(ps []Profile) []Rule {
	var all []Rule
	for _, p := range ps {
		all = append(all, p.Grants()...)
	}
	return Merge(all)
}

// Merge folds rules on the same group and resource together: sorted by
// group then resource, verbs sorted, each once.
func Merge(rules []Rule) []Rule {
	var out []Rule
	for _, r := range rules {
		i := slices.IndexFunc(out, func(o Rule) bool { return o.Group == r.Group && o.Resource == r.Resource })
		if i < 0 {
			out = append(out, Rule{Group: r.Group, Resource: r.Resource})
			i = len(out) - 1
		}
		for _, v := range r.Verbs {
			if !slices.Contains(out[i].Verbs, v) {
				out[i].Verbs = append(out[i].Verbs, v)
			}
		}
	}
	for i := range out {
		slices.Sort(out[i].Verbs)
	}
	slices.SortFunc(out, func(a, b Rule) int {
		if c := strings.Compare(a.Group, b.Group); c != 0 {
			return c
		}
		return strings.Compare(a.Resource, b.Resource)
	})
	return out
}

// Table is the profiles measured on version (one of Versions) as a
// Markdown table: what docs/profiles.md publishes for it.
func Table(version string) string {
	var b strings.Builder
	b.WriteString("| profile | argo commands | grants (Role rules) |\n|---|---|---|\n")
	for _, p := range tables[version] {
		var cmds, grants []string
		for _, c := range p.Commands {
			cmds = append(cmds, "`"+c+"`")
		}
		for _, r := range p.Grants() {
			grants = append(grants, "`"+r.String()+"`")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", p.Name, strings.Join(cmds, ", "), strings.Join(grants, ", "))
	}
	return b.String()
}
