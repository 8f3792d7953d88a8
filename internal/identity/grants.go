package identity

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/probe"
)

// Resources are the argoproj.io resources a grant may name.
var Resources = []string{"workflows", "workflowtemplates", "cronworkflows", "clusterworkflowtemplates", "workfloweventbindings",
	"workflowtaskresults", "workflowartifactgctasks", "workflowtasksets", "eventsources", "sensors"}

// Verbs are the verbs a grant may list.
var Verbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// Grant is verbs on one resource: "workflows:list,update".
type Grant struct {
	Resource string
	Verbs    []string
}

func (g Grant) String() string { return g.Resource + ":" + strings.Join(g.Verbs, ",") }

// ParseGrant reads RESOURCE:VERB[,VERB…].
func ParseGrant(s string) (Grant, error) {
	bad := func(why string) (Grant, error) {
		return Grant{}, exitcode.New(exitcode.Usage, "write --allow RESOURCE:VERB[,VERB…], e.g. workflows:list,update",
			"invalid --allow %q: %s", s, why)
	}
	res, verbs, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || verbs == "" {
		return bad("missing :VERBS")
	}
	if !slices.Contains(Resources, res) {
		return bad(fmt.Sprintf("unknown resource %q (one of %s)", res, strings.Join(Resources, ", ")))
	}
	g := Grant{Resource: res}
	for _, v := range strings.Split(verbs, ",") {
		v = strings.TrimSpace(v)
		if !slices.Contains(Verbs, v) {
			return bad(fmt.Sprintf("unknown verb %q (one of %s)", v, strings.Join(Verbs, ", ")))
		}
		if !slices.Contains(g.Verbs, v) {
			g.Verbs = append(g.Verbs, v)
		}
	}
	slices.Sort(g.Verbs)
	return g, nil
}

// ParseGrants reads every --allow, def when none is given.
func ParseGrants(allow []string, def string) ([]Grant, error) {
	if len(allow) == 0 {
		allow = []string{def}
	}
	var grants []Grant
	for _, s := range allow {
		g, err := ParseGrant(s)
		if err != nil {
			return nil, err
		}
		grants = append(grants, g)
	}
	return grants, nil
}

// merge folds grants on the same resource together, sorted by resource.
func merge(grants []Grant) []Grant {
	byRes := map[string][]string{}
	for _, g := range grants {
		for _, v := range g.Verbs {
			if !slices.Contains(byRes[g.Resource], v) {
				byRes[g.Resource] = append(byRes[g.Resource], v)
			}
		}
	}
	var out []Grant
	for _, r := range Resources {
		if vs, ok := byRes[r]; ok {
			slices.Sort(vs)
			out = append(out, Grant{Resource: r, Verbs: vs})
		}
	}
	return out
}

// ExpectFor derives the probe's expectations from a client's grants: what
// is granted and can be probed must be allowed; listing workflows and
// workflow templates must be refused unless granted.
func ExpectFor(grants []Grant) []string {
	listed := map[string]bool{}
	var out []string
	for _, g := range grants {
		if slices.Contains(g.Verbs, "list") && slices.Contains(probe.Resources, g.Resource) {
			out = append(out, "allow:"+g.Resource+"/list")
			listed[g.Resource] = true
		}
		if g.Resource == "workflows" && slices.Contains(g.Verbs, "create") {
			out = append(out, "allow:workflows/create")
		}
	}
	for _, r := range []string{"workflows", "workflowtemplates"} {
		if !listed[r] {
			out = append(out, "deny:"+r+"/list")
		}
	}
	return out
}

// grantsOf reads the client's Role back as grants: only the resources and
// verbs a grant may name (anything else in the Role is not argo-cred's).
// None when it has no Role.
func grantsOf(ctx context.Context, k *kube.Client, ns, client string) ([]Grant, error) {
	var role struct {
		Rules []struct {
			Resources []string `json:"resources"`
			Verbs     []string `json:"verbs"`
		} `json:"rules"`
	}
	found, err := k.Get(ctx, kube.RoleKind, ns, client, &role)
	if err != nil || !found {
		return nil, classify(err)
	}
	var out []Grant
	for _, r := range role.Rules {
		verbs := slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return !slices.Contains(Verbs, v) })
		for _, res := range r.Resources {
			if slices.Contains(Resources, res) && len(verbs) > 0 {
				out = append(out, Grant{Resource: res, Verbs: verbs})
			}
		}
	}
	return merge(out), nil
}
