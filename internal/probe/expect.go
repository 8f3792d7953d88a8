package probe

import (
	"fmt"
	"strings"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

// Resources are what an expectation can name: the lists the Argo API offers.
var Resources = []string{"workflows", "workflowtemplates", "cronworkflows", "clusterworkflowtemplates", "archived-workflows"}

// Expectation says whether listing a resource must be allowed or denied.
type Expectation struct {
	Allow    bool
	Resource string
}

// DefaultExpectations is the least-privilege check of a CI credential: it
// may list workflows and must not list workflow templates.
var DefaultExpectations = []Expectation{{Allow: true, Resource: "workflows"}, {Allow: false, Resource: "workflowtemplates"}}

func (e Expectation) String() string {
	if e.Allow {
		return "allow:" + e.Resource + "/list"
	}
	return "deny:" + e.Resource + "/list"
}

// ParseExpectation reads "allow:workflows/list" or "deny:workflowtemplates"
// (the verb defaults to list, the only one probed).
func ParseExpectation(s string) (Expectation, error) {
	bad := func(why string) (Expectation, error) {
		return Expectation{}, exitcode.New(exitcode.Usage,
			"write allow:RESOURCE/list or deny:RESOURCE/list with RESOURCE one of "+strings.Join(Resources, ", "),
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
	if verb != "" && verb != "list" {
		return bad(fmt.Sprintf("verb %q cannot be probed; only list can", verb))
	}
	for _, r := range Resources {
		if r == resource {
			e.Resource = r
			return e, nil
		}
	}
	return bad(fmt.Sprintf("unknown resource %q", resource))
}
