package identity

import (
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

// Do applies the client's objects, then checks the token of its first
// token Secret. The changes are returned also when a later step failed.
func (u Provision) Do(ctx context.Context, in ProvisionInput) (ProvisionResult, error) {
	var r ProvisionResult
	c := in.Client
	changes, err := Apply(ctx, u.Kube, c.Namespace, c.Objects(), in.Adopt)
	r.Changes = changes
	for _, ch := range changes {
		progress(in.Progress, fmt.Sprintf("%s/%s %s", strings.ToLower(ch.Kind), ch.Name, ch.What))
	}
	if err != nil {
		return r, err
	}
	return r, u.Prober.Check(ctx, c, c.Name+"-token", merge(c.Grants))
}

// progress calls f with line, unless f is nil.
func progress(f func(string), line string) {
	if f != nil {
		f(line)
	}
}
