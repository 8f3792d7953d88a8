package identity

import (
	"context"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/token"
)

// secret is one of a client's token Secrets, or a per-run Secret.
type secret struct {
	Name     string
	Created  time.Time
	LastUsed string // kubernetes.io/legacy-token-last-used
	Invalid  string // kubernetes.io/legacy-token-invalid-since
	Binding  bool   // a per-run Secret a bound token dies with
	UID      string
	Expires  string // a binding's token expiry (expiresAt)
	Client   string // the argo-cred/client label: for a binding, its ServiceAccount
	// State is argo-cred's state of a token Secret (current, retiring or
	// ""); RetireAfter a retiring one's end of grace.
	State       string
	RetireAfter time.Time
}

const (
	tokenType   = "kubernetes.io/service-account-token"
	saNameKey   = "kubernetes.io/service-account.name"
	bindingType = "Opaque"
)

// tokenSecretOf tells whether a Secret is a token Secret of ServiceAccount
// sa: labels can be copied onto anything, the type and annotation cannot
// be changed.
func tokenSecretOf(typ string, m kube.Meta, sa string) bool {
	return typ == tokenType && m.Annotations[saNameKey] == sa
}

// secretsOf lists the client's token Secrets and per-run Secrets, oldest
// first: those with argo-cred's labels that are what they claim to be (a
// token Secret of the client's ServiceAccount, or an Opaque binding).
func secretsOf(ctx context.Context, k *kube.Client, ns, client string) ([]secret, error) {
	return list(ctx, k, ns, selector(client), func(typ string, m kube.Meta) bool {
		return tokenSecretOf(typ, m, client) || (typ == bindingType && m.Labels[bindingLabel] != "")
	})
}

// bindings lists every per-run Secret in ns, of any ServiceAccount, oldest
// first.
func bindings(ctx context.Context, k *kube.Client, ns string) ([]secret, error) {
	return list(ctx, k, ns, selector("")+","+bindingLabel, func(typ string, _ kube.Meta) bool { return typ == bindingType })
}

// list lists the Secrets of ns that selector selects and keep keeps.
func list(ctx context.Context, k *kube.Client, ns, selector string, keep func(typ string, m kube.Meta) bool) ([]secret, error) {
	var list struct {
		Items []struct {
			Metadata kube.Meta
			Type     string `json:"type"`
		} `json:"items"`
	}
	if err := k.List(ctx, kube.SecretKind, ns, selector, &list); err != nil {
		return nil, classify(err)
	}
	var out []secret
	for _, it := range list.Items {
		m := it.Metadata
		if !keep(it.Type, m) {
			continue
		}
		created, _ := time.Parse(time.RFC3339, m.CreationTimestamp)
		state, after := stateOf(m)
		out = append(out, secret{Name: m.Name, Created: created, LastUsed: m.Labels["kubernetes.io/legacy-token-last-used"],
			Invalid: m.Labels["kubernetes.io/legacy-token-invalid-since"], Binding: m.Labels[bindingLabel] != "", UID: m.UID, Expires: rfc3339(m.Annotations[expiresAt]), Client: m.Labels[clientLabel],
			State: state, RetireAfter: after})
	}
	slices.SortFunc(out, func(a, b secret) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// rfc3339 is s if it is an RFC 3339 time, else "".
func rfc3339(s string) string {
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		return ""
	}
	return s
}

// newTokenSecret creates another token Secret for the client, named
// CLIENT-token-<10 random characters>, with no state yet. A fresh name each
// time: a legacy token is a function of its ServiceAccount and Secret name,
// so a name used before would bring back the token revoked with it. The
// name is chosen here, not by the API server (generateName), so that a
// create whose answer is lost (an interrupt, a timeout) still names what
// may have been made: the returned Secret always has its Name, and its UID
// when the create succeeded.
func newTokenSecret(ctx context.Context, k *kube.Client, c Client) (secret, error) {
	o := c.tokenSecret(c.Name + "-token-" + randomSuffix())
	m, err := k.Create(ctx, kube.SecretKind, c.Namespace, o.Body)
	if err != nil {
		return secret{Name: o.Name}, classify(err)
	}
	return secret{Name: m.Name, UID: m.UID}, nil
}

// markState sets argo-cred's state annotation on the client's token
// Secret s, only if it is still the Secret read (its UID), and never
// making it again: a retiring one until retireAfter, a current one without
// an end.
func markState(ctx context.Context, k *kube.Client, c Client, s secret, state string, retireAfter time.Time) error {
	var after *string
	if state == stateRetiring {
		t := retireAfter.UTC().Format(time.RFC3339)
		after = &t
	}
	ann := map[string]*string{stateKey: &state, retireAfterKey: after}
	return classify(k.MergePatch(ctx, kube.SecretKind, c.Namespace, s.Name, s.UID, map[string]any{"metadata": map[string]any{"annotations": ann}}))
}

// deleteTokenSecret deletes the client's token Secret name if it exists and
// is the client's (labels, type, ServiceAccount): what a lost create may
// have left.
func deleteTokenSecret(ctx context.Context, k *kube.Client, c Client, name string) error {
	sec, found, err := get(ctx, k, kube.SecretKind, c.Namespace, name)
	if err != nil || !found {
		return err
	}
	if !owned(sec.Metadata, c.Name) || !tokenSecretOf(sec.Type, sec.Metadata, c.Name) {
		return notOurs("secret", c.Namespace, name, c.Name, "delete it yourself if it must go")
	}
	return classify(k.DeleteUID(ctx, kube.SecretKind, c.Namespace, name, sec.Metadata.UID))
}

// NewBinding creates a per-run Secret, labelled as the client's binding,
// that a token can be bound to (TokenRequest boundObjectRef): deleting it
// revokes the token. It returns the Secret's name and UID.
func NewBinding(ctx context.Context, k *kube.Client, ns, serviceAccount, run string, expires time.Time) (name, uid string, err error) {
	body := map[string]any{"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
		"metadata": map[string]any{"generateName": serviceAccount + "-run-", "namespace": ns,
			"labels":      map[string]string{managedBy: managedByValue, clientLabel: serviceAccount, bindingLabel: run},
			"annotations": map[string]string{expiresAt: expires.UTC().Format(time.RFC3339)}}}
	m, err := k.Create(ctx, kube.SecretKind, ns, body)
	if apierrors.IsForbidden(err) {
		return "", "", exitcode.Wrap(exitcode.MissingAccess, "--bind needs create, get and delete on secrets, which reach every ServiceAccount's token: "+
			"a fetcher's kubeconfig (provision --kubeconfig-out) never has them; drop --bind, its TokenRequest token expires by itself (--duration)", err)
	}
	if err != nil {
		return "", "", classify(err)
	}
	return m.Name, m.UID, nil
}

// deleteSecrets deletes Secrets of ns that argo-cred listed by its labels,
// each only if it is still the object listed (its UID).
func deleteSecrets(ctx context.Context, k *kube.Client, ns string, secrets []secret) error {
	for _, s := range secrets {
		if err := k.DeleteUID(ctx, kube.SecretKind, ns, s.Name, s.UID); err != nil {
			return classify(err)
		}
	}
	return nil
}

// DeleteBinding deletes a per-run Secret a bound token dies with: only a
// Secret that carries argo-cred's binding labels and, when uid is given,
// has that UID. One already gone is not an error.
func DeleteBinding(ctx context.Context, k *kube.Client, ns, name, uid string) error {
	sec, found, err := get(ctx, k, kube.SecretKind, ns, name)
	if err != nil || !found {
		return err
	}
	m := sec.Metadata
	if m.Labels[managedBy] != managedByValue || m.Labels[bindingLabel] == "" || sec.Type != bindingType || (uid != "" && m.UID != uid) {
		return notBinding(ns, name)
	}
	return classify(k.DeleteUID(ctx, kube.SecretKind, ns, name, m.UID))
}

// notBinding is the error for a Secret that is not a per-run Secret of
// argo-cred's.
func notBinding(ns, name string) error {
	return exitcode.New(exitcode.Usage, "give the name argo-cred printed when it bound the token", "secret %s/%s is not a token binding of argo-cred's", ns, name)
}

// tokensOf reads the tokens of the Secrets that have one; a Secret whose
// token cannot be read is left out.
func tokensOf(ctx context.Context, k *kube.Client, ns string, secrets []secret) []token.Token {
	var out []token.Token
	for _, s := range secrets {
		if s.Binding {
			continue
		}
		if t, err := token.FromSecret(ctx, k.Secrets(ns), ns, s.Name, 0, nil); err == nil {
			out = append(out, t)
		}
	}
	return out
}
