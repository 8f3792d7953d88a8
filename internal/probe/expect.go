package probe

import (
	"fmt"
	"slices"
	"strings"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

// Resources are what an expectation can name: the lists the Argo API offers.
var Resources = []string{"workflows", "workflowtemplates", "cronworkflows", "clusterworkflowtemplates", "archived-workflows"}

// Expectation says whether a verb on a resource must be allowed or denied.
// Every resource can be probed with list; workflows also with create, by a
// server-side dry run that creates nothing.
type Expectation struct {
	Allow    bool
	Resource string
	Verb     string // list or create
}

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

// ParseExpectation reads "allow:workflows/list", "allow:workflows/create"
// or "deny:workflowtemplates" (the verb defaults to list).
func ParseExpectation(s string) (Expectation, error) {
	bad := func(why string) (Expectation, error) {
		return Expectation{}, exitcode.New(exitcode.Usage,
			"write allow:RESOURCE/VERB or deny:RESOURCE/VERB with RESOURCE one of "+strings.Join(Resources, ", ")+
				"; VERB is list, or create for workflows (a server-side dry run)",
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
	resource, verb, _ := strings.Cut(rest, "/")
	if !slices.Contains(Resources, resource) {
		return bad(fmt.Sprintf("unknown resource %q", resource))
	}
	e.Resource, e.Verb = resource, verb
	switch {
	case verb == "" || verb == "list":
		e.Verb = "list"
	case verb == "create" && resource == "workflows":
	case verb == "create":
		return bad(fmt.Sprintf("create cannot be probed on %s: the Argo Server (v3.7) ignores dry-run options there and would create it for real", resource))
	default:
		return bad(fmt.Sprintf("verb %q cannot be probed; only list, and create on workflows", verb))
	}
	return e, nil
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
