package identity

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/token"
)

// A client's fetcher is the identity a CI system stores to fetch that
// client's token and nothing else: a ServiceAccount CLIENT-fetcher, a Role
// and RoleBinding of that name, and a token Secret of a fresh name, all
// labelled as the client's and with fetcherLabel (the model). Its Role
// names exactly one object: in the Secret model, get on
// CLIENT-token-current (what --client reads); in the TokenRequest model,
// create on the client's serviceaccounts/token. It never gets what --bind
// needs (create, get and delete on every Secret of the namespace), which
// reaches every ServiceAccount's token.
const fetcherLabel = "argo-cred/fetcher"

// The fetcher models.
const (
	FetchSecret       = "secret"       // get on CLIENT-token-current: env/exec --client
	FetchTokenRequest = "tokenrequest" // create on the client's serviceaccounts/token: --service-account
)

// FetcherName is the name of the client's fetcher's ServiceAccount, Role
// and RoleBinding.
func FetcherName(client string) string { return client + "-fetcher" }

// fetcherRule is the one rule of the client's fetcher's Role.
func fetcherRule(client, model string) map[string]any {
	if model == FetchTokenRequest {
		return map[string]any{"apiGroups": []string{""}, "resources": []string{"serviceaccounts/token"}, "resourceNames": []string{client}, "verbs": []string{"create"}}
	}
	return map[string]any{"apiGroups": []string{""}, "resources": []string{"secrets"}, "resourceNames": []string{CurrentName(client)}, "verbs": []string{"get"}}
}

// fetcherObjects are the fetcher's Role, ServiceAccount and RoleBinding.
func (c Client) fetcherObjects(model string) []Object {
	name := FetcherName(c.Name)
	md := func() map[string]any {
		m := meta(name, c.Namespace, c.Name, nil)
		lbl := maps.Clone(m["labels"].(map[string]string))
		lbl[fetcherLabel] = model
		m["labels"] = lbl
		return m
	}
	return []Object{
		{kube.RoleKind, name, map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": md(), "rules": []map[string]any{fetcherRule(c.Name, model)}}},
		{kube.ServiceAccountKind, name, map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": md()}},
		{kube.RoleBindingKind, name, map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": md(),
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
			"subjects": []map[string]any{{"kind": "ServiceAccount", "name": name, "namespace": c.Namespace}}}},
	}
}

// fetcherSecrets lists the token Secrets of the client's fetcher, oldest first.
func fetcherSecrets(ctx context.Context, k *kube.Client, c Client) ([]secret, error) {
	return list(ctx, k, c.Namespace, selector(c.Name)+","+fetcherLabel, func(typ string, m kube.Meta) bool {
		return tokenSecretOf(typ, m, FetcherName(c.Name))
	})
}

// fetcher applies the client's fetcher (its objects, as Apply does), gives
// it a token Secret of a fresh name when it has none, and writes its
// kubeconfig to out (0600, atomically): the cluster's server and CA as the
// provisioner's kubeconfig has them unless target overrides them, the
// fetcher's token.
func (u Provision) fetcher(ctx context.Context, in ProvisionInput, target fetcherTarget) ([]Change, error) {
	c := in.Client
	changes, err := Apply(ctx, u.Kube, c.Namespace, c.fetcherObjects(in.Fetcher.Model), in.Adopt)
	if err != nil {
		return changes, err
	}
	secrets, err := fetcherSecrets(ctx, u.Kube, c)
	if err != nil {
		return changes, err
	}
	var name string
	if len(secrets) > 0 {
		name = secrets[len(secrets)-1].Name
		changes = append(changes, Change{Kind: "Secret", Name: name, What: "unchanged"})
	} else {
		if name, err = newFetcherSecret(ctx, u.Kube, c, in.Fetcher.Model); err != nil {
			return changes, err
		}
		changes = append(changes, Change{Kind: "Secret", Name: name, What: "created"})
	}
	tok, err := token.FromSecret(ctx, u.Kube.Secrets(c.Namespace), c.Namespace, name, 30*time.Second, nil)
	if err != nil {
		return changes, err
	}
	server, ca := u.Kube.Host, u.Kube.CA
	if target.server != "" {
		server = target.server
	}
	if target.ca != nil {
		ca = target.ca
	}
	data, err := kube.TokenKubeconfig(FetcherName(c.Name), server, ca, c.Namespace, tok.Raw())
	if err == nil {
		err = files.Write(files.File{Path: in.Fetcher.Out, Data: data})
	}
	if err != nil {
		return changes, exitcode.Wrap(exitcode.Unexpected, "check --kubeconfig-out", fmt.Errorf("writing the fetcher's kubeconfig: %w", err))
	}
	return changes, nil
}

// newFetcherSecret creates a token Secret of the client's fetcher, named
// CLIENT-fetcher-token-<10 random characters> (never a name used before: a
// legacy token is a function of ServiceAccount and Secret name).
func newFetcherSecret(ctx context.Context, k *kube.Client, c Client, model string) (string, error) {
	fc := Client{Name: FetcherName(c.Name), Namespace: c.Namespace}
	o := fc.tokenSecret(fc.Name + "-token-" + randomSuffix())
	md := o.Body["metadata"].(map[string]any)
	lbl := labels(c.Name)
	lbl[fetcherLabel] = model
	md["labels"] = lbl
	if _, err := k.Create(ctx, kube.SecretKind, c.Namespace, o.Body); err != nil {
		return o.Name, classify(err)
	}
	return o.Name, nil
}

// randomSuffix is 10 random characters, as Kubernetes' generated names.
func randomSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// purgeFetcher deletes the client's fetcher: its token Secrets, then its
// RoleBinding, Role and ServiceAccount, each only if it carries argo-cred's
// labels for the client and the fetcher label, and only the object read.
// It returns what it deleted, as KIND/NAME.
func purgeFetcher(ctx context.Context, k *kube.Client, c Client) ([]string, error) {
	var deleted []string
	secrets, err := fetcherSecrets(ctx, k, c)
	if err != nil {
		return nil, err
	}
	for _, s := range secrets {
		if err := deleteSecrets(ctx, k, c.Namespace, []secret{s}); err != nil {
			return deleted, err
		}
		deleted = append(deleted, "secret/"+s.Name)
	}
	name := FetcherName(c.Name)
	for _, kind := range purgeKinds {
		obj, found, err := get(ctx, k, kind, c.Namespace, name)
		if err != nil {
			return deleted, err
		}
		if !found || !owned(obj.Metadata, c.Name) || obj.Metadata.Labels[fetcherLabel] == "" {
			continue // not the client's fetcher: left alone
		}
		if err := k.DeleteUID(ctx, kind, c.Namespace, name, obj.Metadata.UID); err != nil {
			return deleted, classify(err)
		}
		deleted = append(deleted, kind.Singular()+"/"+name)
	}
	return deleted, nil
}

// handoff is what provision says to hand to the team, per model.
func handoff(c Client, in ProvisionInput) []string {
	lines := []string{"hand to the team, one of:"}
	check := "" // the job checks what the client was provisioned for
	if len(in.For) > 0 {
		check = " --for " + strings.Join(in.For, ",")
	}
	store := fmt.Sprintf("  store the Argo token itself (simplest; rotation means updating CI): argo-cred env --client %s --namespace %s%s prints it", c.Name, c.Namespace, check)
	switch in.Fetcher.Model {
	case FetchSecret:
		store = fmt.Sprintf("  store the fetcher's kubeconfig %s (rotation without touching CI): the job runs argo-cred exec --kubeconfig FILE --client %s --namespace %s%s -- argo …", in.Fetcher.Out, c.Name, c.Namespace, check)
	case FetchTokenRequest:
		store = fmt.Sprintf("  store the fetcher's kubeconfig %s (short-lived tokens): the job runs argo-cred exec --kubeconfig FILE --source tokenrequest --service-account %s --namespace %s%s -- argo …", in.Fetcher.Out, c.Name, c.Namespace, check)
	}
	lines = append(lines, store)
	if in.Fetcher.Model == "" {
		lines = append(lines, "  or store a fetcher's kubeconfig (rotation without touching CI; short-lived tokens with --fetcher tokenrequest): provision again with --kubeconfig-out FILE")
	}
	return append(lines, "  or store nothing (keyless OIDC, GitHub Actions): argo-cred oidc-config --apply, see docs/identities.md")
}
