package token

import (
	"context"
	"errors"
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

// maxFileSize bounds a token file; service-account tokens are a few KiB.
const maxFileSize = 64 << 10

// FromFile reads a token from a file, such as a projected service-account
// token in a pod, as FromFileWithin does within DefaultFileTimeout.
func FromFile(path string) (Token, error) {
	return FromFileWithin(context.Background(), path, DefaultFileTimeout)
}

// DefaultFileTimeout bounds FromFile's wait on a FIFO: --timeout's default.
const DefaultFileTimeout = 30 * time.Second

// FromFileWithin reads a token from a file: a regular file (symlinks
// followed, as for a projected token) of at most maxFileSize bytes, or a
// FIFO or pipe, such as a shell's process substitution
// (--token-file <(vault kv get …)), read to its end with the same bound and
// within timeout (the command's --timeout), never blocking past it.
// Devices, sockets and directories are refused without waiting on them.
func FromFileWithin(ctx context.Context, path string, timeout time.Duration) (Token, error) {
	b, err := files.ReadStream(ctx, path, maxFileSize, timeout)
	var te *files.TimeoutError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return Token{}, fmt.Errorf("reading token file %s: %w", path, err)
	case errors.As(err, &te):
		return Token{}, exitcode.New(exitcode.TokenUnavailable,
			"the command writing the FIFO must write the token and end (exit); or raise --timeout",
			"no token from %s within %s: a FIFO %s", path, timeout, te.Writer)
	default:
		hint := hintFor("file")
		if h := files.Hint(err); h != "" {
			hint = h
		}
		return Token{}, exitcode.Wrap(exitcode.TokenUnavailable, hint, fmt.Errorf("reading token file: %w", err))
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
