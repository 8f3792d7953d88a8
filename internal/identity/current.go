package identity

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/token"
)

// A client's tokens are in token Secrets of fresh, random names, one per
// provision or rotate: a legacy service-account token is a function of its
// ServiceAccount and its Secret's name alone, so a Secret made again under
// a name used before holds the very token that was revoked with it. Which
// one is current, and until when an old one stays valid, is argo-cred's
// annotation on each. The current token is also in the one Secret of a
// name known in advance, CLIENT-token-current (Opaque, a copy), so that a
// reader's Role can name it in resourceNames: a job that may get just that
// Secret reads the current token whatever rotate did. Deleting a token
// Secret revokes its token, copies included.
const (
	stateKey       = "argo-cred/state"        // on a token Secret: current, or retiring
	retireAfterKey = "argo-cred/retire-after" // a retiring token's end of grace (RFC 3339)
	sourceKey      = "argo-cred/source"       // on CLIENT-token-current: the token Secret it copies
	currentLabel   = "argo-cred/current-token"
	stateCurrent   = "current"
	stateRetiring  = "retiring"
)

// CurrentName is the name of the Secret that holds a copy of the client's
// current token.
func CurrentName(client string) string { return client + "-token-current" }

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

// current is the client's current token Secret: the one CLIENT-token-current
// copies (source), if it is among secrets; else, when there is no copy, the
// newest annotated current. A client from before CLIENT-token-current has
// none.
func current(secrets []secret, source string) (secret, bool) {
	var cur []secret
	for _, s := range secrets {
		if !s.Binding && (s.Name == source || (source == "" && s.State == stateCurrent)) {
			cur = append(cur, s)
		}
	}
	if len(cur) == 0 {
		return secret{}, false
	}
	return slices.MaxFunc(cur, func(a, b secret) int { return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.Name, b.Name)) }), true
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
		}
		out = append(out, d)
	}
	return strings.Join(out, ", ")
}

// copyOf reads CLIENT-token-current: the name of the token Secret it
// copies, "" when there is none, and its UID. One that is not argo-cred's
// copy for the client is an error: argo-cred never writes over it.
func copyOf(ctx context.Context, k *kube.Client, c Client) (source, uid string, found bool, err error) {
	obj, found, err := get(ctx, k, kube.SecretKind, c.Namespace, CurrentName(c.Name))
	if err != nil || !found {
		return "", "", false, err
	}
	if !isCopy(obj.Type, obj.Metadata, c.Name) {
		return "", "", true, exitcode.New(exitcode.Usage, "delete or rename it: argo-cred keeps the client's current token there",
			"secret %s/%s exists and is not argo-cred's copy of client %s's current token", c.Namespace, CurrentName(c.Name), c.Name)
	}
	return obj.Metadata.Annotations[sourceKey], obj.Metadata.UID, true, nil
}

// isCopy tells whether a Secret is argo-cred's copy of client's current token.
func isCopy(typ string, m kube.Meta, client string) bool {
	return typ == bindingType && owned(m, client) && m.Labels[currentLabel] == "true" && m.Labels[bindingLabel] == ""
}

// writeCopy puts tok, the token of the client's token Secret source, into
// CLIENT-token-current: created when there is none, else changed only if it
// is still the Secret read (uid).
func writeCopy(ctx context.Context, k *kube.Client, c Client, source string, tok token.Token, uid string, found bool) error {
	data := map[string]string{corev1.ServiceAccountTokenKey: base64.StdEncoding.EncodeToString([]byte(tok.Raw()))}
	ann := map[string]string{sourceKey: source}
	if found {
		return classify(k.MergePatch(ctx, kube.SecretKind, c.Namespace, CurrentName(c.Name), uid, map[string]any{"metadata": map[string]any{"annotations": ann}, "data": data}))
	}
	lbl := labels(c.Name)
	lbl[currentLabel] = "true"
	_, err := k.Create(ctx, kube.SecretKind, c.Namespace, map[string]any{"apiVersion": "v1", "kind": "Secret", "type": bindingType, "data": data,
		"metadata": map[string]any{"name": CurrentName(c.Name), "namespace": c.Namespace, "labels": lbl, "annotations": ann}})
	return classify(err)
}

// deleteCopy deletes CLIENT-token-current if it is argo-cred's copy for
// the client (one that is not is left alone); it returns whether it did.
func deleteCopy(ctx context.Context, k *kube.Client, c Client) (bool, error) {
	obj, found, err := get(ctx, k, kube.SecretKind, c.Namespace, CurrentName(c.Name))
	if err != nil || !found || !isCopy(obj.Type, obj.Metadata, c.Name) {
		return false, err
	}
	return true, classify(k.DeleteUID(ctx, kube.SecretKind, c.Namespace, CurrentName(c.Name), obj.Metadata.UID))
}

// CurrentToken reads the client's current token from CLIENT-token-current in
// ns by get on that one name (never a list), so an identity that may get
// just that Secret can use it. The Secret must be argo-cred's copy for the
// client, and the token a token of the client's ServiceAccount.
func CurrentToken(ctx context.Context, secrets token.Secrets, ns, client string) (token.Token, error) {
	name := CurrentName(client)
	from := "secret " + ns + "/" + name
	s, err := secrets.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return token.Token{}, exitcode.New(exitcode.TokenUnavailable,
			fmt.Sprintf("check --client and the namespace; a client provisioned before this argo-cred has none: argo-cred rotate --client %s makes it, or use --secret", client),
			"client %s has no current token: no %s", client, from)
	case err != nil:
		return token.Token{}, exitcode.Wrap(exitcode.TokenUnavailable, "check --kubeconfig, --context and the namespace", fmt.Errorf("reading %s: %w", from, err))
	}
	if !isCopy(string(s.Type), kube.Meta{Labels: s.Labels}, client) {
		return token.Token{}, exitcode.New(exitcode.TokenUnavailable, "argo-cred reads only the copy it wrote: check --client and the namespace",
			"%s is not argo-cred's copy of client %s's current token", from, client)
	}
	t, err := token.New(string(s.Data[corev1.ServiceAccountTokenKey]), "client", from)
	if err != nil {
		return token.Token{}, err
	}
	if claims, _ := t.Claims(); claims.Subject != "system:serviceaccount:"+ns+":"+client {
		return token.Token{}, exitcode.New(exitcode.TokenUnavailable, "argo-cred rotate --client "+client+" writes it again",
			"%s holds no token of ServiceAccount %s/%s", from, ns, client)
	}
	return t, nil
}
