package identity

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/token"
)

// A client's token Secrets have two names known in advance, its slots
// CLIENT-token-a and CLIENT-token-b, which rotate alternates; so a reader's
// Role can name them in resourceNames. Which one is current is argo-cred's
// annotation on the Secret: a reader that may only get those two names can
// tell.
const (
	stateKey       = "argo-cred/state"        // current, or retiring
	retireAfterKey = "argo-cred/retire-after" // a retiring token's end of grace (RFC 3339)
	stateCurrent   = "current"
	stateRetiring  = "retiring"
)

// Slots are the names of the client's two token Secrets.
func Slots(client string) [2]string {
	return [2]string{client + "-token-a", client + "-token-b"}
}

// isSlot tells whether name is one of the client's slots.
func isSlot(client, name string) bool {
	slots := Slots(client)
	return slices.Contains(slots[:], name)
}

// stateOf reads argo-cred's annotations: the state, if it is one argo-cred
// writes, and a retiring token's end of grace (zero when missing or not a
// time: such a grace counts as ended).
func stateOf(m kube.Meta) (string, time.Time) {
	state := m.Annotations[stateKey]
	if state != stateCurrent && state != stateRetiring {
		return "", time.Time{}
	}
	after, _ := time.Parse(time.RFC3339, m.Annotations[retireAfterKey])
	return state, after
}

// current is the client's current token Secret: of the slots annotated
// current, the newest (two are, for a moment, while rotate moves on).
func current(client string, secrets []secret) (secret, bool) {
	var cur []secret
	for _, s := range secrets {
		if !s.Binding && isSlot(client, s.Name) && s.State == stateCurrent {
			cur = append(cur, s)
		}
	}
	if len(cur) == 0 {
		return secret{}, false
	}
	return slices.MaxFunc(cur, func(a, b secret) int { return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.Name, b.Name)) }), true
}

// nextSlot is the slot rotate puts the new token in: the one that is not
// current (slot a when none is).
func nextSlot(client string, secrets []secret) string {
	slots := Slots(client)
	if cur, ok := current(client, secrets); ok && cur.Name == slots[0] {
		return slots[1]
	}
	return slots[0]
}

// overdue are the retiring Secrets whose grace ended by now.
func overdue(secrets []secret, now time.Time) []secret {
	return slices.DeleteFunc(slices.Clone(secrets), func(s secret) bool { return s.State != stateRetiring || now.Before(s.RetireAfter) })
}

// retiring are the Secrets whose tokens stay valid until their grace ends.
func retiring(secrets []secret) []secret {
	return slices.DeleteFunc(slices.Clone(secrets), func(s secret) bool { return s.State != stateRetiring })
}

// without is secrets but those named in gone.
func without(secrets, gone []secret) []secret {
	return slices.DeleteFunc(slices.Clone(secrets), func(s secret) bool {
		return slices.ContainsFunc(gone, func(g secret) bool { return g.Name == s.Name })
	})
}

// tokenSecrets are the client's token Secrets of secrets: not the per-run ones.
func tokenSecrets(secrets []secret) []secret {
	return slices.DeleteFunc(slices.Clone(secrets), func(s secret) bool { return s.Binding })
}

// describe names Secrets for a progress line: ns/name, and a retiring
// one's end of grace.
func describe(ns string, secrets []secret) string {
	var out []string
	for _, s := range secrets {
		d := ns + "/" + s.Name
		switch {
		case s.State == stateRetiring && !s.RetireAfter.IsZero():
			d += " (retiring until " + s.RetireAfter.UTC().Format(time.RFC3339) + ")"
		case s.State == stateRetiring:
			d += " (retiring)"
		case s.State == "" && isSlot(s.Client, s.Name):
			d += " (not current: left by a rotate that did not finish)"
		}
		out = append(out, d)
	}
	return strings.Join(out, ", ")
}

// CurrentSlot names the client's current token Secret in ns. It reads only
// the two slots, each by get (never a list), so an identity that may get
// and watch just those two names can use it; a Secret of a slot's name
// that is not the client's (argo-cred's labels, a token Secret of its
// ServiceAccount) is passed over.
func CurrentSlot(ctx context.Context, secrets token.Secrets, ns, client string) (string, error) {
	var found []secret
	slots := Slots(client)
	for _, name := range slots {
		s, err := secrets.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return "", exitcode.Wrap(exitcode.TokenUnavailable, "check --kubeconfig, --context and the namespace", fmt.Errorf("reading secret %s/%s: %w", ns, name, err))
		}
		m := kube.Meta{Labels: s.Labels, Annotations: s.Annotations}
		if !owned(m, client) || !tokenSecretOf(string(s.Type), m, client) {
			continue
		}
		state, after := stateOf(m)
		found = append(found, secret{Name: name, Created: s.CreationTimestamp.Time, State: state, RetireAfter: after, Client: client})
	}
	if cur, ok := current(client, found); ok {
		return cur.Name, nil
	}
	if len(found) == 0 {
		return "", exitcode.New(exitcode.TokenUnavailable,
			fmt.Sprintf("check --client and the namespace; a client provisioned before slots has random names: argo-cred rotate --client %s moves it to slots, or use --secret", client),
			"client %s has no token secret %s or %s of argo-cred's in namespace %s", client, slots[0], slots[1], ns)
	}
	return "", exitcode.New(exitcode.TokenUnavailable, fmt.Sprintf("argo-cred rotate --client %s gives it one", client),
		"client %s has no current token in namespace %s: %s", client, ns, describe(ns, found))
}
