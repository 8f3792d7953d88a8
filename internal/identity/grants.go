package identity

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/profile"
)

// Resources are the argoproj.io resources a grant may name.
var Resources = probe.ArgoResources

// CoreResources are the core resources a grant may name, each with the
// only verbs it may have there: exactly what the job profiles use
// (internal/profile), nothing wider.
var CoreResources = probe.CoreResources

// allResources are the resources a grant may name: argoproj.io's, then
// the core ones, in the order of a Role's rules.
func allResources() []string {
	out := slices.Clone(Resources)
	for _, r := range slices.Sorted(maps.Keys(CoreResources)) {
		out = append(out, r)
	}
	return out
}

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
	if !slices.Contains(allResources(), res) {
		return bad(fmt.Sprintf("unknown resource %q (one of %s)", res, strings.Join(allResources(), ", ")))
	}
	allowed, core := CoreResources[res]
	if !core {
		allowed = Verbs
	}
	g := Grant{Resource: res}
	for _, v := range strings.Split(verbs, ",") {
		v = strings.TrimSpace(v)
		if !slices.Contains(allowed, v) && core {
			return bad(fmt.Sprintf("verb %q cannot be granted on core %s (only %s: what the job profiles use)", v, res, strings.Join(allowed, ", ")))
		}
		if !slices.Contains(allowed, v) {
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

// ForUsage is provision --for's help.
func ForUsage() string {
	return "PROFILE[,PROFILE…]: grant exactly what these job profiles need (" + profile.List() + "; docs/profiles.md), with any --allow"
}

// GrantsFor reads --for's profiles and every --allow: the union of the
// profiles' grants and the --allow grants; def when neither is given.
func GrantsFor(allow, profiles []string, def string) ([]Grant, error) {
	if len(profiles) == 0 {
		return ParseGrants(allow, def)
	}
	ps, err := profile.Parse(profiles)
	if err != nil {
		return nil, exitcode.New(exitcode.Usage, "write --for PROFILE[,PROFILE…], e.g. --for submit,wait (docs/profiles.md)", "invalid --for: %v", err)
	}
	var grants []Grant
	for _, r := range profile.Union(ps) {
		grants = append(grants, Grant{Resource: r.Resource, Verbs: r.Verbs})
	}
	if len(allow) > 0 {
		more, err := ParseGrants(allow, def)
		if err != nil {
			return nil, err
		}
		grants = append(grants, more...)
	}
	return merge(grants), nil
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
	for _, r := range allResources() {
		if vs, ok := byRes[r]; ok {
			slices.Sort(vs)
			out = append(out, Grant{Resource: r, Verbs: vs})
		}
	}
	return out
}

// ExpectFor derives the probe's expectations from a client's grants: what
// is granted must be allowed (the probe checks what it can, through the
// Argo API or the cluster, and says what it did not); listing workflows
// and workflow templates must be refused unless granted.
func ExpectFor(grants []Grant) []string {
	listed := map[string]bool{}
	var out []string
	for _, g := range grants {
		// The Argo API's checks first, in the probe's order.
		verbs := slices.DeleteFunc(slices.Clone(probe.Verbs[g.Resource]), func(v string) bool { return !slices.Contains(g.Verbs, v) })
		for _, v := range g.Verbs {
			if !slices.Contains(verbs, v) {
				verbs = append(verbs, v)
			}
		}
		for _, v := range verbs {
			out = append(out, "allow:"+g.Resource+"/"+v)
			listed[g.Resource] = listed[g.Resource] || v == "list"
		}
	}
	for _, r := range []string{"workflows", "workflowtemplates"} {
		if !listed[r] {
			out = append(out, "deny:"+r+"/list")
		}
	}
	return out
}

// grantsOf reads the client's Role back as grants (grantsIn). None when it
// has no Role.
func grantsOf(ctx context.Context, k *kube.Client, ns, client string) ([]Grant, error) {
	role, _, err := readRole(ctx, k, Client{Name: client, Namespace: ns})
	return grantsIn(role.Rules), err
}

// grantsIn are a Role's rules as grants: only the resources and verbs a
// grant may name (anything else in the Role is not argo-cred's).
func grantsIn(rules []rule) []Grant {
	var out []Grant
	for _, r := range rules {
		verbs := slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return !slices.Contains(Verbs, v) })
		for _, res := range r.Resources {
			if slices.Contains(Resources, res) && len(verbs) > 0 {
				out = append(out, Grant{Resource: res, Verbs: verbs})
			}
			core := slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return !slices.Contains(CoreResources[res], v) })
			if slices.Contains(r.APIGroups, "") && len(core) > 0 {
				out = append(out, Grant{Resource: res, Verbs: core})
			}
		}
	}
	return merge(out)
}
