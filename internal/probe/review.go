package probe

import (
	"context"
	"slices"
	"time"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/profile"
	"github.com/argo-cred/argo-cred/internal/redact"
)

// ArgoResources are the argoproj.io resources a Role may name for a CI
// job; an expectation may name any of them, and the core resources.
var ArgoResources = []string{"workflows", "workflowtemplates", "cronworkflows", "clusterworkflowtemplates", "workfloweventbindings",
	"workflowtaskresults", "workflowartifactgctasks", "workflowtasksets", "eventsources", "sensors"}

// CoreResources are the core resources the job profiles use, each with
// the verbs they use there (internal/profile): all a Role of argo-cred may
// grant on them.
var CoreResources = func() map[string][]string {
	out := map[string][]string{}
	for _, r := range profile.Union(profile.Profiles) {
		if r.Group == "" {
			out[r.Resource] = r.Verbs
		}
	}
	return out
}()

// rbacVerbs are the verbs of a Role's rules.
var rbacVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// Group is the API group of a resource an expectation may name.
func Group(resource string) string {
	if _, ok := CoreResources[resource]; ok {
		return ""
	}
	return "argoproj.io"
}

// Reviewer asks the cluster whether the token may do verb on resource
// (which may name a subresource, "pods/log") of group in namespace ns ("" at
// the cluster's scope, for a cluster-scoped resource): a
// SelfSubjectAccessReview sent with the token itself. The probe uses it
// for the verbs the Argo API cannot probe without side effects.
type Reviewer func(ctx context.Context, ns, group, resource, verb string) (allowed bool, err error)

// NotCheckedHint says how to have verbs checked that were not.
const NotCheckedHint = "name the cluster's kubeconfig (--kubeconfig) so that the cluster is asked with the token (a SelfSubjectAccessReview), or accept them unchecked (without --strict)"

// reviewable tells whether an expectation can be asked of the cluster: an
// RBAC resource (archived-workflows are the Argo Server's own).
func reviewable(e Expectation) bool {
	return slices.Contains(ArgoResources, e.Resource) || CoreResources[e.Resource] != nil
}

// review is the probe's call for an expectation the Argo API cannot check:
// the cluster's answer to a SelfSubjectAccessReview when a Reviewer is
// given, else "not checked".
func review(ctx context.Context, cfg Config, red *redact.Redactor, e Expectation) result {
	c := Check{Name: e.Name(), Expected: verdict(e.Allow), Actual: NotChecked, Via: "none"}
	if cfg.Review == nil || !reviewable(e) {
		c.Message = "the Argo API cannot probe " + e.Verb + " on " + e.Resource + " without side effects"
		return result{c: c}
	}
	c.Via, c.Attempts = "selfsubjectaccessreview", 1
	start := time.Now()
	ns := cfg.Namespace
	if e.Resource == "clusterworkflowtemplates" {
		// Cluster-scoped: asked in a namespace, the cluster would count a
		// Role there that names it, which grants nothing on it.
		ns = ""
	}
	allowed, err := cfg.Review(ctx, ns, Group(e.Resource), e.Resource, e.Verb)
	c.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		c.Message = "the cluster did not answer: " + redact.Shorten(red.Text(err.Error()), 300)
		return result{c: c}
	}
	c.Actual = verdict(allowed)
	return result{c: c}
}

// notChecked judges an expectation that was not checked: a warning, or
// with --strict a failure (exit 6).
func notChecked(cfg Config, c Check) (Check, error) {
	if !cfg.Strict {
		return c, nil
	}
	return c, exitcode.New(exitcode.MissingAccess, NotCheckedHint,
		"%s: expected %s, not checked (--strict): %s", c.Name, c.Expected, c.Message)
}

// NotCheckedOf lists the checks of r that were not checked, by name.
func (r *Report) NotCheckedOf() []string {
	var out []string
	for _, c := range r.Expectations() {
		if c.Actual == NotChecked {
			out = append(out, c.Name)
		}
	}
	return out
}

// qualified names a resource with its group, as kubectl does:
// workflows.argoproj.io, pods, pods/log.
func qualified(resource string) string {
	if g := Group(resource); g != "" {
		return crd(resource) + "." + g
	}
	return resource
}
