package keyless

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/kube"
)

// sameSubject refuses to apply over RoleBinding ns/name when it exists and
// binds anything but exactly user: it would hand that binding, and its
// Role's rules, to another repository's jobs.
func sameSubject(ctx context.Context, kc *kube.Client, ns, name, user string) error {
	type subject struct {
		Kind      string `json:"kind"`
		APIGroup  string `json:"apiGroup"`
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	}
	var rb struct {
		Subjects []subject `json:"subjects"`
	}
	found, err := kc.Get(ctx, kube.RoleBindingKind, ns, name, &rb)
	switch {
	case apierrors.IsForbidden(err):
		return exitcode.Wrap(exitcode.MissingAccess, "the kubeconfig's identity needs get, create and patch on roles and rolebindings in "+ns, err)
	case err != nil:
		return exitcode.Wrap(exitcode.Unexpected, "check --kubeconfig, --context and that the Kubernetes API server is reachable", err)
	}
	want := subject{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: user}
	if !found || (len(rb.Subjects) == 1 && rb.Subjects[0] == want) {
		return nil
	}
	var now []string
	for _, s := range rb.Subjects {
		now = append(now, fmt.Sprintf("%s %q", s.Kind, s.Name))
	}
	bound := "no subject"
	if len(now) > 0 {
		bound = strings.Join(now, ", ")
	}
	return exitcode.New(exitcode.Usage, "it is not this repository's binding: leave it, or delete it (kubectl delete rolebinding -n "+ns+" "+name+") if it is stale",
		"refusing to apply over rolebinding %s/%s: it binds %s, not User %q", ns, name, bound, user)
}
