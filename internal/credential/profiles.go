package credential

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/profile"
	"github.com/argo-cred/argo-cred/internal/token"
)

// forProfiles are the expectations --for's profiles imply (the defaults
// without --for): allow every verb they need, deny listing workflows and
// templates unless they need it.
func forProfiles(r *Request) ([]probe.Expectation, error) {
	if len(r.For) == 0 {
		return probe.DefaultExpectations, nil
	}
	grants, err := identity.GrantsFor(nil, r.For, "")
	if err != nil {
		return nil, err
	}
	return expectations(grants)
}

// expectations are what grants imply to the probe (identity.ExpectFor).
func expectations(grants []identity.Grant) ([]probe.Expectation, error) {
	var out []probe.Expectation
	for _, e := range identity.ExpectFor(grants) {
		x, err := probe.ParseExpectation(e)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// forNames are --for's profiles by name, as parsed: a value's white space
// (ARGO_CRED_FOR is split untrimmed) is not part of a name.
func forNames(r *Request) []string {
	ps, _ := profile.Parse(r.For)
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	return names
}

// reviewer is how the probe asks the cluster, with the job's token, about
// the verbs the Argo API cannot probe: the API server the token was read
// from (which has it already), the kubeconfig the user named for this run
// (--kubeconfig, the action's kubeconfig input), or in a pod the pod's
// API server when that cluster issued the token (podIssued), over
// verified TLS only (kube.TokenOnly). An ambient kubeconfig gets no CI
// token: nil. Its client is made at the first question: a probe that asks
// none makes none.
func (c *Credential) reviewer() probe.Reviewer { return c.reviewerIn(podDir) }

// reviewerIn is reviewer with the pod's service account directory dir.
func (c *Credential) reviewerIn(dir string) probe.Reviewer {
	r := &c.req
	var base func() (*kube.Client, error)
	host, port := r.getenv("KUBERNETES_SERVICE_HOST"), r.getenv("KUBERNETES_SERVICE_PORT")
	switch {
	case c.g != nil && c.g.kc != nil:
		base = func() (*kube.Client, error) { return c.g.kc, nil }
	case r.Kubeconfig != "" && KubeconfigProblem(r.Kubeconfig, r.Lookup) == nil:
		base = func() (*kube.Client, error) {
			return kube.KubeconfigCluster(r.Kubeconfig, r.Context, r.UserAgent, 5*time.Second)
		}
	case r.Kubeconfig == "" && host != "" && port != "" && podIssued(c.Token, dir):
		base = func() (*kube.Client, error) { return kube.PodCluster(dir, host, port, r.UserAgent, 5*time.Second) }
	default:
		return nil
	}
	client := sync.OnceValues(func() (*kube.Client, error) {
		k, err := base()
		if err != nil {
			return nil, err
		}
		return k.TokenOnly(c.Token.Raw())
	})
	return func(ctx context.Context, ns, group, resource, verb string) (bool, error) {
		kc, err := client()
		if err != nil {
			return false, err
		}
		return kc.CanI(ctx, ns, group, resource, verb)
	}
}

// notCheckedWarning is the one line that says which verbs were not
// checked, and why.
func notCheckedWarning(rep probe.Report) string {
	names := rep.NotCheckedOf()
	if len(names) == 0 {
		return ""
	}
	why := "no kubeconfig was named for this run to ask the cluster with (--kubeconfig; in a pod, its cluster when it issued the token)"
	for _, c := range rep.Expectations() {
		if c.Actual == probe.NotChecked && c.Via == "selfsubjectaccessreview" {
			why = c.Message
			break
		}
	}
	return fmt.Sprintf("warning: not checked: %s: the Argo API cannot probe them without side effects and %s; --strict makes this a failure", strings.Join(names, ", "), why)
}

// clientHint: for a client argo-cred manages, the hint of a missing or
// excess grant is the command that makes its grants what this run
// expects: provision with the run's profiles and the rest as --allow.
func clientHint(r *Request, client, ns string, expect []probe.Expectation, err error) error {
	code := exitcode.Of(err)
	if client == "" || (code != exitcode.MissingAccess && code != exitcode.ExcessAccess) || strings.Contains(err.Error(), "not checked (--strict)") ||
		!strings.Contains(err.Error(), ": expected ") {
		return err
	}
	cmd := "argo-cred provision --client " + client + " --namespace " + ns
	var covered []identity.Grant
	if names := forNames(r); len(names) > 0 {
		cmd += " --for " + strings.Join(names, ",")
		covered, _ = identity.GrantsFor(nil, names, "")
	}
	extra := map[string][]string{}
	var order []string
	for _, e := range expect {
		i := slices.IndexFunc(covered, func(g identity.Grant) bool { return g.Resource == e.Resource })
		if !e.Allow || e.Resource == "archived-workflows" || i >= 0 && slices.Contains(covered[i].Verbs, e.Verb) {
			continue
		}
		if extra[e.Resource] == nil {
			order = append(order, e.Resource)
		}
		extra[e.Resource] = append(extra[e.Resource], e.Verb)
	}
	for _, res := range order {
		cmd += " --allow " + res + ":" + strings.Join(extra[res], ",")
	}
	if code == exitcode.ExcessAccess {
		cmd += " (it keeps rules added to role/" + client + " by hand: argo-cred clients lists them)"
	}
	return &exitcode.Error{Code: code, Err: err, Hint: "give client " + client + " exactly what this job checks: " + cmd}
}

// forVersion: with --for, the expectations of the profiles as measured on
// the Argo Server's own minor version, when they need more than the table
// of profile.MeasuredVersion the first probe checked; nil when nothing
// more is needed. It says so, and when the server's minor was never
// measured.
func forVersion(r *Request, rep probe.Report, expect []probe.Expectation) []probe.Expectation {
	if len(r.For) == 0 || rep.ServerVersion == "" {
		return nil
	}
	ps, measured, ok := profile.ForVersion(rep.ServerVersion)
	if !ok {
		r.print(fmt.Sprintf("note: the Argo Server is %s; the profiles were measured on %s (docs/profiles.md): a verb it needs beyond them shows only when argo runs",
			rep.ServerVersion, strings.Join(profile.Versions, ", ")))
		return nil
	}
	names := forNames(r)
	var rules []identity.Grant
	for _, p := range ps {
		if slices.Contains(names, p.Name) {
			for _, g := range p.Grants() {
				rules = append(rules, identity.Grant{Resource: g.Resource, Verbs: g.Verbs})
			}
		}
	}
	wanted, err := expectations(rules)
	newest, err2 := forProfiles(r)
	if err != nil || err2 != nil {
		return nil
	}
	out := slices.Clone(expect)
	var more, denied []string
	for _, x := range wanted {
		// Only what this version needs beyond the newest table, and never
		// in place of what the user expects (--expect) of that check.
		if !x.Allow || slices.ContainsFunc(newest, func(o probe.Expectation) bool { return o.Name() == x.Name() && o.Allow }) ||
			slices.ContainsFunc(out, func(o probe.Expectation) bool { return o.Name() == x.Name() && o.Allow }) {
			continue
		}
		if slices.ContainsFunc(out, func(o probe.Expectation) bool { return o.Name() == x.Name() && userExpects(r, o) }) {
			denied = append(denied, x.Name())
			continue
		}
		// A default deny of the same check gives way: this version needs it.
		out = slices.DeleteFunc(out, func(o probe.Expectation) bool { return o.Name() == x.Name() })
		out, more = append(out, x), append(more, x.Name())
	}
	if len(denied) > 0 {
		r.print(fmt.Sprintf("note: the Argo Server is %s: as measured on %s, --for %s also needs %s, which --expect denies (docs/profiles.md)",
			rep.ServerVersion, measured, strings.Join(names, ","), strings.Join(denied, ", ")))
	}
	if len(more) == 0 {
		return nil
	}
	r.print(fmt.Sprintf("note: the Argo Server is %s: as measured on %s, --for %s also needs %s (docs/profiles.md)",
		rep.ServerVersion, measured, strings.Join(names, ","), strings.Join(more, ", ")))
	return out
}

// userExpects tells whether --expect names e itself.
func userExpects(r *Request, e probe.Expectation) bool {
	return slices.ContainsFunc(r.Expect, func(s string) bool {
		x, err := probe.ParseExpectation(s)
		return err == nil && x == e
	})
}

// podDir is where a pod's service account token and CA are mounted.
const podDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// podIssued tells whether the cluster of the pod this runs in issued t:
// it and the pod's own token are JWTs of the same issuer signed by the
// same key (kid; read, not verified: this only decides where the job's
// token may go). Clusters often share an issuer URL (kubeadm's default),
// never a signing key: a token of another cluster, another issuer or no
// JWT is not sent to the pod's API server.
func podIssued(t token.Token, dir string) bool {
	raw, err := files.Read(filepath.Join(dir, "token"), 64<<10)
	if err != nil {
		return false
	}
	pod, err := token.New(string(raw), "file", "the pod's service account")
	if err != nil {
		return false
	}
	pc, ok1 := pod.Claims()
	tc, ok2 := t.Claims()
	return ok1 && ok2 && pc.Issuer != "" && pc.Issuer == tc.Issuer && pod.KeyID() != "" && pod.KeyID() == t.KeyID()
}
