package credential

import (
	"fmt"
	"strings"

	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/probe"
)

// forProfiles are the expectations --for's profiles imply (the defaults
// without --for): allow what they need and the probe can check, deny
// listing workflows and templates unless they need it. A note names the
// verbs the probe cannot check: they are not checked, never ok.
func forProfiles(r *Request) ([]probe.Expectation, error) {
	if len(r.For) == 0 {
		return probe.DefaultExpectations, nil
	}
	grants, err := identity.GrantsFor(nil, r.For, "")
	if err != nil {
		return nil, err
	}
	var out []probe.Expectation
	for _, e := range identity.ExpectFor(grants) {
		x, err := probe.ParseExpectation(e)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	if un := Unchecked(grants, out); len(un) > 0 {
		r.note(fmt.Sprintf("note: --for %s: not checked by the probe: %s", strings.Join(r.For, ","), strings.Join(un, ", ")))
	}
	return out, nil
}

// Unchecked are the RESOURCE/VERB of grants that no allow expectation
// checks.
func Unchecked(grants []identity.Grant, expect []probe.Expectation) []string {
	checked := map[string]bool{}
	for _, e := range expect {
		if e.Allow {
			checked[e.Name()] = true
		}
	}
	var out []string
	for _, g := range grants {
		for _, v := range g.Verbs {
			if !checked[g.Resource+"/"+v] {
				out = append(out, g.Resource+"/"+v)
			}
		}
	}
	return out
}
