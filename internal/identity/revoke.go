package identity

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/redact"
	"github.com/argo-cred/argo-cred/internal/token"
)

// Revoke deletes a client's token Secrets, with Purge its RoleBinding, Role
// and ServiceAccount too, and proves the tokens rejected.
type Revoke struct {
	Kube   *kube.Client
	Prober Prober
}

// RevokeInput is the client to revoke (Name, Namespace).
type RevokeInput struct {
	Client Client
	Purge  bool
	// Progress gets what was deleted; Note what the caller should know
	// (a client whose jobs bring their own token).
	Progress, Note func(string)
}

// RevokeResult is what Revoke deleted.
type RevokeResult struct {
	Secrets []string // token and per-run Secrets
	Purged  []string // the kinds purged: rolebinding, role, serviceaccount
	Fetcher []string // the fetcher's objects purged, as KIND/NAME
}

// Do revokes. What was deleted is returned also when a later step failed.
func (u Revoke) Do(ctx context.Context, in RevokeInput) (RevokeResult, error) {
	var r RevokeResult
	c := in.Client
	secrets, err := secretsOf(ctx, u.Kube, c.Namespace, c.Name)
	if err != nil {
		return r, err
	}
	if len(secrets) == 0 {
		// Nothing to revoke is a mistake worth saying: a misspelt name, or
		// the wrong namespace, would otherwise look like success.
		found, err := exists(ctx, u.Kube, c)
		if err != nil {
			return r, err
		}
		if !found {
			return r, exitcode.New(exitcode.Usage, fmt.Sprintf("argo-cred clients --namespace %s lists its clients", c.Namespace),
				"client %s does not exist in namespace %s", c.Name, c.Namespace)
		}
	}
	if due := overdue(secrets, time.Now()); len(due) > 0 {
		progress(in.Progress, fmt.Sprintf("revoke: the grace of client %s's old token ended: secret %s goes with the others", c.Name, describe(c.Namespace, due)))
	}
	old := tokensOf(ctx, u.Kube, c.Namespace, secrets)
	// The copy first: from then on --client finds no token.
	copied, err := deleteCopy(ctx, u.Kube, c)
	if err != nil {
		return r, err
	}
	if copied {
		r.Secrets = append(r.Secrets, CurrentName(c.Name))
	}
	if err := deleteSecrets(ctx, u.Kube, c.Namespace, secrets); err != nil {
		return r, err
	}
	for _, s := range secrets {
		r.Secrets = append(r.Secrets, s.Name)
	}
	if len(r.Secrets) > 0 {
		progress(in.Progress, fmt.Sprintf("revoke: deleted %d secret(s) of client %s: %s", len(r.Secrets), c.Name, strings.Join(r.Secrets, ", ")))
	} else {
		progress(in.Progress, fmt.Sprintf("revoke: client %s has no token secret in %s", c.Name, c.Namespace))
	}
	if !in.Purge {
		subjects, err := subjectsOf(ctx, u.Kube, c.Namespace, c.Name)
		if err != nil {
			return r, err
		}
		if user, ok := bindsUser(subjects); ok {
			progress(in.Note, fmt.Sprintf("note: client %s binds the user %q (oidc-config): its jobs bring their own OIDC token; --purge deletes its role and rolebinding, which ends their access",
				c.Name, redact.Clean(user)))
		}
	} else {
		r.Fetcher, err = purgeFetcher(ctx, u.Kube, c)
		if len(r.Fetcher) > 0 {
			progress(in.Progress, fmt.Sprintf("revoke: deleted the fetcher of client %s: %s", c.Name, strings.Join(r.Fetcher, ", ")))
		}
		if err != nil {
			return r, err
		}
		r.Purged, err = purge(ctx, u.Kube, c)
		// What was deleted, even when a later delete failed.
		if len(r.Purged) > 0 {
			progress(in.Progress, fmt.Sprintf("revoke: deleted the %s %s", andList(r.Purged), c.Name))
		}
		if err != nil {
			return r, err
		}
		if len(r.Purged) == 0 {
			progress(in.Progress, fmt.Sprintf("revoke: client %s has no rolebinding, role or serviceaccount in %s", c.Name, c.Namespace))
		}
	}
	return r, u.Prober.Rejected(ctx, c.Namespace, old)
}

// andList joins words as English does: "a", "a and b", "a, b and c".
func andList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// RevokeBinding revokes one bound token by deleting its per-run Secret.
type RevokeBinding struct {
	Kube   *kube.Client
	Prober Prober
}

// RevokeBindingInput names the per-run Secret and, if the caller has it,
// the bound token (Token, from ARGO_TOKEN: HasToken), which Hide is told
// before the Prober proves it rejected.
type RevokeBindingInput struct {
	Namespace, Name string
	Token           string
	HasToken        bool
	Hide            func(string)
	Progress        func(string)
}

// Do deletes the per-run Secret, which must exist and be argo-cred's.
func (u RevokeBinding) Do(ctx context.Context, in RevokeBindingInput) error {
	var sec struct{ Metadata kube.Meta }
	found, err := u.Kube.Get(ctx, kube.SecretKind, in.Namespace, in.Name, &sec)
	if err != nil {
		return err
	}
	if !found {
		return notBinding(in.Namespace, in.Name)
	}
	if err := DeleteBinding(ctx, u.Kube, in.Namespace, in.Name, sec.Metadata.UID); err != nil {
		return err
	}
	progress(in.Progress, fmt.Sprintf("revoke: deleted secret %s/%s", in.Namespace, in.Name))
	if !in.HasToken {
		progress(in.Progress, "note: not proven: give the bound token in ARGO_TOKEN to see the Argo Server reject it")
		return nil
	}
	t, err := token.New(in.Token, "env", "ARGO_TOKEN")
	if err != nil {
		return err
	}
	if in.Hide != nil {
		in.Hide(t.Bearer())
	}
	return u.Prober.Rejected(ctx, in.Namespace, []token.Token{t})
}

// RevokeStale deletes the per-run Secrets of --bind tokens older than an
// age: runs that ended without deleting theirs (argo-cred and its guard
// both killed, a CI machine switched off) left tokens that stay valid
// until they expire.
type RevokeStale struct {
	Kube *kube.Client
}

// RevokeStaleInput is where, and how old a per-run Secret must be to go.
type RevokeStaleInput struct {
	Namespace string
	Age       time.Duration
	Progress  func(string)
}

// Do deletes the stale per-run Secrets of every ServiceAccount in the
// namespace and returns their names.
func (u RevokeStale) Do(ctx context.Context, in RevokeStaleInput) ([]string, error) {
	all, err := bindings(ctx, u.Kube, in.Namespace)
	if err != nil {
		return nil, err
	}
	var stale []secret
	var names []string
	for _, s := range all {
		if time.Since(s.Created) > in.Age {
			stale, names = append(stale, s), append(names, s.Name)
		}
	}
	if err := deleteSecrets(ctx, u.Kube, in.Namespace, stale); err != nil {
		return nil, err
	}
	progress(in.Progress, fmt.Sprintf("revoke: deleted %d per-run secret(s) older than %s in %s, revoking the tokens bound to them: %s",
		len(names), in.Age, in.Namespace, cmp.Or(strings.Join(names, ", "), "-")))
	return names, nil
}
