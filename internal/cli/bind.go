package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/kube"
)

// bindLifetime is a --bind token's lifetime unless --duration says
// otherwise: short, since the token outlives its run only when argo-cred
// and its guard are both killed (a CI machine switched off). TokenRequest
// issues nothing shorter than 10m.
const bindLifetime = 15 * time.Minute

// binding is the per-run Secret a bound token dies with.
type binding struct {
	kc            *kube.Client
	ns, name, uid string
}

// newBinding creates the per-run Secret and returns the reference a
// TokenRequest binds the token to.
func (a *app) newBinding(ctx context.Context, kc *kube.Client, ns, serviceAccount string, lifetime time.Duration) (*authv1.BoundObjectReference, error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	run := time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
	name, uid, err := identity.NewBinding(ctx, kc, ns, serviceAccount, run, time.Now().Add(lifetime))
	if err != nil {
		return nil, err
	}
	a.binding, a.fresh = &binding{kc: kc, ns: ns, name: name, uid: uid}, true
	a.log.Debug("bound the token", "secret", ns+"/"+name)
	return &authv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: name, UID: types.UID(uid)}, nil
}

// dropBinding deletes the per-run Secret, revoking the token bound to it.
func (a *app) dropBinding() {
	if a.binding == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := identity.DeleteBinding(ctx, a.binding.kc, a.binding.ns, a.binding.name, a.binding.uid); err != nil {
		fmt.Fprintf(a.streams.ErrOut, "warning: could not delete secret %s/%s, so its token stays valid until it expires: %v\n", a.binding.ns, a.binding.name, a.red.Text(err.Error()))
		return
	}
	fmt.Fprintf(a.streams.ErrOut, "revoked: deleted secret %s/%s, the token bound to it\n", a.binding.ns, a.binding.name)
	a.binding = nil
}
