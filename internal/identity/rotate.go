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

// Rotate gives a client a new token Secret, proves its token and makes it
// current (CLIENT-token-current holds it from then on); then it deletes the
// old token Secrets and proves their tokens rejected, or with a grace
// leaves them valid, retiring, until it ends.
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
	// secret ns/ci-token-x2b4c… (12ms)").
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
// new one goes, however Do ends.
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
	_, copyUID, copyFound, err := copyOf(ctx, u.Kube, c) // one that is not argo-cred's stops rotate here
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
	if olds, err = u.again(ctx, in, olds); err != nil {
		return r, err
	}
	old := tokensOf(ctx, u.Kube, c.Namespace, olds)
	st := &steps{say: in.Progress, t: time.Now()}
	fresh, err := makeCurrent(ctx, u.Kube, u.Prober, c, grants, copyUID, copyFound, st.done, in.Warn)
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
	progress(in.Progress, fmt.Sprintf("rotate: rotated (%s): %s", time.Since(start).Round(time.Millisecond), r.summary(c)))
	return r, nil
}

// summary says which Secret is current and until when the old tokens stay valid.
func (r RotateResult) summary(c Client) string {
	s := fmt.Sprintf("secret %s/%s is current (its token in %s)", c.Namespace, r.Created, CurrentName(c.Name))
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

// again deletes, before the new token is made, the tokens still retiring
// from an earlier rotate (rotating again within a grace), so that at most
// one old token stays valid. It says so in one line first, proves the
// tokens rejected, and returns the Secrets left.
func (u Rotate) again(ctx context.Context, in RotateInput, olds []secret) ([]secret, error) {
	gone := retiring(olds)
	if len(gone) == 0 {
		return olds, nil
	}
	c := in.Client
	progress(in.Progress, fmt.Sprintf("rotate: rotating again within a grace, so that at most one old token stays valid: deleting secret %s first and proving its token rejected",
		describe(c.Namespace, gone)))
	if err := finish(ctx, u.Kube, u.Prober, c, gone); err != nil {
		return nil, err
	}
	return without(olds, gone), nil
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
