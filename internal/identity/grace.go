package identity

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/token"
)

// A rotation with a grace leaves the old token valid, its Secret annotated
// retiring until the grace ends. Nothing runs by itself: the next lifecycle
// command that touches the client after that (provision, rotate, revoke,
// clients), or rotate --finish, deletes the Secret and proves its token
// rejected.

// finish deletes the retiring Secrets (each only if it is still the
// Secret listed) and proves their tokens rejected by the Argo Server.
func finish(ctx context.Context, k *kube.Client, p Prober, c Client, gone []secret) error {
	if len(gone) == 0 {
		return nil
	}
	old := tokensOf(ctx, k, c.Namespace, gone)
	if err := deleteSecrets(ctx, k, c.Namespace, gone); err != nil {
		return err
	}
	return p.Rejected(ctx, c.Namespace, old)
}

// finishOverdue finishes the client's retiring Secrets whose grace ended
// by now, saying so in one line that starts with cmd, and returns the
// Secrets that are left.
func finishOverdue(ctx context.Context, k *kube.Client, p Prober, c Client, secrets []secret, cmd string, say func(string)) ([]secret, error) {
	due := overdue(secrets, time.Now())
	if len(due) == 0 {
		return secrets, nil
	}
	progress(say, fmt.Sprintf("%s: the grace of client %s's old token ended: deleting secret %s and proving its token rejected",
		cmd, c.Name, describe(c.Namespace, due)))
	if err := finish(ctx, k, p, c, due); err != nil {
		return nil, err
	}
	return without(secrets, due), nil
}

// retire marks the old token Secrets retiring until after: their tokens
// stay valid until a lifecycle command finishes them.
func retire(ctx context.Context, k *kube.Client, c Client, olds []secret, after time.Time) error {
	for _, s := range olds {
		if err := markState(ctx, k, c, s, stateRetiring, after); err != nil {
			return err
		}
	}
	return nil
}

// makeCurrent gives the client a new token Secret, proves its token, and
// makes it current: annotated so, and copied to CLIENT-token-current (copy
// says whether that exists, and its UID). A new Secret whose token is not
// proven goes again, however makeCurrent ends (a cancelled context
// included: the clean-up has its own short limit). say gets each step.
func makeCurrent(ctx context.Context, k *kube.Client, p Prober, c Client, grants []Grant, copyUID string, copyFound bool, say, warn func(string)) (secret, error) {
	s, err := newTokenSecret(ctx, k, c)
	drop := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if derr := deleteTokenSecret(cctx, k, c, s.Name); derr != nil {
			progress(warn, fmt.Sprintf("warning: could not delete the unproven secret %s/%s: %s", c.Namespace, s.Name, derr))
		}
	}
	if err != nil {
		if !apierrors.IsAlreadyExists(err) {
			drop() // the create may have happened, its answer lost
		}
		return s, err
	}
	progress(say, "created secret "+c.Namespace+"/"+s.Name)
	if err := p.Check(ctx, c, s.Name, grants); err != nil {
		drop()
		return s, err
	}
	progress(say, "the new token is filled in and passed the probe")
	tok, err := token.FromSecret(ctx, k.Secrets(c.Namespace), c.Namespace, s.Name, 0, nil)
	if err == nil {
		err = markState(ctx, k, c, s, stateCurrent, time.Time{})
	}
	if err != nil {
		drop()
		return s, err
	}
	// Not dropped from here on: a copy whose write lost its answer may hold
	// the new token. Left current but not copied, it is an old token to the
	// next rotate.
	if err := writeCopy(ctx, k, c, s.Name, tok, copyUID, copyFound); err != nil {
		return s, err
	}
	progress(say, "copied its token to secret "+c.Namespace+"/"+CurrentName(c.Name)+": it is current")
	return s, nil
}
