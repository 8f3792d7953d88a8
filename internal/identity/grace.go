package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/argo-cred/argo-cred/internal/kube"
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
