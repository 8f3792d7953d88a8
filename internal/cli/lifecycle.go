package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/export"
	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/redact"
	"github.com/argo-cred/argo-cred/internal/token"
)

// lifecycle is what provision, rotate, revoke and clients share: the
// kubeconfig's client and the namespace.
func (a *app) lifecycle(o *options, needClient bool) (*kube.Client, identity.Client, error) {
	c := identity.Client{Name: o.Client}
	if needClient {
		if o.Client == "" {
			return nil, c, exitcode.New(exitcode.Usage, "give --client NAME", "no client given")
		}
		if err := identity.ValidName(o.Client); err != nil {
			return nil, c, err
		}
	}
	if o.Namespace != "" && len(validNamespace(o.Namespace)) > 0 {
		return nil, c, exitcode.New(exitcode.Usage, "use a Kubernetes name", "invalid --namespace %q", o.Namespace)
	}
	kc, err := a.kube(o)
	if err != nil {
		return nil, c, err
	}
	if c.Namespace = o.Namespace; c.Namespace == "" {
		c.Namespace = kc.Namespace
	}
	if c.Namespace == "" {
		return nil, c, exitcode.New(exitcode.Usage, "set --namespace", "no namespace: the kubeconfig names none")
	}
	return kc, c, nil
}

// expectFor derives the probe's expectations from a client's grants: what
// is granted and can be probed must be allowed; listing workflows and
// workflow templates must be refused unless granted.
func expectFor(grants []identity.Grant) []string {
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

func (a *app) provision(ctx context.Context, o *options) error {
	if o.PrintRBAC {
		ns := o.Namespace
		if ns == "" {
			ns = "NAMESPACE"
		}
		_, err := io.WriteString(a.streams.Out, provisionerRBAC(ns))
		return err
	}
	grants, err := parseGrants(o.Allow, "workflows:list,update")
	if err != nil {
		return err
	}
	if o.DryRun {
		if err := identity.ValidName(o.Client); err != nil {
			return err
		}
		c := identity.Client{Name: o.Client, Namespace: o.Namespace, Grants: grants}
		if c.Namespace == "" {
			c.Namespace = "NAMESPACE"
		}
		for _, obj := range c.Objects() {
			b, err := yaml.Marshal(obj.Body)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.streams.Out, "---\n%s", b)
		}
		return nil
	}
	if o.Format = o.provisionFormat; o.Format != "" && !slices.Contains(export.Names(), o.Format) {
		return exitcode.New(exitcode.Usage, "use "+export.Alternatives(), "unknown --format %q", o.Format)
	}
	if err := a.settingsOnly(o); err != nil {
		return err
	}
	kc, c, err := a.lifecycle(o, true)
	if err != nil {
		return err
	}
	c.Grants = grants
	changes, err := identity.Provision(ctx, kc, c, o.Adopt)
	for _, ch := range changes {
		fmt.Fprintf(a.streams.ErrOut, "%s/%s %s\n", strings.ToLower(ch.Kind), ch.Name, ch.What)
	}
	if err != nil {
		return err
	}
	a.useClientToken(o, c, c.Name+"-token", identity.Merge(grants))
	if o.Format != "" {
		_, _, err = a.envWith(ctx, o)
		return err
	}
	_, _, err = a.checked(ctx, o)
	return err
}

// parseGrants reads --allow, def when none is given.
func parseGrants(allow []string, def string) ([]identity.Grant, error) {
	if len(allow) == 0 {
		allow = []string{def}
	}
	var grants []identity.Grant
	for _, s := range allow {
		g, err := identity.ParseGrant(s)
		if err != nil {
			return nil, err
		}
		grants = append(grants, g)
	}
	return grants, nil
}

// useClientToken points the options at one of the client's token Secrets,
// with the expectations its grants imply.
func (a *app) useClientToken(o *options, c identity.Client, secret string, grants []identity.Grant) {
	o.Source, o.Secret, o.SecretNS, o.Namespace, o.ServiceAccount, o.TokenFile = "secret", secret, c.Namespace, c.Namespace, "", ""
	o.Expect, o.Probe, o.quietExpect = expectFor(grants), true, true
	a.fresh = true
}

// settingsOnly checks the Argo Server settings before anything changes.
func (a *app) settingsOnly(o *options) error {
	_, _, err := a.validate(o)
	return err
}

func (a *app) rotate(ctx context.Context, o *options) error {
	start := time.Now()
	if err := a.settingsOnly(o); err != nil {
		return err
	}
	kc, c, err := a.lifecycle(o, true)
	if err != nil {
		return err
	}
	grants, err := identity.Grants(ctx, kc, c.Namespace, c.Name)
	if err != nil {
		return err
	}
	if grants == nil {
		return exitcode.New(exitcode.Usage, "provision it first: argo-cred provision --client "+c.Name, "client %s is not provisioned in namespace %s", c.Name, c.Namespace)
	}
	subjects, err := identity.Subjects(ctx, kc, c.Namespace, c.Name)
	if err != nil {
		return err
	}
	if user, ok := identity.BindsUser(subjects); ok {
		return exitcode.New(exitcode.Usage, "its jobs bring their own OIDC token: there is no token to rotate (revoke --purge removes its access)",
			"client %s binds the user %q (oidc-config), not a ServiceAccount", c.Name, redact.Clean(user))
	}
	olds, err := identity.Secrets(ctx, kc, c.Namespace, c.Name)
	if err != nil {
		return err
	}
	old := a.tokensOf(ctx, kc, c.Namespace, olds)
	step := func(what string, since time.Time) time.Time {
		fmt.Fprintf(a.streams.ErrOut, "rotate: %s (%s)\n", what, time.Since(since).Round(time.Millisecond))
		return time.Now()
	}
	t := time.Now()
	// Until the new token is proven, the old Secrets stay and the new one
	// goes, however rotate ends (an interrupt included: the clean-up does
	// not take the cancelled context, but has its own short limit).
	fresh, err := identity.NewTokenSecret(ctx, kc, c)
	dropFresh := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if derr := identity.DeleteTokenSecret(cctx, kc, c, fresh.Name); derr != nil {
			fmt.Fprintf(a.streams.ErrOut, "warning: could not delete the unproven secret %s/%s: %s\n", c.Namespace, fresh.Name, a.red.Text(derr.Error()))
		}
	}
	if err != nil {
		dropFresh() // the create may have happened, its answer lost
		return err
	}
	t = step("created secret "+c.Namespace+"/"+fresh.Name, t)
	a.useClientToken(o, c, fresh.Name, grants)
	if _, _, err := a.checked(ctx, o); err != nil {
		dropFresh()
		return err
	}
	t = step("the new token is filled in and passed the probe", t)
	var gone []identity.Secret
	var names []string
	for _, s := range olds {
		if !s.Binding {
			gone, names = append(gone, s), append(names, s.Name)
		}
	}
	if err := identity.DeleteSecrets(ctx, kc, c.Namespace, gone); err != nil {
		return err
	}
	t = step(fmt.Sprintf("deleted %d old secret(s) %s", len(names), strings.Join(names, ", ")), t)
	if err := a.proveRejected(ctx, o, old); err != nil {
		return err
	}
	step("the Argo Server rejects every old token (401)", t)
	step("rotated", start)
	return nil
}

// tokensOf reads the tokens of the Secrets that have one.
func (a *app) tokensOf(ctx context.Context, kc *kube.Client, ns string, secrets []identity.Secret) []token.Token {
	var out []token.Token
	for _, s := range secrets {
		if s.Binding {
			continue
		}
		if t, err := token.FromSecret(ctx, kc.Secrets(ns), ns, s.Name, 0, nil); err == nil {
			out = append(out, t)
		}
	}
	return out
}

// proveRejected polls the Argo Server with each revoked token until it
// answers 401, bounded: kube-apiserver caches a successful token check for
// up to 10 s. It reports the lag.
func (a *app) proveRejected(ctx context.Context, o *options, revoked []token.Token) error {
	s, _, err := a.validate(o)
	if err != nil {
		return err
	}
	cfg := probeConfig(s, o)
	cfg.Namespace, cfg.SkipIdentityCheck = o.Namespace, true
	cfg.Expect = []probe.Expectation{{Allow: true, Resource: "workflows", Verb: "list"}}
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	for _, t := range revoked {
		cfg.Authorization = t.Bearer()
		for {
			pctx, cancel := context.WithTimeout(ctx, o.Timeout)
			_, err := probe.Run(pctx, cfg)
			cancel()
			if exitcode.Of(err) == exitcode.TokenRejected {
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if time.Now().After(deadline) {
				return exitcode.New(exitcode.ExcessAccess, "check that the Argo Server's Kubernetes is the one argo-cred deleted the Secret in",
					"a revoked token (%s) is still accepted after %s", t.From, time.Since(start).Round(time.Second))
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	if len(revoked) > 0 {
		fmt.Fprintf(a.streams.ErrOut, "revoked: the Argo Server rejects %d token(s) with 401, %s after the Secrets were deleted\n", len(revoked), time.Since(start).Round(10*time.Millisecond))
	}
	return nil
}

func (a *app) revoke(ctx context.Context, o *options) error {
	if err := a.settingsOnly(o); err != nil {
		return err
	}
	if o.StaleBindings > 0 {
		return a.revokeStale(ctx, o)
	}
	if o.Binding != "" {
		kc, c, err := a.lifecycle(o, false)
		if err != nil {
			return err
		}
		var sec struct{ Metadata kube.Meta }
		found, err := kc.Get(ctx, kube.SecretKind, c.Namespace, o.Binding, &sec)
		if err != nil {
			return err
		}
		if !found {
			return exitcode.New(exitcode.Usage, "give the name argo-cred printed when it bound the token", "secret %s/%s is not a token binding of argo-cred's", c.Namespace, o.Binding)
		}
		if err := identity.DeleteBinding(ctx, kc, c.Namespace, o.Binding, sec.Metadata.UID); err != nil {
			return err
		}
		fmt.Fprintf(a.streams.ErrOut, "revoke: deleted secret %s/%s\n", c.Namespace, o.Binding)
		if raw, ok := os.LookupEnv("ARGO_TOKEN"); ok {
			t, err := token.New(raw, "env", "ARGO_TOKEN")
			if err != nil {
				return err
			}
			a.red = redact.New(t.Bearer())
			o.Namespace = c.Namespace
			return a.proveRejected(ctx, o, []token.Token{t})
		}
		fmt.Fprintln(a.streams.ErrOut, "note: not proven: give the bound token in ARGO_TOKEN to see the Argo Server reject it")
		return nil
	}
	// revoke names a client that exists, which may be oidc-config's (a
	// longer name than provision gives).
	if o.Client == "" {
		return exitcode.New(exitcode.Usage, "give --client NAME", "no client given")
	}
	if err := identity.ValidExisting(o.Client); err != nil {
		return err
	}
	kc, c, err := a.lifecycle(o, false)
	if err != nil {
		return err
	}
	secrets, err := identity.Secrets(ctx, kc, c.Namespace, c.Name)
	if err != nil {
		return err
	}
	old := a.tokensOf(ctx, kc, c.Namespace, secrets)
	var names []string
	for _, s := range secrets {
		names = append(names, s.Name)
	}
	if err := identity.DeleteSecrets(ctx, kc, c.Namespace, secrets); err != nil {
		return err
	}
	if len(names) > 0 {
		fmt.Fprintf(a.streams.ErrOut, "revoke: deleted %d secret(s) of client %s: %s\n", len(names), c.Name, strings.Join(names, ", "))
	} else {
		fmt.Fprintf(a.streams.ErrOut, "revoke: client %s has no token secret in %s\n", c.Name, c.Namespace)
	}
	if !o.Purge {
		subjects, err := identity.Subjects(ctx, kc, c.Namespace, c.Name)
		if err != nil {
			return err
		}
		if user, ok := identity.BindsUser(subjects); ok {
			a.note(fmt.Sprintf("note: client %s binds the user %q (oidc-config): its jobs bring their own OIDC token; --purge deletes its role and rolebinding, which ends their access",
				c.Name, redact.Clean(user)))
		}
	}
	if o.Purge {
		deleted, err := identity.Purge(ctx, kc, c)
		// What was deleted, even when a later delete failed.
		if len(deleted) > 0 {
			fmt.Fprintf(a.streams.ErrOut, "revoke: deleted the %s %s\n", andList(deleted), c.Name)
		}
		if err != nil {
			return err
		}
		if len(deleted) == 0 {
			fmt.Fprintf(a.streams.ErrOut, "revoke: client %s has no rolebinding, role or serviceaccount in %s\n", c.Name, c.Namespace)
		}
	}
	o.Namespace = c.Namespace
	return a.proveRejected(ctx, o, old)
}

// andList joins words as English does: "a", "a and b", "a, b and c".
func andList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// revokeStale deletes the per-run Secrets of --bind tokens older than
// --stale-bindings: runs that ended without deleting theirs (argo-cred and
// its guard both killed, a CI machine switched off) left tokens that stay
// valid until they expire.
func (a *app) revokeStale(ctx context.Context, o *options) error {
	if o.Client != "" || o.Binding != "" || o.Purge {
		return exitcode.New(exitcode.Usage, "run it on its own", "--stale-bindings goes with neither --client, --binding nor --purge")
	}
	kc, c, err := a.lifecycle(o, false)
	if err != nil {
		return err
	}
	all, err := identity.Bindings(ctx, kc, c.Namespace)
	if err != nil {
		return err
	}
	var stale []identity.Secret
	var names []string
	for _, s := range all {
		if time.Since(s.Created) > o.StaleBindings {
			stale, names = append(stale, s), append(names, s.Name)
		}
	}
	if err := identity.DeleteSecrets(ctx, kc, c.Namespace, stale); err != nil {
		return err
	}
	fmt.Fprintf(a.streams.ErrOut, "revoke: deleted %d per-run secret(s) older than %s in %s, revoking the tokens bound to them: %s\n",
		len(names), o.StaleBindings, c.Namespace, orDash(strings.Join(names, ", ")))
	return nil
}

// clientRow is one client in `argo-cred clients`.
type clientRow struct {
	Client string   `json:"client"`
	Grants []string `json:"grants"`
	// Subjects are whom the client's RoleBinding binds: its ServiceAccount,
	// or for a client oidc-config made, a CI job's user.
	Subjects []identity.Subject `json:"subjects"`
	Secrets  []clientSecret     `json:"secrets"`
	Check    map[string]string  `json:"check,omitempty"` // secret → verdict
}

type clientSecret struct {
	Name         string    `json:"name"`
	Created      time.Time `json:"created"`
	LastUsed     string    `json:"legacyTokenLastUsed,omitempty"`
	InvalidSince string    `json:"legacyTokenInvalidSince,omitempty"`
	Binding      bool      `json:"binding,omitempty"`
	// TokenExpires is when a binding's token expires anyway.
	TokenExpires string `json:"tokenExpiresAt,omitempty"`
}

func (a *app) clients(ctx context.Context, o *options) error {
	if o.Output != "table" && o.Output != "json" {
		return exitcode.New(exitcode.Usage, "use table or json", "unknown --output %q", o.Output)
	}
	if o.Check {
		if err := a.settingsOnly(o); err != nil {
			return err
		}
	}
	kc, c, err := a.lifecycle(o, false)
	if err != nil {
		return err
	}
	names, err := a.clientNames(ctx, kc, c.Namespace, o.Client)
	if err != nil {
		return err
	}
	var rows []clientRow
	for _, name := range names {
		row := clientRow{Client: name}
		grants, err := identity.Grants(ctx, kc, c.Namespace, name)
		if err != nil {
			return err
		}
		for _, g := range grants {
			row.Grants = append(row.Grants, g.String())
		}
		subjects, err := identity.Subjects(ctx, kc, c.Namespace, name)
		if err != nil {
			return err
		}
		for _, s := range subjects {
			// Text whoever can write a RoleBinding chose: one clean line.
			row.Subjects = append(row.Subjects, identity.Subject{Kind: redact.Clean(s.Kind), Name: redact.Clean(s.Name), Namespace: redact.Clean(s.Namespace)})
		}
		secrets, err := identity.Secrets(ctx, kc, c.Namespace, name)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			row.Secrets = append(row.Secrets, clientSecret{Name: s.Name, Created: s.Created, LastUsed: s.LastUsed, InvalidSince: s.Invalid, Binding: s.Binding, TokenExpires: s.Expires})
			if o.Check && !s.Binding {
				row.Check = mapSet(row.Check, s.Name, a.checkSecret(ctx, o, identity.Client{Name: name, Namespace: c.Namespace}, s.Name, grants))
			}
		}
		rows = append(rows, row)
	}
	if o.Client == "" {
		// Per-run Secrets of --bind tokens of ServiceAccounts argo-cred did
		// not provision: each a live token until deleted or expired.
		bindings, err := identity.Bindings(ctx, kc, c.Namespace)
		if err != nil {
			return err
		}
		byClient := map[string]int{}
		for i, r := range rows {
			byClient[r.Client] = i
		}
		for _, s := range bindings {
			sa := s.Client
			if _, ok := byClient[sa]; ok {
				continue
			}
			if _, ok := byClient[sa+" (not provisioned)"]; !ok {
				byClient[sa+" (not provisioned)"] = len(rows)
				rows = append(rows, clientRow{Client: sa + " (not provisioned)"})
			}
			i := byClient[sa+" (not provisioned)"]
			rows[i].Secrets = append(rows[i].Secrets, clientSecret{Name: s.Name, Created: s.Created, Binding: true, TokenExpires: s.Expires})
		}
	}
	if o.Output == "json" {
		b, err := json.MarshalIndent(rows, "", "  ")
		if err != nil {
			return err
		}
		_, err = a.streams.Out.Write(append(b, '\n'))
		return err
	}
	tw := tabwriter.NewWriter(a.streams.Out, 0, 0, 2, ' ', 0)
	head := "CLIENT\tGRANTS\tSECRET\tAGE\tLAST-USED\tINVALID-SINCE"
	if o.Check {
		head += "\tCHECK"
	}
	head += "\tSUBJECT"
	fmt.Fprintln(tw, head)
	for _, r := range rows {
		if len(r.Secrets) == 0 {
			r.Secrets = []clientSecret{{Name: "-"}}
		}
		for _, s := range r.Secrets {
			age := "-"
			if !s.Created.IsZero() {
				age = time.Since(s.Created).Round(time.Second).String()
			}
			name := s.Name
			if s.Binding {
				name += " (per-run, token until " + orDash(s.TokenExpires) + ")"
			}
			line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", r.Client, orDash(strings.Join(r.Grants, " ")), name, age, orDash(s.LastUsed), orDash(s.InvalidSince))
			if o.Check {
				line += "\t" + orDash(r.Check[s.Name])
			}
			line += "\t" + orDash(subjectText(r.Subjects))
			fmt.Fprintln(tw, line)
		}
	}
	return tw.Flush()
}

// clientNames lists the clients in ns: those with a ServiceAccount
// (provision) and those with only a Role (oidc-config binds a CI job's
// user, not a ServiceAccount), sorted. An identity that may not list Roles
// (a provisioner whose RBAC predates it) still sees the first, with a
// warning.
func (a *app) clientNames(ctx context.Context, kc *kube.Client, ns, client string) ([]string, error) {
	names, err := identity.Names(ctx, kc, kube.ServiceAccountKind, ns, client)
	if err != nil {
		return nil, err
	}
	roles, err := identity.Names(ctx, kc, kube.RoleKind, ns, client)
	switch {
	case exitcode.Of(err) == exitcode.MissingAccess:
		a.note("warning: may not list roles in " + ns + ", so clients oidc-config made are not shown: re-apply argo-cred provision --print-rbac")
	case err != nil:
		return nil, err
	}
	for _, r := range roles {
		if !slices.Contains(names, r) {
			names = append(names, r)
		}
	}
	slices.Sort(names)
	return names, nil
}

// subjectText is what the table says of a client's subjects:
// serviceaccount/NAME, user/NAME.
func subjectText(subjects []identity.Subject) string {
	var out []string
	for _, s := range subjects {
		out = append(out, strings.ToLower(s.Kind)+"/"+s.Name)
	}
	return strings.Join(out, " ")
}

func mapSet(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

// checkSecret probes one token Secret quietly and names the verdict.
func (a *app) checkSecret(ctx context.Context, o *options, c identity.Client, secret string, grants []identity.Grant) string {
	po := *o
	a.useClientToken(&po, c, secret, grants)
	quiet := &app{streams: IOStreams{In: a.streams.In, Out: io.Discard, ErrOut: io.Discard}, log: a.log}
	cred, err := quiet.credential(ctx, &po)
	if err == nil {
		_, err = quiet.verify(ctx, &po, cred)
	}
	if err != nil {
		return fmt.Sprintf("%s (exit %d)", exitcode.Of(err), exitcode.Of(err))
	}
	return "ok"
}

// provisionerRBAC is what the identity that runs provision, rotate, revoke
// and clients needs in a namespace dedicated to Argo clients: a
// ServiceAccount, a Role for the objects it manages, and the argoproj.io
// verbs it may grant, which it holds itself (a ClusterRole bound in the
// namespace only). Without escalate or bind, Kubernetes lets it put into a
// client's Role only what it holds (RBAC's escalation check). RBAC cannot
// say whom it may bind, nor which Secrets it may write: a
// ValidatingAdmissionPolicy (Kubernetes 1.30+) holds every write of any
// namespace's argo-cred-provisioner to argo-cred's own shapes.
func provisionerRBAC(ns string) string {
	var grantable strings.Builder
	for _, r := range identity.Resources {
		fmt.Fprintf(&grantable, "  - %s\n", r)
	}
	return `# The identity that runs argo-cred provision, rotate, revoke and clients in
# namespace ` + ns + `, which must be dedicated to Argo clients and their
# workflows. What it can do, and no more: read every Secret of the namespace
# (token Secret names are not known in advance, so RBAC cannot narrow get);
# run workflows there as any ServiceAccount of the namespace (it holds every
# argoproj.io verb it may grant); and write only argo-cred's own objects
# (the admission policy below): Roles with argoproj.io rules only, each bound
# to its own client's ServiceAccount only, token Secrets of those
# ServiceAccounts, labelled ServiceAccounts. It has neither escalate nor
# bind: Kubernetes refuses it a Role with '*', a binding to admin, a token
# request for another ServiceAccount.
# Apply as a cluster admin (the ClusterRole, the policy and its binding are
# cluster-wide; the ClusterRole is bound in this namespace only):
#   argo-cred provision --print-rbac --namespace ` + ns + ` | kubectl apply -f -
# Without ValidatingAdmissionPolicy (Kubernetes before 1.30) the policy does
# not apply, and the identity can bind what it holds to anyone.
# env/exec/docker --bind needs, for the ServiceAccount it binds tokens of:
# create on serviceaccounts/token (resourceNames: that ServiceAccount) and
# create, get, delete on secrets; that, too, reaches every Secret of the
# namespace.
apiVersion: v1
kind: ServiceAccount
metadata:
  name: argo-cred-provisioner
  namespace: ` + ns + `
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: argo-cred-provisioner
  namespace: ` + ns + `
rules:
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [get, list, create, patch, delete]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [get, list, create, patch, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: argo-cred-provisioner
  namespace: ` + ns + `
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: argo-cred-provisioner
subjects:
- kind: ServiceAccount
  name: argo-cred-provisioner
  namespace: ` + ns + `
---
# The argoproj.io verbs provision may grant; bound in the namespace above.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: argo-cred-grantable
rules:
- apiGroups: [argoproj.io]
  resources:
` + grantable.String() + `  verbs: [` + strings.Join(identity.Verbs, ", ") + `]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: argo-cred-provisioner-grantable
  namespace: ` + ns + `
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: argo-cred-grantable
subjects:
- kind: ServiceAccount
  name: argo-cred-provisioner
  namespace: ` + ns + `
` + provisionerPolicy
}

// provisionerPolicy holds the writes of every namespace's
// argo-cred-provisioner to argo-cred's own objects (CEL, evaluated by
// kube-apiserver on each create, update and delete).
const provisionerPolicy = `---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: argo-cred-provisioner
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["*"]
      operations: [CREATE, UPDATE, DELETE]
      resources: [secrets, serviceaccounts]
    - apiGroups: [rbac.authorization.k8s.io]
      apiVersions: ["*"]
      operations: [CREATE, UPDATE, DELETE]
      resources: [roles, rolebindings]
  matchConditions:
  - name: by-a-provisioner
    expression: request.userInfo.username == "system:serviceaccount:" + request.namespace + ":argo-cred-provisioner"
  variables:
  - name: obj
    expression: 'request.operation == "DELETE" ? oldObject : object'
  - name: ours
    expression: >-
      variables.obj.metadata.?labels["app.kubernetes.io/managed-by"].orValue("") == "argo-cred" &&
      variables.obj.metadata.?labels["argo-cred/client"].orValue("") != ""
  validations:
  - expression: variables.ours && (request.operation != "UPDATE" || oldObject.metadata.?labels["app.kubernetes.io/managed-by"].orValue("") == "argo-cred")
    message: the provisioner writes only objects argo-cred made (labelled app.kubernetes.io/managed-by=argo-cred and argo-cred/client)
    reason: Forbidden
  - expression: >-
      request.operation == "DELETE" || request.resource.resource != "roles" ||
      object.?rules.orValue([]).all(r, r.apiGroups == ["argoproj.io"])
    message: a client's Role grants only argoproj.io verbs
    reason: Forbidden
  - expression: >-
      request.operation == "DELETE" || request.resource.resource != "rolebindings" ||
      (object.roleRef.kind == "Role" && object.roleRef.name == object.metadata.name &&
       object.?subjects.orValue([]).size() == 1 && object.subjects[0].kind == "ServiceAccount" &&
       object.subjects[0].name == object.metadata.name && object.subjects[0].?namespace.orValue("") == request.namespace)
    message: the provisioner binds a client's own Role to that client's own ServiceAccount only
    reason: Forbidden
  - expression: >-
      request.operation == "DELETE" || request.resource.resource != "secrets" ||
      (object.?type.orValue("") == "kubernetes.io/service-account-token" ?
        object.metadata.?annotations["kubernetes.io/service-account.name"].orValue("") == object.metadata.labels["argo-cred/client"] :
        object.?type.orValue("") == "Opaque" && object.metadata.?labels["argo-cred/binding"].orValue("") != "")
    message: the provisioner makes token Secrets of its clients' own ServiceAccounts only
    reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: argo-cred-provisioner
spec:
  policyName: argo-cred-provisioner
  validationActions: [Deny]
`
