package credential

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/kube"
)

// BindLifetime is a --bind token's lifetime unless --duration says
// otherwise: short, since the token outlives its run only when argo-cred
// and its guard are both killed (a CI machine switched off). TokenRequest
// issues nothing shorter than 10m.
const BindLifetime = 15 * time.Minute

// Binding is the per-run Secret a bound token dies with.
type Binding struct {
	kc                   *kube.Client
	Namespace, Name, UID string
}

// newBinding creates the per-run Secret a TokenRequest token is bound to.
func newBinding(ctx context.Context, kc *kube.Client, ns, serviceAccount string, lifetime time.Duration) (*Binding, error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	run := time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
	name, uid, err := identity.NewBinding(ctx, kc, ns, serviceAccount, run, time.Now().Add(lifetime))
	if err != nil {
		return nil, err
	}
	return &Binding{kc: kc, Namespace: ns, Name: name, UID: uid}, nil
}

func (b *Binding) ref() *authv1.BoundObjectReference {
	return &authv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: b.Name, UID: types.UID(b.UID)}
}

// Drop deletes the per-run Secret (only the one of that UID), revoking the
// token bound to it, within 10 s whatever ctx says.
func (b *Binding) Drop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return identity.DeleteBinding(ctx, b.kc, b.Namespace, b.Name, b.UID)
}

// BindingOf is the per-run Secret of that name and UID, as a post stage
// or a guard knows it.
func BindingOf(kc *kube.Client, ns, name, uid string) *Binding {
	return &Binding{kc: kc, Namespace: ns, Name: name, UID: uid}
}
