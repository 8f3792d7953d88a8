package identity

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/argo-cred/argo-cred/internal/kube"
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
	// Progress gets a line for each object applied ("role/ci created").
	Progress func(string)
}

// ProvisionResult is what Provision did.
type ProvisionResult struct {
	Changes []Change
}

// Do applies the client's objects, then checks the token of its current
// token Secret. The changes are returned also when a later step failed.
func (u Provision) Do(ctx context.Context, in ProvisionInput) (ProvisionResult, error) {
	var r ProvisionResult
	c := in.Client
	all, err := secretsOf(ctx, u.Kube, c.Namespace, c.Name)
	if err != nil {
		return r, err
	}
	tokens, err := finishOverdue(ctx, u.Kube, u.Prober, c, tokenSecrets(all), "provision", in.Progress)
	if err != nil {
		return r, err
	}
	objs, kept, err := u.objects(ctx, c, tokens)
	if err != nil {
		return r, err
	}
	changes, err := Apply(ctx, u.Kube, c.Namespace, objs, in.Adopt)
	if kept != "" {
		changes = append(changes, Change{Kind: "Secret", Name: kept, What: "unchanged"})
	}
	r.Changes = changes
	for _, ch := range changes {
		progress(in.Progress, fmt.Sprintf("%s/%s %s", strings.ToLower(ch.Kind), ch.Name, ch.What))
	}
	if err != nil {
		return r, err
	}
	name := cmp.Or(kept, objs[len(objs)-1].Name)
	cur, ok := current(c.Name, tokens)
	if made := kept == "" && name == Slots(c.Name)[0]; !made && (!ok || cur.Name != name) {
		progress(in.Progress, fmt.Sprintf("note: client %s's token is in secret %s, which --client does not read (a name from before slots, or not current): argo-cred rotate --client %s moves it to %s",
			c.Name, name, c.Name, Slots(c.Name)[0]))
	}
	return r, u.Prober.Check(ctx, c, name, merge(c.Grants))
}

// objects are the client's objects to apply, and the token Secret kept as
// it is, if any: its current slot; else a token Secret from before slots
// (rotate moves it to slots). Else a token Secret is applied: CLIENT-token
// if something of that name exists (as before slots: refused, or with
// --adopt taken over), else slot a.
func (u Provision) objects(ctx context.Context, c Client, tokens []secret) ([]Object, string, error) {
	objs := c.Objects()
	if cur, ok := current(c.Name, tokens); ok {
		return objs[:3], cur.Name, nil
	}
	if len(tokens) > 0 {
		return objs[:3], tokens[len(tokens)-1].Name, nil // the newest
	}
	legacy := c.Name + "-token"
	_, found, err := get(ctx, u.Kube, kube.SecretKind, c.Namespace, legacy)
	if found {
		objs[3] = c.tokenSecret(legacy, nil)
	}
	return objs, "", err
}

// progress calls f with line, unless f is nil.
func progress(f func(string), line string) {
	if f != nil {
		f(line)
	}
}
