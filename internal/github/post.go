package github

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/argo-cred/argo-cred/internal/redact"
)

// Post is the action's post stage: it revokes the job's --bind token, then
// removes the files the main stage wrote. Anything may have set a STATE_
// value, so it uses none that SavedBinding or StateFile does not accept.
type Post struct {
	Runtime *Runtime
	// Binding loads a Kubernetes client with the kubeconfig at path ("":
	// client-go's default) and returns the deletion, with it, of b's
	// Secret: only a Secret that carries argo-cred's binding labels and
	// b's UID. With err set, drop is not called.
	Binding func(kubeconfig string, b Binding) (drop func(context.Context) error, err error)
	// Red redacts the errors it prints.
	Red *redact.Redactor
}

// Do runs the post stage; its messages go to the runtime's stderr.
func (p Post) Do(ctx context.Context) error {
	r := p.Runtime
	var errs []error
	if b, ok, err := r.SavedBinding(); ok {
		errs = append(errs, p.revoke(ctx, b, err))
	}
	for _, name := range []string{"kubeconfig", "ca"} {
		path, err := r.StateFile(name)
		if path == "" {
			errs = append(errs, err)
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(r.stderr, "post: removed the %s file\n", name)
	}
	return errors.Join(errs...)
}

// revoke deletes the per-run Secret of the job's --bind token, with the
// kubeconfig the main stage wrote (still there). saved is SavedBinding's
// error: a binding that is not what the main stage saves.
func (p Post) revoke(ctx context.Context, b Binding, saved error) error {
	fail := func(err error) error {
		return fmt.Errorf("could not revoke the job's token (secret %s/%s): %w", strconv.QuoteToASCII(b.Namespace), strconv.QuoteToASCII(b.Name), err)
	}
	if saved != nil {
		return fail(saved)
	}
	kubeconfig, err := p.Runtime.StateFile("kubeconfig")
	if err != nil {
		return fail(err)
	}
	drop, err := p.Binding(kubeconfig, b)
	if err != nil {
		return fail(err)
	}
	if err := drop(ctx); err != nil {
		fmt.Fprintf(p.Runtime.stderr, "warning: could not delete secret %s/%s, so its token stays valid until it expires: %s\n", b.Namespace, b.Name, p.Red.Text(err.Error()))
		return fail(errors.New("see the warning above"))
	}
	fmt.Fprintf(p.Runtime.stderr, "revoked: deleted secret %s/%s, the token bound to it\n", b.Namespace, b.Name)
	return nil
}
