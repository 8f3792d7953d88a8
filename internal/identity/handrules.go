package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/argo-cred/argo-cred/internal/kube"
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

// keepHandRules puts into the client's Role to apply (role) the rules the
// existing Role has that provision did not add, and returns them: those
// not among the rules its annotation records (a Role from before the
// annotation: those not on argoproj.io). A Role that is not argo-cred's
// (--adopt) keeps nothing: its rules are replaced, as --adopt says.
func keepHandRules(ctx context.Context, k *kube.Client, c Client, role Object) ([]rule, error) {
	var cur struct {
		Metadata kube.Meta
		Rules    []rule `json:"rules"`
	}
	found, err := k.Get(ctx, kube.RoleKind, c.Namespace, c.Name, &cur)
	if err != nil || !found || !owned(cur.Metadata, c.Name) {
		return nil, classify(err)
	}
	var ours []rule
	recorded, annotated := cur.Metadata.Annotations[rulesKey]
	if annotated {
		_ = json.Unmarshal([]byte(recorded), &ours)
	}
	isOurs := func(r rule) bool {
		if !annotated {
			return slices.Equal(r.APIGroups, []string{"argoproj.io"})
		}
		b, _ := json.Marshal(r)
		return slices.ContainsFunc(ours, func(o rule) bool { ob, _ := json.Marshal(o); return string(ob) == string(b) })
	}
	var hand []rule
	for _, r := range cur.Rules {
		if !isOurs(r) {
			hand = append(hand, r)
		}
	}
	if len(hand) > 0 {
		rules := role.Body["rules"].([]map[string]any)
		for _, r := range hand {
			var m map[string]any
			b, _ := json.Marshal(r)
			_ = json.Unmarshal(b, &m)
			rules = append(rules, m)
		}
		role.Body["rules"] = rules
	}
	return hand, nil
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
