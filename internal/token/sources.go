package token

import (
	"context"
	"fmt"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
)

// ServiceAccounts is what FromTokenRequest needs of one namespace's
// ServiceAccounts; client-go's ServiceAccountInterface and
// kube.ServiceAccounts both have it.
type ServiceAccounts interface {
	CreateToken(ctx context.Context, name string, tr *authv1.TokenRequest, opts metav1.CreateOptions) (*authv1.TokenRequest, error)
}

// FromTokenRequest asks the TokenRequest API for a short-lived token of a
// ServiceAccount (what `kubectl create token` does).
//
// bound, if not nil, binds the token to an object: deleting the object
// revokes the token, whatever its expiry.
func FromTokenRequest(ctx context.Context, c ServiceAccounts, namespace, serviceAccount string, duration time.Duration, audiences []string, bound *authv1.BoundObjectReference) (Token, error) {
	from := "tokenrequest " + namespace + "/" + serviceAccount
	secs := int64(duration / time.Second)
	req := &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &secs, BoundObjectRef: bound}}
	resp, err := c.CreateToken(ctx, serviceAccount, req, metav1.CreateOptions{})
	if err != nil {
		return Token{}, apiError(err, "requesting a token for serviceaccount "+namespace+"/"+serviceAccount, namespace)
	}
	t, err := New(resp.Status.Token, "tokenrequest", from)
	if err != nil {
		return Token{}, err
	}
	if !resp.Status.ExpirationTimestamp.IsZero() {
		t.Expiry = resp.Status.ExpirationTimestamp.UTC()
	}
	return t, nil
}

// MaxFileSize bounds a token file; service-account tokens are a few KiB.
const MaxFileSize = 64 << 10

// FromFile reads a token from a file, such as a projected service-account
// token in a pod: a regular file (symlinks followed) of at most
// MaxFileSize bytes; a FIFO or device is refused without waiting on it.
func FromFile(path string) (Token, error) {
	b, err := files.Read(path, MaxFileSize)
	if err != nil {
		return Token{}, exitcode.Wrap(exitcode.TokenUnavailable, hintFor("file"), fmt.Errorf("reading token file: %w", err))
	}
	return New(string(b), "file", "file "+path)
}

// FromEnv takes the token from ARGO_TOKEN, as the argo CLI would.
func FromEnv(lookup func(string) (string, bool)) (Token, error) {
	v, ok := lookup("ARGO_TOKEN")
	if !ok {
		return Token{}, exitcode.New(exitcode.TokenUnavailable, hintFor("env"), "ARGO_TOKEN is not set")
	}
	return New(v, "env", "ARGO_TOKEN")
}
