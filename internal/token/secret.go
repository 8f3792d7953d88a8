package token

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

// Labels the LegacyServiceAccountTokenCleanUp controller sets (Kubernetes 1.30+).
const (
	labelInvalidSince = "kubernetes.io/legacy-token-invalid-since"
	labelLastUsed     = "kubernetes.io/legacy-token-last-used"
)

// Secrets is what FromSecret needs of one namespace's Secrets; client-go's
// SecretInterface and kube.Secrets both have it.
type Secrets interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Secret, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
}

// FromSecret reads the token of a kubernetes.io/service-account-token Secret.
// When the token controller has not filled it in yet, FromSecret watches the
// Secret for up to wait and returns as soon as the token is written. progress,
// if not nil, is told once that it is waiting.
func FromSecret(ctx context.Context, secrets Secrets, namespace, name string, wait time.Duration, progress func(string)) (Token, error) {
	from := "secret " + namespace + "/" + name
	s, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Token{}, exitcode.Wrap(exitcode.TokenUnavailable,
			"check the name and --secret-namespace (now "+namespace+"); if you just created it, its ServiceAccount may not exist: the token controller deletes such a Secret at once, so create the ServiceAccount first",
			fmt.Errorf("reading %s: %w", from, err))
	}
	if err != nil {
		return Token{}, apiError(err, "reading "+from, namespace)
	}
	if err := checkSecret(s); err != nil {
		hint := `use a Secret of type kubernetes.io/service-account-token annotated with kubernetes.io/service-account.name`
		if s.Type != corev1.SecretTypeServiceAccountToken && len(s.Data[corev1.ServiceAccountTokenKey]) > 0 {
			hint = "this Secret holds a token but is not a service-account token Secret: mount it and pass --token-file, or put the token in ARGO_TOKEN"
		}
		return Token{}, exitcode.Wrap(exitcode.TokenUnavailable, hint, fmt.Errorf("%s: %w", from, err))
	}
	if !filled(s) {
		if progress != nil {
			progress(fmt.Sprintf("waiting up to %s for the token controller to fill %s", wait, from))
		}
		if s, err = waitFilled(ctx, secrets, s, wait); err != nil {
			return Token{}, fmt.Errorf("%s: %w", from, err)
		}
	}
	t, err := New(string(s.Data[corev1.ServiceAccountTokenKey]), "secret", from)
	if err != nil {
		return Token{}, err
	}
	if v := s.Labels[labelInvalidSince]; v != "" {
		used := "never used"
		if u := s.Labels[labelLastUsed]; u != "" {
			used = "last used " + u
		}
		t.Warnings = append(t.Warnings, fmt.Sprintf("warning: %s was invalidated on %s by Kubernetes' legacy token clean-up (%s) and will be deleted; remove the label to keep it, or switch to --source tokenrequest", from, v, used))
	}
	return t, nil
}

func checkSecret(s *corev1.Secret) error {
	if s.Type != corev1.SecretTypeServiceAccountToken {
		return fmt.Errorf("type is %q, not %q", s.Type, corev1.SecretTypeServiceAccountToken)
	}
	if s.Annotations[corev1.ServiceAccountNameKey] == "" {
		return fmt.Errorf("annotation %s is missing", corev1.ServiceAccountNameKey)
	}
	return nil
}

// waitFilled watches s until its token is written, it is deleted, or wait ends.
// Where watching is forbidden it falls back to polling Get.
func waitFilled(parent context.Context, secrets Secrets, s *corev1.Secret, wait time.Duration) (*corev1.Secret, error) {
	ctx, cancel := context.WithTimeout(parent, wait)
	defer cancel()
	notFilled := func() error {
		if parent.Err() != nil {
			return fmt.Errorf("interrupted while waiting for the token: %w", parent.Err())
		}
		return exitcode.New(exitcode.TokenUnavailable,
			fmt.Sprintf("check that ServiceAccount %q exists and that kube-controller-manager's token controller runs, or raise --wait", s.Annotations[corev1.ServiceAccountNameKey]),
			"token not filled in within %s", wait)
	}
	rv := s.ResourceVersion
	for {
		w, err := secrets.Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", s.Name).String(),
			ResourceVersion: rv,
		})
		if apierrors.IsForbidden(err) || apierrors.IsMethodNotSupported(err) {
			return pollFilled(ctx, secrets, s.Namespace, s.Name, notFilled)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, notFilled()
			}
			return nil, apiError(err, "watching", s.Namespace)
		}
		got, done, err := drain(ctx, w, &rv)
		w.Stop()
		if done || err != nil {
			return got, err
		}
		if ctx.Err() != nil {
			return nil, notFilled()
		}
		// The watch ended early (a server timeout, or an error event such as
		// a compacted resource version): read the Secret again and resume
		// from what it says.
		cur, err := reread(ctx, secrets, s.Namespace, s.Name, notFilled)
		if err != nil || filled(cur) {
			return cur, err
		}
		rv = cur.ResourceVersion
	}
}

// drain reads events until the token is filled (done), the Secret is gone
// (err), or the watch ends (neither).
func drain(ctx context.Context, w watch.Interface, rv *string) (*corev1.Secret, bool, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, false, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil, false, nil
			}
			switch ev.Type {
			case watch.Deleted:
				return nil, true, exitcode.New(exitcode.TokenUnavailable,
					"a token Secret whose ServiceAccount does not exist is deleted by the token controller; create the ServiceAccount first",
					"deleted while waiting for its token")
			case watch.Error:
				return nil, false, nil
			}
			s, ok := ev.Object.(*corev1.Secret)
			if !ok {
				continue
			}
			*rv = s.ResourceVersion
			if filled(s) {
				return s, true, nil
			}
		}
	}
}

func pollFilled(ctx context.Context, secrets Secrets, namespace, name string, notFilled func() error) (*corev1.Secret, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, notFilled()
		case <-tick.C:
		}
		s, err := reread(ctx, secrets, namespace, name, notFilled)
		if err != nil || filled(s) {
			return s, err
		}
	}
}

// reread reads the Secret again while waiting; running out of time is
// "not filled", any other failure is classified.
func reread(ctx context.Context, secrets Secrets, namespace, name string, notFilled func() error) (*corev1.Secret, error) {
	s, err := secrets.Get(ctx, name, metav1.GetOptions{})
	switch {
	case err == nil:
		return s, nil
	case ctx.Err() != nil:
		return nil, notFilled()
	}
	return nil, apiError(err, "reading", namespace)
}

// filled reports whether the token controller has written the token.
func filled(s *corev1.Secret) bool { return len(s.Data[corev1.ServiceAccountTokenKey]) > 0 }

// apiError classifies a Kubernetes API error: a missing or forbidden object
// means no token; an unreachable API server is unreachable all the same.
func apiError(err error, doing, namespace string) error {
	err = fmt.Errorf("%s: %w", doing, err)
	switch {
	case apierrors.IsNotFound(err):
		return exitcode.Wrap(exitcode.TokenUnavailable, "check the name and --secret-namespace (now "+namespace+"), or create it", err)
	case apierrors.IsUnauthorized(err):
		return exitcode.Wrap(exitcode.TokenUnavailable, "the Kubernetes API rejected the kubeconfig's credentials: check --kubeconfig and --context", err)
	case apierrors.IsForbidden(err):
		return exitcode.Wrap(exitcode.TokenUnavailable, "the Kubernetes identity in use needs get and watch on secrets (create on serviceaccounts/token for --source tokenrequest) in "+namespace, err)
	case errors.Is(err, context.DeadlineExceeded):
		return exitcode.Wrap(exitcode.TokenUnavailable, "the Kubernetes API did not answer in time", err)
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return exitcode.Wrap(exitcode.TokenUnavailable, "", err)
	}
	return exitcode.Wrap(exitcode.TokenUnavailable, "check --kubeconfig, --context and that the Kubernetes API server is reachable", err)
}
