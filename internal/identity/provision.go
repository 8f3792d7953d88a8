package identity

import (
	"context"
	"fmt"
	"strings"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/redact"
	"github.com/argo-cred/argo-cred/internal/token"
)

// Prober checks tokens against the Argo Server; the command line provides
// it with its credential pipeline.
type Prober interface {
	// Check reads the token of the client's token Secret secret and probes
	// the Argo Server with it, expecting what grants imply (ExpectFor).
	Check(ctx context.Context, c Client, secret string, grants []Grant) error
	// Rejected returns once the Argo Server rejects each token (401) for
	// namespace ns, or fails when one is still accepted after a while.
	Rejected(ctx context.Context, ns string, tokens []token.Token) error
}

// Provision creates or updates a client's objects and checks its token.
type Provision struct {
	Kube   *kube.Client
	Prober Prober
}

// ProvisionInput is one client to provision.
type ProvisionInput struct {
	Client Client // Name, Namespace and Grants
	// Adopt takes over objects of the client's name argo-cred did not make.
	Adopt bool
	// Fetcher: when Fetcher.Out is set, make the client's fetcher and
	// write its kubeconfig there.
	Fetcher FetcherFlags
	// For are the job profiles of the grants (--for), which the job's
	// own check names too: the hand-off lines repeat them.
	For []string
	// Progress gets a line for each object applied ("role/ci created");
	// Warn what the caller should know (rules of the Role kept).
	Progress, Warn func(string)
}

// ProvisionResult is what Provision did.
type ProvisionResult struct {
	Changes []Change
}

// Do applies the client's Role, ServiceAccount and RoleBinding; then, when
// the client has no token Secret, makes one current (proven, copied to
// CLIENT-token-current), else checks the token of the one it has. The
// changes are returned also when a later step failed.
func (u Provision) Do(ctx context.Context, in ProvisionInput) (ProvisionResult, error) {
	var r ProvisionResult
	c := in.Client
	if in.Fetcher.Out != "" && in.Fetcher.Model == "" {
		in.Fetcher.Model = FetchSecret
	}
	target, err := in.Fetcher.check()
	if err != nil {
		return r, err
	}
	if subjects, err := subjectsOf(ctx, u.Kube, c.Namespace, c.Name); err != nil {
		return r, err
	} else if user, ok := bindsUser(subjects); ok && !in.Adopt {
		return r, exitcode.New(exitcode.Usage, "choose another --client: oidc-config --apply made this one for keyless CI jobs (--adopt makes it a ServiceAccount client, with a token, in their place)",
			"client %s binds the user %q (oidc-config), not a ServiceAccount", c.Name, redact.Clean(user))
	}
	source, copyUID, copyFound, err := copyOf(ctx, u.Kube, c)
	if err != nil {
		return r, err
	}
	all, err := secretsOf(ctx, u.Kube, c.Namespace, c.Name)
	if err != nil {
		return r, err
	}
	tokens, err := finishOverdue(ctx, u.Kube, u.Prober, c, tokenSecrets(all), "provision", in.Progress)
	if err != nil {
		return r, err
	}
	objs, kept, err := u.objects(ctx, c, tokens, source)
	var hand []rule
	if err == nil {
		hand, err = roleRules(ctx, u.Kube, c, objs[0], in.Warn, in.Progress)
	}
	if err != nil {
		return r, err
	}
	r.Changes, err = Apply(ctx, u.Kube, c.Namespace, objs, in.Adopt)
	if kept != "" {
		r.Changes = append(r.Changes, Change{Kind: "Secret", Name: kept, What: "unchanged"})
	}
	for _, ch := range r.Changes {
		progress(in.Progress, fmt.Sprintf("%s/%s %s", strings.ToLower(ch.Kind), ch.Name, ch.What))
	}
	if err != nil {
		return r, err
	}
	if len(objs) == 4 { // CLIENT-token, as before CLIENT-token-current
		kept = objs[3].Name
	}
	if kept == "" {
		say := func(what string) { progress(in.Progress, "provision: "+what) }
		fresh, err := makeCurrent(ctx, u.Kube, u.Prober, c, merge(c.Grants), copyUID, copyFound, say, in.Progress)
		if fresh.UID != "" {
			r.Changes = append(r.Changes, Change{Kind: "Secret", Name: fresh.Name, What: "created"})
		}
		if err != nil {
			return r, handHint(err, c, hand)
		}
		return r, u.after(ctx, in, target, &r)
	}
	if err := u.Prober.Check(ctx, c, kept, merge(c.Grants)); err != nil {
		return r, handHint(err, c, hand)
	}
	switch cur, ok := current(tokens, source); {
	case ok && cur.Name == kept && !copyFound: // the copy was deleted: the current token again
		tok, err := token.FromSecret(ctx, u.Kube.Secrets(c.Namespace), c.Namespace, kept, 0, nil)
		if err == nil {
			err = writeCopy(ctx, u.Kube, c, kept, tok, "", false)
		}
		if err != nil {
			return r, err
		}
		progress(in.Progress, fmt.Sprintf("secret/%s created", CurrentName(c.Name)))
	case !ok || cur.Name != kept:
		progress(in.Progress, fmt.Sprintf("note: client %s's token is in secret %s, and --client finds it only in %s: argo-cred rotate --client %s puts one there",
			c.Name, kept, CurrentName(c.Name), c.Name))
	}
	return r, u.after(ctx, in, target, &r)
}

// after makes the client's fetcher, when asked for, and says what to hand
// to the team.
func (u Provision) after(ctx context.Context, in ProvisionInput, target fetcherTarget, r *ProvisionResult) error {
	if in.Fetcher.Out != "" {
		changes, err := u.fetcher(ctx, in, target)
		for _, ch := range changes {
			progress(in.Progress, fmt.Sprintf("%s/%s %s", strings.ToLower(ch.Kind), ch.Name, ch.What))
		}
		r.Changes = append(r.Changes, changes...)
		if err != nil {
			return err
		}
		progress(in.Progress, fmt.Sprintf("provision: wrote the kubeconfig of fetcher %s/%s (%s model) to %s", in.Client.Namespace, FetcherName(in.Client.Name), in.Fetcher.Model, in.Fetcher.Out))
	}
	for _, line := range handoff(in.Client, in) {
		progress(in.Progress, line)
	}
	return nil
}

// objects are the client's objects to apply, and the token Secret kept as
// it is, if any: its current one (the one CLIENT-token-current copies);
// else the newest (a client from before CLIENT-token-current: rotate moves
// it). With no token Secret of argo-cred's, CLIENT-token is applied if
// something of that name exists (as before: refused, or with --adopt taken
// over); else none, and Do makes one.
func (u Provision) objects(ctx context.Context, c Client, tokens []secret, source string) ([]Object, string, error) {
	objs := c.Objects()[:3]
	if cur, ok := current(tokens, source); ok {
		return objs, cur.Name, nil
	}
	if len(tokens) > 0 {
		return objs, tokens[len(tokens)-1].Name, nil // the newest
	}
	legacy := c.Name + "-token"
	_, found, err := get(ctx, u.Kube, kube.SecretKind, c.Namespace, legacy)
	if found {
		objs = append(objs, c.tokenSecret(legacy))
	}
	return objs, "", err
}

// progress calls f with line, unless f is nil.
func progress(f func(string), line string) {
	if f != nil {
		f(line)
	}
}

// handHint: too much access with rules provision did not add in the Role
// (kept) is theirs to delete; provision again would keep them.
func handHint(err error, c Client, hand []rule) error {
	if exitcode.Of(err) != exitcode.ExcessAccess || len(hand) == 0 {
		return err
	}
	var rs []string
	for _, r := range hand {
		rs = append(rs, r.String())
	}
	return &exitcode.Error{Code: exitcode.ExcessAccess, Err: err, Hint: fmt.Sprintf("role/%s has rules provision did not add and keeps (%s): delete them by hand (kubectl edit role %s -n %s), then run provision again",
		c.Name, strings.Join(rs, "; "), c.Name, c.Namespace)}
}
