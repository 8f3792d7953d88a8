package identity

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/redact"
)

// Clients lists the clients argo-cred manages in a namespace: grants,
// subjects and Secrets, and with a Prober whether each token passes it.
type Clients struct {
	Kube *kube.Client
	// Prober, when set, checks each token Secret (not per-run Secrets).
	Prober Prober
	// Finish, when set, proves the tokens of retiring Secrets whose grace
	// ended rejected, once clients has deleted them; without it such
	// Secrets are listed as overdue.
	Finish Prober
}

// ClientsInput is where to list, and which client ("" for all).
type ClientsInput struct {
	Namespace, Client string
	// Note gets what the listing may miss.
	Note func(string)
}

// ClientRow is one client in `argo-cred clients`.
type ClientRow struct {
	Client string   `json:"client"`
	Grants []string `json:"grants"`
	// HandRules are the rules of the client's Role provision did not add
	// (kept by it with a warning): the probe checks none of them.
	HandRules []string `json:"handRules,omitempty"`
	// Subjects are whom the client's RoleBinding binds: its ServiceAccount,
	// or for a client oidc-config made, a CI job's user.
	Subjects []Subject         `json:"subjects"`
	Secrets  []ClientSecret    `json:"secrets"`
	Check    map[string]string `json:"check,omitempty"` // secret → verdict
}

// ClientSecret is one Secret of a client.
type ClientSecret struct {
	Name         string    `json:"name"`
	Created      time.Time `json:"created"`
	LastUsed     string    `json:"legacyTokenLastUsed,omitempty"`
	InvalidSince string    `json:"legacyTokenInvalidSince,omitempty"`
	Binding      bool      `json:"binding,omitempty"`
	// TokenExpires is when a binding's token expires anyway.
	TokenExpires string `json:"tokenExpiresAt,omitempty"`
	// State is current (the token --client reads) or retiring (an old
	// token that stays valid until RetireAfter); Overdue: that time has
	// passed, and the next lifecycle command with --server deletes it.
	State       string `json:"state,omitempty"`
	RetireAfter string `json:"retireAfter,omitempty"`
	Overdue     bool   `json:"overdue,omitempty"`
}

// Do lists the clients, sorted by name; without a client named, the per-run
// Secrets of ServiceAccounts argo-cred did not provision follow, each such
// ServiceAccount a row "NAME (not provisioned)".
func (u Clients) Do(ctx context.Context, in ClientsInput) ([]ClientRow, error) {
	names, err := u.names(ctx, in)
	if err != nil {
		return nil, err
	}
	var rows []ClientRow
	for _, name := range names {
		row, err := u.row(ctx, Client{Name: name, Namespace: in.Namespace}, in.Note)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	if in.Client != "" {
		return rows, nil
	}
	// Per-run Secrets of --bind tokens of ServiceAccounts argo-cred did
	// not provision: each a live token until deleted or expired.
	all, err := bindings(ctx, u.Kube, in.Namespace)
	if err != nil {
		return nil, err
	}
	return withBindings(rows, all), nil
}

// row reads one client, finishing its overdue retiring Secrets first
// when it can (Finish), else saying what is overdue (note).
func (u Clients) row(ctx context.Context, c Client, note func(string)) (ClientRow, error) {
	row := ClientRow{Client: c.Name}
	role, _, err := readRole(ctx, u.Kube, c)
	if err != nil {
		return row, err
	}
	grants := grantsIn(role.Rules)
	for _, g := range grants {
		row.Grants = append(row.Grants, g.String())
	}
	var hand []rule
	if owned(role.Metadata, c.Name) {
		hand = role.handRules()
	}
	for _, r := range hand {
		row.HandRules = append(row.HandRules, redact.Clean(r.String()))
	}
	if len(hand) > 0 && note != nil {
		note(fmt.Sprintf("warning: role/%s has rules provision did not add, which no check covers: %s (delete them by hand if they must go)", c.Name, strings.Join(row.HandRules, "; ")))
	}
	subjects, err := subjectsOf(ctx, u.Kube, c.Namespace, c.Name)
	if err != nil {
		return row, err
	}
	for _, s := range subjects {
		// Text whoever can write a RoleBinding chose: one clean line.
		row.Subjects = append(row.Subjects, Subject{Kind: redact.Clean(s.Kind), Name: redact.Clean(s.Name), Namespace: redact.Clean(s.Namespace)})
	}
	secrets, err := secretsOf(ctx, u.Kube, c.Namespace, c.Name)
	if err != nil {
		return row, err
	}
	if u.Finish != nil {
		left, err := finishOverdue(ctx, u.Kube, u.Finish, c, secrets, "clients", note)
		switch {
		case exitcode.Of(err) == exitcode.MissingAccess: // an identity that may only read lists on
			progress(note, "warning: could not delete it: "+redact.Clean(err.Error()))
		case err != nil:
			return row, err
		default:
			secrets = left
		}
	}
	if due := overdue(secrets, time.Now()); len(due) > 0 {
		progress(note, fmt.Sprintf("warning: the grace of client %s's old token ended, and it is still valid: secret %s; argo-cred rotate --client %s --finish deletes it (clients does, given --server)",
			c.Name, describe(c.Namespace, due), c.Name))
	}
	now := time.Now()
	for _, s := range secrets {
		cs := ClientSecret{Name: s.Name, Created: s.Created, LastUsed: s.LastUsed, InvalidSince: s.Invalid, Binding: s.Binding, TokenExpires: s.Expires, State: s.State}
		if s.State == stateRetiring {
			cs.Overdue = !now.Before(s.RetireAfter)
			if !s.RetireAfter.IsZero() {
				cs.RetireAfter = s.RetireAfter.UTC().Format(time.RFC3339)
			}
		}
		row.Secrets = append(row.Secrets, cs)
		if u.Prober != nil && !s.Binding {
			if row.Check == nil {
				row.Check = map[string]string{}
			}
			row.Check[s.Name] = verdict(u.Prober.Check(ctx, c, s.Name, grants))
		}
	}
	return row, nil
}

// verdict names the outcome of a check: ok, or the exit code's name and
// number.
func verdict(err error) string {
	if err != nil {
		return fmt.Sprintf("%s (exit %d)", exitcode.Of(err), exitcode.Of(err))
	}
	return "ok"
}

// withBindings adds to rows the per-run Secrets of ServiceAccounts that
// have no row, one row "NAME (not provisioned)" for each.
func withBindings(rows []ClientRow, bindings []secret) []ClientRow {
	byClient := map[string]int{}
	for i, r := range rows {
		byClient[r.Client] = i
	}
	for _, s := range bindings {
		sa := s.Client
		if _, ok := byClient[sa]; ok {
			continue
		}
		row := sa + " (not provisioned)"
		if _, ok := byClient[row]; !ok {
			byClient[row] = len(rows)
			rows = append(rows, ClientRow{Client: row})
		}
		i := byClient[row]
		rows[i].Secrets = append(rows[i].Secrets, ClientSecret{Name: s.Name, Created: s.Created, Binding: true, TokenExpires: s.Expires})
	}
	return rows
}

// names lists the clients in the namespace: those with a ServiceAccount
// (provision) and those with only a Role (oidc-config binds a CI job's
// user, not a ServiceAccount), sorted. An identity that may not list Roles
// (a provisioner whose RBAC predates it) still sees the first, with a
// note.
func (u Clients) names(ctx context.Context, in ClientsInput) ([]string, error) {
	names, err := Names(ctx, u.Kube, kube.ServiceAccountKind, in.Namespace, in.Client)
	if err != nil {
		return nil, err
	}
	roles, err := Names(ctx, u.Kube, kube.RoleKind, in.Namespace, in.Client)
	switch {
	case exitcode.Of(err) == exitcode.MissingAccess:
		progress(in.Note, "warning: may not list roles in "+in.Namespace+", so clients oidc-config made are not shown: re-apply argo-cred provision --print-rbac")
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

// WriteClientsJSON writes rows as an indented JSON array.
func WriteClientsJSON(w io.Writer, rows []ClientRow) error {
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return fmt.Errorf("writing the clients as JSON: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteClientsTable writes rows as a table, a line for each Secret; check
// adds the CHECK column.
func WriteClientsTable(w io.Writer, rows []ClientRow, check bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "CLIENT\tGRANTS\tSECRET\tSTATE\tAGE\tLAST-USED\tINVALID-SINCE"
	if check {
		head += "\tCHECK"
	}
	head += "\tSUBJECT"
	fmt.Fprintln(tw, head)
	for _, r := range rows {
		if len(r.Secrets) == 0 {
			r.Secrets = []ClientSecret{{Name: "-"}}
		}
		for _, s := range r.Secrets {
			age := "-"
			if !s.Created.IsZero() {
				age = time.Since(s.Created).Round(time.Second).String()
			}
			name := s.Name
			if s.Binding {
				name += " (per-run, token until " + cmp.Or(s.TokenExpires, "-") + ")"
			}
			grants := strings.Join(r.Grants, " ")
			if len(r.HandRules) > 0 {
				grants = strings.TrimSpace(grants + " +by hand: " + strings.Join(r.HandRules, "; "))
			}
			line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", r.Client, cmp.Or(grants, "-"), name, stateText(s), age, cmp.Or(s.LastUsed, "-"), cmp.Or(s.InvalidSince, "-"))
			if check {
				line += "\t" + cmp.Or(r.Check[s.Name], "-")
			}
			line += "\t" + cmp.Or(subjectText(r.Subjects), "-")
			fmt.Fprintln(tw, line)
		}
	}
	return tw.Flush()
}

// subjectText is what the table says of a client's subjects:
// serviceaccount/NAME, user/NAME.
func subjectText(subjects []Subject) string {
	var out []string
	for _, s := range subjects {
		out = append(out, strings.ToLower(s.Kind)+"/"+s.Name)
	}
	return strings.Join(out, " ")
}

// stateText is what the table says of a Secret's state: current, retiring
// until when, and OVERDUE once that has passed.
func stateText(s ClientSecret) string {
	switch {
	case s.State == stateRetiring && s.Overdue:
		return "retiring, OVERDUE since " + cmp.Or(s.RetireAfter, "?")
	case s.State == stateRetiring:
		return "retiring until " + s.RetireAfter
	}
	return cmp.Or(s.State, "-")
}
