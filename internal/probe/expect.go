package probe

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cwtpkg "github.com/argoproj/argo-workflows/v3/pkg/apiclient/clusterworkflowtemplate"
	cronpkg "github.com/argoproj/argo-workflows/v3/pkg/apiclient/cronworkflow"
	workflowpkg "github.com/argoproj/argo-workflows/v3/pkg/apiclient/workflow"
	archivepkg "github.com/argoproj/argo-workflows/v3/pkg/apiclient/workflowarchive"
	wftpkg "github.com/argoproj/argo-workflows/v3/pkg/apiclient/workflowtemplate"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

// Resources are what an expectation can name: the lists the Argo API offers.
var Resources = []string{"workflows", "workflowtemplates", "cronworkflows", "clusterworkflowtemplates", "archived-workflows"}

// Expectation says whether a verb on a resource must be allowed or denied.
// Every Argo resource can be probed through the Argo API with list;
// workflows also with create (a server-side dry run that creates nothing),
// get (a name that cannot exist) and watch (a selector that matches
// nothing); cron workflows with get. Any other verb on an RBAC resource is
// asked of the cluster (a SelfSubjectAccessReview, when the probe has a
// Reviewer), or reported not checked.
type Expectation struct {
	Allow    bool
	Resource string // may name a subresource: pods/log
	Verb     string
}

// Verbs are the verbs the probe can check through the Argo API on each
// resource, without side effects.
var Verbs = map[string][]string{
	"workflows":                {"list", "create", "get", "watch"},
	"workflowtemplates":        {"list"},
	"cronworkflows":            {"list", "get"},
	"clusterworkflowtemplates": {"list"},
	"archived-workflows":       {"list"},
}

// Checkable tells whether the probe can check verb on resource.
func Checkable(resource, verb string) bool { return slices.Contains(Verbs[resource], verb) }

// missingName is a name no object can have (names are lowercase): get of
// it is 404 when allowed, 403 when not.
const missingName = "argo-cred-probe-NOT-FOUND"

// nothingSelector matches no workflow: a watch with it opens and sends
// nothing of the namespace's workflows.
const nothingSelector = "argo-cred/probe=matches-nothing"

// DefaultExpectations is the least-privilege check of a CI credential: it
// may list workflows and must not list workflow templates.
var DefaultExpectations = []Expectation{{Allow: true, Resource: "workflows", Verb: "list"}, {Allow: false, Resource: "workflowtemplates", Verb: "list"}}

func (e Expectation) String() string {
	if e.Allow {
		return "allow:" + e.Name()
	}
	return "deny:" + e.Name()
}

// Name is the check's name, RESOURCE/VERB.
func (e Expectation) Name() string { return e.Resource + "/" + e.Verb }

// ParseExpectation reads "allow:workflows/list", "allow:pods/log/get" or
// "deny:workflowtemplates" (the verb defaults to list).
func ParseExpectation(s string) (Expectation, error) {
	bad := func(why string) (Expectation, error) {
		return Expectation{}, exitcode.New(exitcode.Usage,
			"write allow:RESOURCE/VERB or deny:RESOURCE/VERB with RESOURCE one of "+strings.Join(known(), ", ")+
				" and VERB one of "+strings.Join(rbacVerbs, ", ")+"; the Argo API probes list, get and watch (workflows), create (workflows, as a server-side dry run) and get (cronworkflows), the cluster the rest when --kubeconfig is named",
			"invalid expectation %q: %s", s, why)
	}
	verdict, rest, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return bad("missing allow: or deny:")
	}
	var e Expectation
	switch verdict {
	case "allow":
		e.Allow = true
	case "deny":
	default:
		return bad("must start with allow: or deny:")
	}
	resource, verb := rest, ""
	if !slices.Contains(known(), rest) {
		if i := strings.LastIndex(rest, "/"); i >= 0 {
			resource, verb = rest[:i], rest[i+1:]
		}
	}
	if !slices.Contains(known(), resource) {
		return bad(fmt.Sprintf("unknown resource %q", resource))
	}
	e.Resource, e.Verb = resource, verb
	switch {
	case verb == "":
		e.Verb = "list"
	case Checkable(resource, verb):
	case !slices.Contains(rbacVerbs, verb):
		return bad(fmt.Sprintf("unknown verb %q", verb))
	case !reviewable(e):
		return bad(fmt.Sprintf("verb %q cannot be checked on %s; only %s", verb, resource, strings.Join(Verbs[resource], ", ")))
	}
	return e, nil
}

// known are the resources an expectation may name: the Argo API's lists,
// the argoproj.io RBAC resources and the core ones of the job profiles.
func known() []string {
	out := slices.Clone(Resources)
	for _, r := range ArgoResources {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return append(out, slices.Sorted(maps.Keys(CoreResources))...)
}

// Merge adds the user's expectations to the defaults: one for the same
// resource and verb replaces the default (replaced lists those), so least
// privilege stays checked unless the user overrides it by name.
func Merge(defaults, user []Expectation) (out, replaced []Expectation) {
	out = slices.Clone(defaults)
	for _, u := range user {
		i := slices.IndexFunc(out, func(d Expectation) bool { return d.Name() == u.Name() })
		switch {
		case i < 0:
			out = append(out, u)
		case i < len(defaults) && out[i] != u:
			replaced = append(replaced, out[i])
			out[i] = u
		default:
			out[i] = u
		}
	}
	return out, replaced
}

// do returns the call that probes e: a list of at most one item; for
// create a server-side dry run of a minimal workflow, which the Argo Server
// validates and Kubernetes authorizes and admits without storing it; for
// get a name that cannot exist; for watch a stream that matches nothing,
// closed at its first answer.
func do(cl *clients, e Expectation, ns string) func(context.Context) error {
	lo := &metav1.ListOptions{Limit: 1}
	return func(ctx context.Context) error {
		var err error
		switch e.Resource + "/" + e.Verb {
		case "workflows/list":
			_, err = cl.workflow.ListWorkflows(ctx, &workflowpkg.WorkflowListRequest{Namespace: ns, ListOptions: lo, Fields: "metadata.resourceVersion"})
		case "workflows/create":
			_, err = cl.workflow.CreateWorkflow(ctx, &workflowpkg.WorkflowCreateRequest{Namespace: ns, Workflow: dryRunWorkflow(ns), ServerDryRun: true})
		case "workflows/get":
			_, err = cl.workflow.GetWorkflow(ctx, &workflowpkg.WorkflowGetRequest{Namespace: ns, Name: missingName, Fields: "metadata.name"})
		case "workflows/watch":
			err = cl.watch(ctx, ns)
		case "cronworkflows/get":
			_, err = cl.cron.GetCronWorkflow(ctx, &cronpkg.GetCronWorkflowRequest{Namespace: ns, Name: missingName})
		case "workflowtemplates/list":
			_, err = cl.wft.ListWorkflowTemplates(ctx, &wftpkg.WorkflowTemplateListRequest{Namespace: ns, ListOptions: lo})
		case "cronworkflows/list":
			_, err = cl.cron.ListCronWorkflows(ctx, &cronpkg.ListCronWorkflowsRequest{Namespace: ns, ListOptions: lo})
		case "clusterworkflowtemplates/list":
			_, err = cl.cwt.ListClusterWorkflowTemplates(ctx, &cwtpkg.ClusterWorkflowTemplateListRequest{ListOptions: lo})
		case "archived-workflows/list":
			_, err = cl.archive.ListArchivedWorkflows(ctx, &archivepkg.ListArchivedWorkflowsRequest{Namespace: ns, ListOptions: lo})
		default:
			err = fmt.Errorf("cannot probe %s", e.Name())
		}
		return err
	}
}

// dryRunWorkflow is the smallest workflow the Argo Server validates.
func dryRunWorkflow(ns string) *wfv1.Workflow {
	return &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "argo-cred-dry-run-", Namespace: ns},
		Spec: wfv1.WorkflowSpec{
			Entrypoint: "main",
			Templates:  []wfv1.Template{{Name: "main", Container: &corev1.Container{Image: "argo-cred/dry-run", Command: []string{"true"}}}},
		},
	}
}
