package complete

import (
	"context"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/redact"
)

// clientListTimeout bounds the Kubernetes requests that complete --client:
// a shell waits for them.
const clientListTimeout = 3 * time.Second

// Cluster is what the flags given so far say of the cluster.
type Cluster struct {
	// Kubeconfig and Context are --kubeconfig and --context; empty:
	// client-go's loading rules (KUBECONFIG, ~/.kube/config) and the
	// current context.
	Kubeconfig, Context string
	// Namespace is --namespace; empty: the kubeconfig's.
	Namespace string
	// LookupEnv reads the environment (os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// UserAgent names argo-cred to the Kubernetes API server.
	UserAgent string
	// Tokens: only clients that have a token (a ServiceAccount, which
	// provision made), for --client of env, exec, probe and docker.
	Tokens bool
}

// Clients completes --client with the clients in the namespace: the names
// of the ServiceAccounts and Roles argo-cred made (with Tokens, of the
// ServiceAccounts only). Without a usable
// kubeconfig, when its user needs a credential plugin, or when the cluster
// does not answer within clientListTimeout, it offers nothing and says
// nothing: completion must not print errors into the command line.
func Clients(ctx context.Context, c Cluster) []string {
	if ctx == nil {
		ctx = context.Background()
	}
	if cred.KubeconfigProblem(c.Kubeconfig, c.LookupEnv) != nil || NeedsPlugin(c.Kubeconfig, c.Context) {
		return nil
	}
	kc, err := kube.Load(c.Kubeconfig, c.Context, c.UserAgent, clientListTimeout)
	if err != nil {
		return nil
	}
	ns := c.Namespace
	if ns == "" {
		ns = kc.Namespace
	}
	if ns == "" || !cred.ValidNamespace(ns) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, clientListTimeout)
	defer cancel()
	var names []string
	kinds := []kube.Kind{kube.ServiceAccountKind, kube.RoleKind}
	if c.Tokens {
		kinds = kinds[:1]
	}
	for _, kind := range kinds {
		found, err := identity.Names(ctx, kc, kind, ns, "")
		if err != nil {
			continue // e.g. a provisioner that may not list roles
		}
		for _, n := range found {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	return names
}

// NeedsPlugin tells whether the user of the kubeconfig's context (the
// current one when context is empty) gets its credential from a plugin
// (exec, auth-provider): it may be slow or ask on the terminal, which
// completion must never wait for.
func NeedsPlugin(kubeconfig, context string) bool {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := rules.Load()
	if err != nil {
		return true
	}
	name := context
	if name == "" {
		name = cfg.CurrentContext
	}
	c, ok := cfg.Contexts[name]
	if !ok {
		return false
	}
	u := cfg.AuthInfos[c.AuthInfo]
	return u != nil && (u.Exec != nil || u.AuthProvider != nil)
}

// Contexts completes --context with the kubeconfig's contexts, offline.
func Contexts(c Cluster) []string {
	if cred.KubeconfigProblem(c.Kubeconfig, c.LookupEnv) != nil {
		return nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = c.Kubeconfig
	cfg, err := rules.Load()
	if err != nil {
		return nil
	}
	var names []string
	for name := range cfg.Contexts {
		if redact.Clean(name) == name && !strings.ContainsAny(name, " \t") {
			names = append(names, name) // one a line, as the shells read them
		}
	}
	slices.Sort(names)
	return names
}
