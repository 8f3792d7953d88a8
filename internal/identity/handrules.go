package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/redact"
)

// rulesKey annotates a client's Role with the rules provision put there
// (JSON): any other rule of that Role was added by someone else, and
// provision keeps it, with a warning, rather than remove it silently.
const rulesKey = "argo-cred/rules"

// rule is one rule of a Role, as the API has it.
type rule struct {
	APIGroups     []string `json:"apiGroups,omitempty"`
	Resources     []string `json:"resources,omitempty"`
	ResourceNames []string `json:"resourceNames,omitempty"`
	Verbs         []string `json:"verbs"`
	URLs          []string `json:"nonResourceURLs,omitempty"`
}

func (r rule) String() string {
	s := strings.Join(r.APIGroups, ",")
	if s == "" {
		s = "core"
	}
	s += " " + strings.Join(r.Resources, ",")
	if len(r.ResourceNames) > 0 {
		s += " (" + strings.Join(r.ResourceNames, ",") + ")"
	}
	return s + " " + strings.Join(r.Verbs, ",")
}

// roleRules records in the client's Role to apply (role) the rules
// provision puts there and keeps the existing Role's rules it did not add
// (handRules), saying so (warn): re-provisioning never removes a rule
// silently. It says what the apply will change in the rules (say) and
// returns the rules kept. A Role that is not argo-cred's (--adopt) keeps
// nothing: its rules are replaced, as --adopt says.
func roleRules(ctx context.Context, k *kube.Client, c Client, role Object, warn, say func(string)) ([]rule, error) {
	if err := recordRules(role); err != nil {
		return nil, err
	}
	cur, found, err := readRole(ctx, k, c)
	if err != nil || !found || !owned(cur.Metadata, c.Name) {
		return nil, err
	}
	hand := cur.handRules()
	rules := role.Body["rules"].([]map[string]any)
	for _, r := range hand {
		progress(warn, fmt.Sprintf("warning: role/%s has a rule provision did not add, kept: %s (delete it by hand if it must go)", c.Name, r))
		var m map[string]any
		b, _ := json.Marshal(r)
		_ = json.Unmarshal(b, &m)
		rules = append(rules, m)
	}
	role.Body["rules"] = rules
	var after []rule
	b, _ := json.Marshal(rules)
	_ = json.Unmarshal(b, &after)
	sayChanges(c, cur.Rules, after, say)
	return hand, nil
}

// sayChanges says what applying after in place of before changes
// (ruleChanges), a clean line each: whoever may edit the Role wrote them.
func sayChanges(c Client, before, after []rule, say func(string)) {
	for _, line := range ruleChanges(before, after) {
		progress(say, redact.Clean("role/"+c.Name+": "+line))
	}
}

// roleRead is a Role as read: its metadata and rules.
type roleRead struct {
	Metadata kube.Meta
	Rules    []rule `json:"rules"`
}

// handRules are the Role's rules provision did not add (handRules, with
// its argo-cred/rules annotation).
func (r roleRead) handRules() []rule {
	recorded, annotated := r.Metadata.Annotations[rulesKey]
	return handRules(r.Rules, recorded, annotated)
}

// readRole reads the client's Role, argo-cred's or not; found is false for
// none.
func readRole(ctx context.Context, k *kube.Client, c Client) (roleRead, bool, error) {
	var cur roleRead
	found, err := k.Get(ctx, kube.RoleKind, c.Namespace, c.Name, &cur)
	return cur, found, classify(err)
}

// ruleChanges says which verbs applying after in place of before grants
// and which it takes away, a line each per group and resource.
func ruleChanges(before, after []rule) []string {
	key := func(r rule) string {
		return rule{APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames, URLs: r.URLs}.String()
	}
	verbs := func(rules []rule) map[string][]string {
		m := map[string][]string{}
		for _, r := range rules {
			m[key(r)] = append(m[key(r)], r.Verbs...)
		}
		return m
	}
	b, a := verbs(before), verbs(after)
	var out []string
	diff := func(what string, from, to map[string][]string) {
		for _, k := range slices.Sorted(maps.Keys(to)) {
			if d := slices.DeleteFunc(slices.Clone(to[k]), func(v string) bool { return slices.Contains(from[k], v) }); len(d) > 0 {
				slices.Sort(d)
				out = append(out, what+" "+strings.TrimSpace(k)+" "+strings.Join(slices.Compact(d), ","))
			}
		}
	}
	diff("grants", b, a)
	diff("takes away", a, b)
	return out
}

// handRules are the rules of rules provision did not add: any it could not
// have made (grantable), and those not among the ones its annotation
// records (which whoever edits the Role can write too: a recorded rule
// counts only if grantable); of a rule that names what a recorded one
// names, only the verbs that one lacks (a rule provision made and someone
// narrowed is provision's; one they widened keeps only what they added).
// For a Role from before the annotation, the grantable rules on
// argoproj.io count as provision's.
func handRules(rules []rule, recorded string, annotated bool) []rule {
	var ours []rule
	if annotated {
		_ = json.Unmarshal([]byte(recorded), &ours)
		ours = slices.DeleteFunc(ours, func(o rule) bool { return !grantable(o) })
	}
	var hand []rule
	for _, r := range rules {
		if !grantable(r) || !annotated && !slices.Equal(r.APIGroups, []string{"argoproj.io"}) {
			hand = append(hand, r)
			continue
		}
		if !annotated {
			continue
		}
		i := slices.IndexFunc(ours, func(o rule) bool {
			return slices.Equal(o.APIGroups, r.APIGroups) && slices.Equal(o.Resources, r.Resources) &&
				slices.Equal(o.ResourceNames, r.ResourceNames) && slices.Equal(o.URLs, r.URLs)
		})
		if i >= 0 {
			r.Verbs = slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return slices.Contains(ours[i].Verbs, v) })
		}
		if len(r.Verbs) > 0 {
			hand = append(hand, r)
		}
	}
	return hand
}

// recordRules annotates the client's Role to apply with its rules (rulesKey).
func recordRules(role Object) error {
	b, err := json.Marshal(role.Body["rules"])
	if err != nil {
		return fmt.Errorf("recording the role's rules: %w", err)
	}
	md := role.Body["metadata"].(map[string]any)
	md["annotations"] = map[string]string{rulesKey: string(b)}
	return nil
}

// grantable tells whether provision could have made r: one resource a
// grant may name, in its own API group, verbs a grant may give it, nothing
// else (no resourceNames, non-resource URLs or wildcards).
func grantable(r rule) bool {
	if len(r.Resources) != 1 || len(r.ResourceNames) > 0 || len(r.URLs) > 0 || len(r.Verbs) == 0 {
		return false
	}
	res := r.Resources[0]
	allowed, group := Verbs, probe.Group(res)
	if core, ok := CoreResources[res]; ok {
		allowed = core
	} else if !slices.Contains(Resources, res) {
		return false
	}
	return slices.Equal(r.APIGroups, []string{group}) && !slices.ContainsFunc(r.Verbs, func(v string) bool { return !slices.Contains(allowed, v) })
}
