package identity

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/redact"
)

// Rotate gives a client a new token Secret in the slot that is not
// current, proves its token and makes it current; then it deletes the old
// token Secrets and proves their tokens rejected, or with a grace leaves
// them valid, retiring, until it ends.
type Rotate struct {
	Kube   *kube.Client
	Prober Prober
}

// RotateInput is the client to rotate (Name, Namespace).
type RotateInput struct {
	Client Client
	// Grace keeps the old tokens valid that long after the new one is
	// current (retiring); zero deletes them at once.
	Grace time.Duration
	// Finish creates nothing: it ends a grace now, deleting the retiring
	// Secrets and proving their tokens rejected.
	Finish bool
	// Progress gets each step with the time it took ("rotate: created
	// secret ns/ci-token-b (12ms)").
	Progress func(string)
	// Warn gets what went wrong in a clean-up that does not fail rotate.
	Warn func(string)
}

// RotateResult is what Rotate did.
type RotateResult struct {
	Created     string   // the new token Secret, now current
	Deleted     []string // old token Secrets deleted, their tokens proven rejected
	Retiring    []string // old token Secrets whose tokens stay valid until RetireAfter
	RetireAfter time.Time
}

// steps says each step of rotate with the time it took.
type steps struct {
	say func(string)
	t   time.Time
}

func (s *steps) done(what string) {
	progress(s.say, fmt.Sprintf("rotate: %s (%s)", what, time.Since(s.t).Round(time.Millisecond)))
	s.t = time.Now()
}

// Do rotates. Until the new token is proven, the old Secrets stay and the
// new one goes, however Do ends (a cancelled context included: the
// clean-up does not take it, but has its own short limit).
func (u Rotate) Do(ctx context.Context, in RotateInput) (RotateResult, error) {
	var r RotateResult
	start, c := time.Now(), in.Client
	switch {
	case in.Finish && in.Grace != 0:
		return r, exitcode.New(exitcode.Usage, "give one: --grace starts a grace, --finish ends one", "--grace and --finish both given")
	case in.Grace < 0:
		return r, exitcode.New(exitcode.Usage, "give a positive duration, e.g. 30m", "--grace %s is negative", in.Grace)
	}
	grants, err := u.rotatable(ctx, c)
	if err != nil {
		return r, err
	}
	all, err := secretsOf(ctx, u.Kube, c.Namespace, c.Name)
	if err != nil {
		return r, err
	}
	olds := tokenSecrets(all)
	if in.Finish {
		return u.finishNow(ctx, in, olds, start)
	}
	if olds, err = finishOverdue(ctx, u.Kube, u.Prober, c, olds, "rotate", in.Progress); err != nil {
		return r, err
	}
	slot := nextSlot(c.Name, olds)
	if olds, err = u.freeSlot(ctx, in, olds, slot); err != nil {
		return r, err
	}
	old := tokensOf(ctx, u.Kube, c.Namespace, olds)
	st := &steps{say: in.Progress, t: time.Now()}
	fresh, err := u.fresh(ctx, in, slot, grants, st)
	if err != nil {
		return r, err
	}
	r.Created = fresh.Name
	names := secretNames(olds)
	if in.Grace > 0 {
		r.RetireAfter = time.Now().Add(in.Grace).UTC().Truncate(time.Second)
		if err := retire(ctx, u.Kube, c, olds, r.RetireAfter); err != nil {
			return r, err
		}
		r.Retiring = names
		st.done(fmt.Sprintf("marked %d old secret(s) retiring until %s %s", len(names), r.RetireAfter.Format(time.RFC3339), strings.Join(names, ", ")))
	} else {
		// Retiring as of now first: an old Secret a failed delete leaves
		// is overdue, and the next lifecycle command finishes it.
		if err := retire(ctx, u.Kube, c, olds, time.Now()); err != nil {
			return r, err
		}
		if err := deleteSecrets(ctx, u.Kube, c.Namespace, olds); err != nil {
			return r, err
		}
		r.Deleted = names
		st.done(fmt.Sprintf("deleted %d old secret(s) %s", len(names), strings.Join(names, ", ")))
		if err := u.Prober.Rejected(ctx, c.Namespace, old); err != nil {
			return r, err
		}
		st.done("the Argo Server rejects every old token (401)")
	}
	progress(in.Progress, fmt.Sprintf("rotate: rotated (%s): %s", time.Since(start).Round(time.Millisecond), r.summary(c.Namespace)))
	return r, nil
}

// summary says which Secret is current and until when the old tokens stay valid.
func (r RotateResult) summary(ns string) string {
	s := fmt.Sprintf("secret %s/%s is current", ns, r.Created)
	switch {
	case len(r.Retiring) > 0:
		s += fmt.Sprintf("; the old token (secret %s) stays valid until %s, then the next lifecycle command for the client deletes it (rotate --finish does now)",
			strings.Join(r.Retiring, ", "), r.RetireAfter.Format(time.RFC3339))
	case len(r.Deleted) > 0:
		s += "; the old token is deleted and rejected"
	}
	return s
}

// rotatable reads the grants of a client that has a token to rotate.
func (u Rotate) rotatable(ctx context.Context, c Client) ([]Grant, error) {
	grants, err := grantsOf(ctx, u.Kube, c.Namespace, c.Name)
	if err != nil {
		return nil, err
	}
	if grants == nil {
		return nil, exitcode.New(exitcode.Usage, "provision it first: argo-cred provision --client "+c.Name, "client %s is not provisioned in namespace %s", c.Name, c.Namespace)
	}
	subjects, err := subjectsOf(ctx, u.Kube, c.Namespace, c.Name)
	if err != nil {
		return nil, err
	}
	if user, ok := bindsUser(subjects); ok {
		return nil, exitcode.New(exitcode.Usage, "its jobs bring their own OIDC token: there is no token to rotate (revoke --purge removes its access)",
			"client %s binds the user %q (oidc-config), not a ServiceAccount", c.Name, redact.Clean(user))
	}
	return grants, nil
}

// freeSlot deletes, before the new token is made, what it may not outlive:
// the Secret in the slot it takes (the token still retiring from the last
// rotation, or one a rotate left unfinished) and any other retiring token,
// so that at most one old token stays valid. It says so in one line first,
// proves the tokens rejected, and returns the Secrets left.
func (u Rotate) freeSlot(ctx context.Context, in RotateInput, olds []secret, slot string) ([]secret, error) {
	c := in.Client
	_, found, err := get(ctx, u.Kube, kube.SecretKind, c.Namespace, slot)
	if err != nil {
		return nil, err
	}
	gone := retiring(olds)
	inSlot := false
	for _, s := range olds {
		if s.Name == slot {
			inSlot = true
			if s.State != stateRetiring {
				gone = append(gone, s)
			}
		}
	}
	if found && !inSlot {
		return nil, exitcode.New(exitcode.Usage, "delete or rename it: argo-cred needs the name for the client's next token",
			"secret %s/%s is in the way: it is not a token Secret of argo-cred's for client %s", c.Namespace, slot, c.Name)
	}
	if len(gone) == 0 {
		return olds, nil
	}
	progress(in.Progress, fmt.Sprintf("rotate: the new token takes slot %s and at most one old token stays valid: deleting secret %s first and proving its token rejected",
		slot, describe(c.Namespace, gone)))
	if err := finish(ctx, u.Kube, u.Prober, c, gone); err != nil {
		return nil, err
	}
	return without(olds, gone), nil
}

// fresh creates the new token Secret in slot, proves its token and makes
// it current. A Secret that is not proven and current goes again, however
// fresh ends.
func (u Rotate) fresh(ctx context.Context, in RotateInput, slot string, grants []Grant, st *steps) (secret, error) {
	c := in.Client
	s, err := newTokenSecret(ctx, u.Kube, c, slot)
	drop := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if derr := deleteTokenSecret(cctx, u.Kube, c, s.Name); derr != nil {
			progress(in.Warn, fmt.Sprintf("warning: could not delete the unproven secret %s/%s: %s", c.Namespace, s.Name, derr))
		}
	}
	if err != nil {
		if !apierrors.IsAlreadyExists(err) {
			drop() // the create may have happened, its answer lost
		}
		return s, err
	}
	st.done("created secret " + c.Namespace + "/" + s.Name)
	if err := u.Prober.Check(ctx, c, s.Name, grants); err != nil {
		drop()
		return s, err
	}
	st.done("the new token is filled in and passed the probe")
	if err := markState(ctx, u.Kube, c, s, stateCurrent, time.Time{}); err != nil {
		drop()
		return s, err
	}
	return s, nil
}

// finishNow is rotate --finish: the retiring Secrets go now, even before
// their grace ends, and their tokens are proven rejected.
func (u Rotate) finishNow(ctx context.Context, in RotateInput, olds []secret, start time.Time) (RotateResult, error) {
	var r RotateResult
	c := in.Client
	gone := retiring(olds)
	if len(gone) == 0 {
		progress(in.Progress, fmt.Sprintf("rotate: client %s has no retiring token in %s: nothing to finish", c.Name, c.Namespace))
		return r, nil
	}
	progress(in.Progress, fmt.Sprintf("rotate: finishing the rotation: deleting secret %s and proving its token rejected", describe(c.Namespace, gone)))
	if err := finish(ctx, u.Kube, u.Prober, c, gone); err != nil {
		return r, err
	}
	r.Deleted = secretNames(gone)
	progress(in.Progress, fmt.Sprintf("rotate: finished (%s): only the current token of client %s is valid", time.Since(start).Round(time.Millisecond), c.Name))
	return r, nil
}

// secretNames are the Secrets' names.
func secretNames(secrets []secret) []string {
	var out []string
	for _, s := range secrets {
		out = append(out, s.Name)
	}
	return out
}
