package complete

import (
	"maps"
	"slices"
	"strings"

	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/profile"
)

// Expect completes allow:RESOURCE/VERB and deny:RESOURCE/VERB (probe's
// grammar: list on every resource, create on workflows only), the last
// item of a comma-separated list.
func Expect(toComplete string) []string {
	done, last := "", toComplete
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		done, last = toComplete[:i+1], toComplete[i+1:]
	}
	var all []string
	for _, verdict := range []string{"allow", "deny"} {
		for _, r := range probe.Resources {
			all = append(all, done+verdict+":"+r+"/list")
			if r == "workflows" {
				all = append(all, done+verdict+":"+r+"/create")
			}
		}
	}
	return WithPrefix(all, done+last)
}

// Allow completes RESOURCE:VERB[,VERB…] from the resources and verbs a
// grant may name: first the resource (and its colon), then each verb not
// yet given; on a core resource, only the verbs the job profiles use there.
func Allow(toComplete string) []string {
	resources := append(slices.Clone(identity.Resources), slices.Sorted(maps.Keys(identity.CoreResources))...)
	resource, verbs, ok := strings.Cut(toComplete, ":")
	if !ok {
		var all []string
		for _, r := range resources {
			all = append(all, r+":")
		}
		return WithPrefix(all, toComplete)
	}
	if !slices.Contains(resources, resource) {
		return nil
	}
	allowed, core := identity.CoreResources[resource]
	if !core {
		allowed = identity.Verbs
	}
	given := strings.Split(verbs, ",")
	done := resource + ":" + strings.Join(given[:len(given)-1], ",")
	if len(given) > 1 {
		done += ","
	}
	var all []string
	for _, v := range allowed {
		if !slices.Contains(given[:len(given)-1], v) {
			all = append(all, done+v)
		}
	}
	return WithPrefix(all, toComplete)
}

// For completes PROFILE[,PROFILE…] (--for): the last item, from the job
// profiles not yet given, each with its argo commands.
func For(toComplete string) []string {
	done, last := "", toComplete
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		done, last = toComplete[:i+1], toComplete[i+1:]
	}
	given := strings.Split(done, ",")
	var all []string
	for _, p := range profile.Profiles {
		if !slices.Contains(given, p.Name) && strings.HasPrefix(p.Name, last) {
			all = append(all, done+p.Name+"\t"+strings.Join(p.Commands, ", "))
		}
	}
	return all
}
