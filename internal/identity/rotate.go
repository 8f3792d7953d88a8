package identity

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/redact"
)

// Rotate gives a client a new token Secret, proves its token, then deletes
// the old token Secrets and proves their tokens rejected.
type Rotate struct {
	Kube   *kube.Client
	Prober Prober
}

// RotateInput is the client to rotate (Name, Namespace).
type RotateInput struct {
	Client Client
	// Progress gets each step with the time it took ("rotate: created
	// secret ns/ci-token-x2b4c (12ms)").
	Progress func(string)
	// Warn gets what went wrong in a clean-up that does not fail rotate.
	Warn func(string)
}

// RotateResult is what Rotate did.
type RotateResult struct {
	Created string   // the new token Secret
	Deleted []string // the old token Secrets
}

// Do rotates. Until the new token is proven, the old Secrets stay and the
// new one goes, however Do ends (a cancelled context included: the
// clean-up does not take it, but has its own short limit).
func (u Rotate) Do(ctx context.Context, in RotateInput) (RotateResult, error) {
	var r RotateResult
	start := time.Now()
	c := in.Client
	grants, err := grantsOf(ctx, u.Kube, c.Namespace, c.Name)
	if err != nil {
		return r, err
	}
	if grants == nil {
		return r, exitcode.New(exitcode.Usage, "provision it first: argo-cred provision --client "+c.Name, "client %s is not provisioned in namespace %s", c.Name, c.Namespace)
	}
	subjects, err := subjectsOf(ctx, u.Kube, c.Namespace, c.Name)
	if err != nil {
		return r, err
	}
	if user, ok := bindsUser(subjects); ok {
		return r, exitcode.New(exitcode.Usage, "its jobs bring their own OIDC token: there is no token to rotate (revoke --purge removes its access)",
			"client %s binds the user %q (oidc-config), not a ServiceAccount", c.Name, redact.Clean(user))
	}
	olds, err := secretsOf(ctx, u.Kube, c.Namespace, c.Name)
	if err != nil {
		return r, err
	}
	old := tokensOf(ctx, u.Kube, c.Namespace, olds)
	step := func(what string, since time.Time) time.Time {
		progress(in.Progress, fmt.Sprintf("rotate: %s (%s)", what, time.Since(since).Round(time.Millisecond)))
		return time.Now()
	}
	t := time.Now()
	fresh, err := newTokenSecret(ctx, u.Kube, c)
	dropFresh := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if derr := deleteTokenSecret(cctx, u.Kube, c, fresh.Name); derr != nil {
			progress(in.Warn, fmt.Sprintf("warning: could not delete the unproven secret %s/%s: %s", c.Namespace, fresh.Name, derr))
		}
	}
	if err != nil {
		dropFresh() // the create may have happened, its answer lost
		return r, err
	}
	t = step("created secret "+c.Namespace+"/"+fresh.Name, t)
	if err := u.Prober.Check(ctx, c, fresh.Name, grants); err != nil {
		dropFresh()
		return r, err
	}
	r.Created = fresh.Name
	t = step("the new token is filled in and passed the probe", t)
	var gone []secret
	for _, s := range olds {
		if !s.Binding {
			gone, r.Deleted = append(gone, s), append(r.Deleted, s.Name)
		}
	}
	if err := deleteSecrets(ctx, u.Kube, c.Namespace, gone); err != nil {
		return r, err
	}
	t = step(fmt.Sprintf("deleted %d old secret(s) %s", len(r.Deleted), strings.Join(r.Deleted, ", ")), t)
	if err := u.Prober.Rejected(ctx, c.Namespace, old); err != nil {
		return r, err
	}
	step("the Argo Server rejects every old token (401)", t)
	step("rotated", start)
	return r, nil
}
