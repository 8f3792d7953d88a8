// Package identity is argo-cred's per-client identity for the Argo Server:
// the objects (a Role of argoproj.io grants, a ServiceAccount, a
// RoleBinding, token Secrets, the copy of the current token that --client
// reads (CurrentToken) and per-run binding Secrets, all labelled as
// argo-cred's), and the use cases that provision, rotate, revoke and list
// them (Provision, Rotate, Revoke, RevokeBinding, RevokeStale, Clients),
// which check tokens against the Argo Server through a Prober.
package identity

import (
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/kube"
)

// Labels every managed object carries.
const (
	managedBy      = "app.kubernetes.io/managed-by"
	clientLabel    = "argo-cred/client"
	bindingLabel   = "argo-cred/binding"          // on a per-run Secret a bound token dies with
	expiresAt      = "argo-cred/token-expires-at" // annotation: when the bound token expires anyway
	managedByValue = "argo-cred"
)

// Client is one CI client's identity.
type Client struct {
	Name, Namespace string
	Grants          []Grant
}

// ValidName checks a client name: it names every object (a DNS label, short
// enough for the Secret names derived from it).
func ValidName(name string) error {
	if name == "default" {
		return exitcode.New(exitcode.Usage, "choose another name: every pod without serviceAccountName runs as default",
			"invalid --client %q: the namespace's default ServiceAccount is reserved", name)
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 || len(name) > 40 {
		return exitcode.New(exitcode.Usage, "use lower-case letters, digits and '-', at most 40 characters",
			"invalid --client %q: not a Kubernetes name", name)
	}
	if c, ok := strings.CutSuffix(name, FetcherName("")); ok {
		return exitcode.New(exitcode.Usage, "choose a name that does not end in "+FetcherName(""),
			"invalid --client %q: the name of client %s's fetcher (provision --kubeconfig-out)", name, c)
	}
	return nil
}

// ValidExisting checks the name of a client that exists, for revoke: any
// DNS label but default. oidc-config names its Roles and RoleBindings with up
// to 63 characters, more than provision allows.
func ValidExisting(name string) error {
	if name == "default" {
		return ValidName(name)
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return exitcode.New(exitcode.Usage, "use the name argo-cred clients lists", "invalid --client %q: not a Kubernetes name", name)
	}
	return nil
}

func labels(client string) map[string]string {
	return map[string]string{managedBy: managedByValue, clientLabel: client}
}

// owned tells whether an object carries argo-cred's labels for client:
// argo-cred changes and deletes only such objects.
func owned(m kube.Meta, client string) bool {
	return m.Labels[managedBy] == managedByValue && m.Labels[clientLabel] == client
}

// notOurs is the error for an object argo-cred did not make.
func notOurs(kind, ns, name, client, hint string) error {
	return exitcode.New(exitcode.Usage, hint, "%s %s/%s exists and is not argo-cred's (it lacks the labels %s=%s, %s=%s)",
		kind, ns, name, managedBy, managedByValue, clientLabel, client)
}

// selector selects the objects of client ("" for every client).
func selector(client string) string {
	if client == "" {
		return managedBy + "=" + managedByValue
	}
	return managedBy + "=" + managedByValue + "," + clientLabel + "=" + client
}

// classify gives a Kubernetes API error its exit code: a refusal is
// missing access (exit 6) naming the permission, as Kubernetes does.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case apierrors.IsForbidden(err):
		return exitcode.Wrap(exitcode.MissingAccess, "grant the identity that runs argo-cred what `argo-cred provision --print-rbac` prints", err)
	case apierrors.IsUnauthorized(err):
		return exitcode.Wrap(exitcode.Usage, "the Kubernetes API rejected the kubeconfig's credentials: check --kubeconfig and --context", err)
	case apierrors.IsNotFound(err):
		return exitcode.Wrap(exitcode.Usage, "check --namespace", err)
	case apierrors.IsAlreadyExists(err), apierrors.IsConflict(err):
		return exitcode.Wrap(exitcode.Usage, "something else changed it meanwhile: look at it, then run argo-cred again", err)
	}
	return exitcode.Wrap(exitcode.Unexpected, "check --kubeconfig, --context and that the Kubernetes API server is reachable", err)
}

// Target checks what a lifecycle command is given before any request:
// the client's name, when the command needs one (need), and the namespace.
func Target(name, namespace string, need bool) error {
	if need && name == "" {
		return exitcode.New(exitcode.Usage, "give --client NAME", "no client given")
	}
	if need {
		if err := ValidName(name); err != nil {
			return err
		}
	}
	if namespace != "" && len(validation.IsDNS1123Label(namespace)) > 0 {
		return exitcode.New(exitcode.Usage, "use a Kubernetes name", "invalid --namespace %q", namespace)
	}
	return nil
}

// In is the client name in namespace, else in the kubeconfig's.
func In(name, namespace, kubeNamespace string) (Client, error) {
	c := Client{Name: name, Namespace: namespace}
	if c.Namespace == "" {
		c.Namespace = kubeNamespace
	}
	if c.Namespace == "" {
		return c, exitcode.New(exitcode.Usage, "set --namespace", "no namespace: the kubeconfig names none")
	}
	return c, nil
}

// OrPlaceholder is namespace, or NAMESPACE for output to be filled in.
func OrPlaceholder(namespace string) string {
	if namespace == "" {
		return "NAMESPACE"
	}
	return namespace
}

// DryRun is what provision --dry-run prints: the client's objects, for
// namespace ns (a placeholder when empty), once its name is checked.
func DryRun(name, ns string, grants []Grant) (string, error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	return Client{Name: name, Namespace: OrPlaceholder(ns), Grants: grants}.Manifest()
}
