// Package identity provisions, rotates and revokes per-client identities
// for the Argo Server: a Role with exactly the granted verbs on argoproj.io
// resources, a ServiceAccount, a RoleBinding and token Secrets, all
// labelled as argo-cred's and applied with server-side apply.
package identity

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/kube"
)

// Labels every managed object carries.
const (
	ManagedBy      = "app.kubernetes.io/managed-by"
	ClientLabel    = "argo-cred/client"
	BindingLabel   = "argo-cred/binding"          // on a per-run Secret a bound token dies with
	ExpiresAt      = "argo-cred/token-expires-at" // annotation: when the bound token expires anyway
	managedByValue = "argo-cred"
)

// Resources are the argoproj.io resources a grant may name.
var Resources = []string{"workflows", "workflowtemplates", "cronworkflows", "clusterworkflowtemplates", "workfloweventbindings",
	"workflowtaskresults", "workflowartifactgctasks", "workflowtasksets", "eventsources", "sensors"}

// Verbs are the verbs a grant may list.
var Verbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// Grant is verbs on one resource: "workflows:list,update".
type Grant struct {
	Resource string
	Verbs    []string
}

func (g Grant) String() string { return g.Resource + ":" + strings.Join(g.Verbs, ",") }

// ParseGrant reads RESOURCE:VERB[,VERB…].
func ParseGrant(s string) (Grant, error) {
	bad := func(why string) (Grant, error) {
		return Grant{}, exitcode.New(exitcode.Usage, "write --allow RESOURCE:VERB[,VERB…], e.g. workflows:list,update",
			"invalid --allow %q: %s", s, why)
	}
	res, verbs, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || verbs == "" {
		return bad("missing :VERBS")
	}
	if !slices.Contains(Resources, res) {
		return bad(fmt.Sprintf("unknown resource %q (one of %s)", res, strings.Join(Resources, ", ")))
	}
	g := Grant{Resource: res}
	for _, v := range strings.Split(verbs, ",") {
		v = strings.TrimSpace(v)
		if !slices.Contains(Verbs, v) {
			return bad(fmt.Sprintf("unknown verb %q (one of %s)", v, strings.Join(Verbs, ", ")))
		}
		if !slices.Contains(g.Verbs, v) {
			g.Verbs = append(g.Verbs, v)
		}
	}
	slices.Sort(g.Verbs)
	return g, nil
}

// Merge folds grants on the same resource together, sorted by resource.
func Merge(grants []Grant) []Grant {
	byRes := map[string][]string{}
	for _, g := range grants {
		for _, v := range g.Verbs {
			if !slices.Contains(byRes[g.Resource], v) {
				byRes[g.Resource] = append(byRes[g.Resource], v)
			}
		}
	}
	var out []Grant
	for _, r := range Resources {
		if vs, ok := byRes[r]; ok {
			slices.Sort(vs)
			out = append(out, Grant{Resource: r, Verbs: vs})
		}
	}
	return out
}

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
	return map[string]string{ManagedBy: managedByValue, ClientLabel: client}
}

// Owned tells whether an object carries argo-cred's labels for client:
// argo-cred changes and deletes only such objects.
func Owned(m kube.Meta, client string) bool {
	return m.Labels[ManagedBy] == managedByValue && m.Labels[ClientLabel] == client
}

// notOurs is the error for an object argo-cred did not make.
func notOurs(kind, ns, name, client, hint string) error {
	return exitcode.New(exitcode.Usage, hint, "%s %s/%s exists and is not argo-cred's (it lacks the labels %s=%s, %s=%s)",
		kind, ns, name, ManagedBy, managedByValue, ClientLabel, client)
}

// Selector selects the objects of client ("" for every client).
func Selector(client string) string {
	if client == "" {
		return ManagedBy + "=" + managedByValue
	}
	return ManagedBy + "=" + managedByValue + "," + ClientLabel + "=" + client
}

// Object is one object to apply.
type Object struct {
	Kind kube.Kind
	Name string
	Body map[string]any
}

// client is the client the object is labelled for.
func (o Object) client() string {
	return o.Body["metadata"].(map[string]any)["labels"].(map[string]string)[ClientLabel]
}

// withMeta is the object's body with one more metadata field, such as a
// precondition (resourceVersion, uid) for an apply; the object is unchanged.
func (o Object) withMeta(key, value string) map[string]any {
	body := maps.Clone(o.Body)
	md := maps.Clone(body["metadata"].(map[string]any))
	md[key] = value
	body["metadata"] = md
	return body
}

func meta(name, ns, client string, extra map[string]any) map[string]any {
	m := map[string]any{"name": name, "namespace": ns, "labels": labels(client)}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// Objects are the client's Role, ServiceAccount and RoleBinding, and its
// first token Secret (named after the client).
func (c Client) Objects() []Object {
	var rules []map[string]any
	for _, g := range Merge(c.Grants) {
		rules = append(rules, map[string]any{"apiGroups": []string{"argoproj.io"}, "resources": []string{g.Resource}, "verbs": g.Verbs})
	}
	return []Object{
		{kube.RoleKind, c.Name, map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(c.Name, c.Namespace, c.Name, nil), "rules": rules}},
		{kube.ServiceAccountKind, c.Name, map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(c.Name, c.Namespace, c.Name, nil)}},
		{kube.RoleBindingKind, c.Name, map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(c.Name, c.Namespace, c.Name, nil),
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": c.Name},
			"subjects": []map[string]any{{"kind": "ServiceAccount", "name": c.Name, "namespace": c.Namespace}}}},
		c.tokenSecret(c.Name + "-token"),
	}
}

func (c Client) tokenSecret(name string) Object {
	return Object{kube.SecretKind, name, map[string]any{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
		"metadata": meta(name, c.Namespace, c.Name, map[string]any{"annotations": map[string]string{"kubernetes.io/service-account.name": c.Name}})}}
}

// Change says what applying one object did.
type Change struct {
	Kind, Name, What string // What: created, changed or unchanged
}

// Provision applies the client's objects and says what each apply did.
func Provision(ctx context.Context, k *kube.Client, c Client, adopt bool) ([]Change, error) {
	return Apply(ctx, k, c.Namespace, c.Objects(), adopt)
}

// Secret is one of a client's token Secrets.
type Secret struct {
	Name     string
	Created  time.Time
	LastUsed string // kubernetes.io/legacy-token-last-used
	Invalid  string // kubernetes.io/legacy-token-invalid-since
	Binding  bool   // a per-run Secret a bound token dies with
	UID      string
	Expires  string // a binding's token expiry (ExpiresAt)
	Client   string // the argo-cred/client label: for a binding, its ServiceAccount
}

const (
	tokenType   = "kubernetes.io/service-account-token"
	saNameKey   = "kubernetes.io/service-account.name"
	bindingType = "Opaque"
)

// tokenSecretOf tells whether a Secret is a token Secret of ServiceAccount
// sa: labels can be copied onto anything, the type and annotation cannot
// be changed.
func tokenSecretOf(typ string, m kube.Meta, sa string) bool {
	return typ == tokenType && m.Annotations[saNameKey] == sa
}

// Secrets lists the client's token Secrets and per-run Secrets, oldest
// first: those with argo-cred's labels that are what they claim to be (a
// token Secret of the client's ServiceAccount, or an Opaque binding).
func Secrets(ctx context.Context, k *kube.Client, ns, client string) ([]Secret, error) {
	return secrets(ctx, k, ns, Selector(client), func(typ string, m kube.Meta) bool {
		return tokenSecretOf(typ, m, client) || (typ == bindingType && m.Labels[BindingLabel] != "")
	})
}

// Bindings lists every per-run Secret in ns, of any ServiceAccount, oldest
// first.
func Bindings(ctx context.Context, k *kube.Client, ns string) ([]Secret, error) {
	return secrets(ctx, k, ns, Selector("")+","+BindingLabel, func(typ string, _ kube.Meta) bool { return typ == bindingType })
}

func secrets(ctx context.Context, k *kube.Client, ns, selector string, keep func(typ string, m kube.Meta) bool) ([]Secret, error) {
	var list struct {
		Items []struct {
			Metadata kube.Meta
			Type     string `json:"type"`
		} `json:"items"`
	}
	if err := k.List(ctx, kube.SecretKind, ns, selector, &list); err != nil {
		return nil, classify(err)
	}
	var out []Secret
	for _, it := range list.Items {
		m := it.Metadata
		if !keep(it.Type, m) {
			continue
		}
		created, _ := time.Parse(time.RFC3339, m.CreationTimestamp)
		out = append(out, Secret{Name: m.Name, Created: created, LastUsed: m.Labels["kubernetes.io/legacy-token-last-used"],
			Invalid: m.Labels["kubernetes.io/legacy-token-invalid-since"], Binding: m.Labels[BindingLabel] != "", UID: m.UID, Expires: rfc3339(m.Annotations[ExpiresAt]), Client: m.Labels[ClientLabel]})
	}
	slices.SortFunc(out, func(a, b Secret) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// rfc3339 is s if it is an RFC 3339 time, else "".
func rfc3339(s string) string {
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		return ""
	}
	return s
}

// NewTokenSecret creates another token Secret for the client, named
// CLIENT-token-<5 random characters>. The name is chosen here, not by the
// API server (generateName), so that a create whose answer is lost (an
// interrupt, a timeout) still names what may have been made: the returned
// Secret always has its Name, and its UID when the create succeeded.
func NewTokenSecret(ctx context.Context, k *kube.Client, c Client) (Secret, error) {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789" // as Kubernetes' generated names
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	o := c.tokenSecret(c.Name + "-token-" + string(b))
	m, err := k.Create(ctx, kube.SecretKind, c.Namespace, o.Body)
	if err != nil {
		return Secret{Name: o.Name}, classify(err)
	}
	return Secret{Name: m.Name, UID: m.UID}, nil
}

// object is what argo-cred reads of an object it may change: metadata,
// and a Secret's type.
type object struct {
	Metadata kube.Meta
	Type     string `json:"type"`
}

// get reads an object; found is false when it does not exist.
func get(ctx context.Context, k *kube.Client, kind kube.Kind, ns, name string) (obj object, found bool, err error) {
	found, err = k.Get(ctx, kind, ns, name, &obj)
	return obj, found, classify(err)
}

// DeleteTokenSecret deletes the client's token Secret name if it exists and
// is the client's (labels, type, ServiceAccount): what a lost create may
// have left.
func DeleteTokenSecret(ctx context.Context, k *kube.Client, c Client, name string) error {
	sec, found, err := get(ctx, k, kube.SecretKind, c.Namespace, name)
	if err != nil || !found {
		return err
	}
	if !Owned(sec.Metadata, c.Name) || !tokenSecretOf(sec.Type, sec.Metadata, c.Name) {
		return notOurs("secret", c.Namespace, name, c.Name, "delete it yourself if it must go")
	}
	return classify(k.DeleteUID(ctx, kube.SecretKind, c.Namespace, name, sec.Metadata.UID))
}

// NewBinding creates a per-run Secret, labelled as the client's binding,
// that a token can be bound to (TokenRequest boundObjectRef): deleting it
// revokes the token. It returns the Secret's name and UID.
func NewBinding(ctx context.Context, k *kube.Client, ns, serviceAccount, run string, expires time.Time) (name, uid string, err error) {
	body := map[string]any{"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
		"metadata": map[string]any{"generateName": serviceAccount + "-run-", "namespace": ns,
			"labels":      map[string]string{ManagedBy: managedByValue, ClientLabel: serviceAccount, BindingLabel: run},
			"annotations": map[string]string{ExpiresAt: expires.UTC().Format(time.RFC3339)}}}
	m, err := k.Create(ctx, kube.SecretKind, ns, body)
	if err != nil {
		return "", "", classify(err)
	}
	return m.Name, m.UID, nil
}

// DeleteSecrets deletes Secrets of ns that argo-cred listed by its labels,
// each only if it is still the object listed (its UID).
func DeleteSecrets(ctx context.Context, k *kube.Client, ns string, secrets []Secret) error {
	for _, s := range secrets {
		if err := k.DeleteUID(ctx, kube.SecretKind, ns, s.Name, s.UID); err != nil {
			return classify(err)
		}
	}
	return nil
}

// DeleteBinding deletes a per-run Secret a bound token dies with: only a
// Secret that carries argo-cred's binding labels and, when uid is given,
// has that UID. One already gone is not an error.
func DeleteBinding(ctx context.Context, k *kube.Client, ns, name, uid string) error {
	sec, found, err := get(ctx, k, kube.SecretKind, ns, name)
	if err != nil || !found {
		return err
	}
	m := sec.Metadata
	if m.Labels[ManagedBy] != managedByValue || m.Labels[BindingLabel] == "" || sec.Type != bindingType || (uid != "" && m.UID != uid) {
		return exitcode.New(exitcode.Usage, "give the name argo-cred printed when it bound the token", "secret %s/%s is not a token binding of argo-cred's", ns, name)
	}
	return classify(k.DeleteUID(ctx, kube.SecretKind, ns, name, m.UID))
}

// Purge deletes the client's RoleBinding, Role and ServiceAccount: each only
// if it carries argo-cred's labels for the client, and only the object read.
// It returns the kinds it deleted (rolebinding, role, serviceaccount), in
// that order: a client oidc-config made has no ServiceAccount, one whose
// objects are already gone has none of them. On an error, those deleted
// before it.
func Purge(ctx context.Context, k *kube.Client, c Client) ([]string, error) {
	var deleted []string
	for _, kind := range []kube.Kind{kube.RoleBindingKind, kube.RoleKind, kube.ServiceAccountKind} {
		obj, found, err := get(ctx, k, kind, c.Namespace, c.Name)
		if err != nil {
			return deleted, err
		}
		if !found {
			continue
		}
		if !Owned(obj.Metadata, c.Name) {
			return deleted, notOurs(kind.Singular(), c.Namespace, c.Name, c.Name, "argo-cred deletes only what it made: delete it yourself if it must go")
		}
		if err := k.DeleteUID(ctx, kind, c.Namespace, c.Name, obj.Metadata.UID); err != nil {
			return deleted, classify(err)
		}
		deleted = append(deleted, kind.Singular())
	}
	return deleted, nil
}

// Names lists the clients in ns that have an object of kind k (a
// ServiceAccount provision made, a Role provision or oidc-config made):
// those labelled as argo-cred's for their own name. client "" lists every
// client, else only that one.
func Names(ctx context.Context, k *kube.Client, kind kube.Kind, ns, client string) ([]string, error) {
	var list struct {
		Items []struct{ Metadata kube.Meta } `json:"items"`
	}
	if err := k.List(ctx, kind, ns, Selector(client), &list); err != nil {
		return nil, classify(err)
	}
	var out []string
	for _, it := range list.Items {
		if Owned(it.Metadata, it.Metadata.Name) {
			out = append(out, it.Metadata.Name)
		}
	}
	return out, nil
}

// Subject is whom a client's RoleBinding binds: the client's ServiceAccount
// (provision) or a CI job's OIDC user (oidc-config).
type Subject struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// Subjects reads whom the client's RoleBinding binds: none when it has no
// RoleBinding, or one that is not argo-cred's.
func Subjects(ctx context.Context, k *kube.Client, ns, client string) ([]Subject, error) {
	var rb struct {
		Metadata kube.Meta
		Subjects []Subject `json:"subjects"`
	}
	found, err := k.Get(ctx, kube.RoleBindingKind, ns, client, &rb)
	if err != nil || !found || !Owned(rb.Metadata, client) {
		return nil, classify(err)
	}
	return rb.Subjects, nil
}

// BindsUser tells whether subjects bind a user (a CI OIDC identity, as
// oidc-config binds), and names the first.
func BindsUser(subjects []Subject) (string, bool) {
	for _, s := range subjects {
		if s.Kind == "User" {
			return s.Name, true
		}
	}
	return "", false
}

// Grants reads the client's Role back as grants: only the resources and
// verbs a grant may name (anything else in the Role is not argo-cred's).
func Grants(ctx context.Context, k *kube.Client, ns, client string) ([]Grant, error) {
	var role struct {
		Rules []struct {
			Resources []string `json:"resources"`
			Verbs     []string `json:"verbs"`
		} `json:"rules"`
	}
	found, err := k.Get(ctx, kube.RoleKind, ns, client, &role)
	if err != nil || !found {
		return nil, classify(err)
	}
	var out []Grant
	for _, r := range role.Rules {
		verbs := slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return !slices.Contains(Verbs, v) })
		for _, res := range r.Resources {
			if slices.Contains(Resources, res) && len(verbs) > 0 {
				out = append(out, Grant{Resource: res, Verbs: verbs})
			}
		}
	}
	return Merge(out), nil
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

// UserObjects are a Role with the grants and a RoleBinding of it to a
// user (a CI OIDC identity as the cluster maps it), named name.
func UserObjects(name, ns, user string, grants []Grant) []Object {
	c := Client{Name: name, Namespace: ns, Grants: grants}
	objs := c.Objects()
	role, binding := objs[0], objs[2]
	binding.Body["subjects"] = []map[string]any{{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": user}}
	return []Object{role, binding}
}

// Apply applies objects and says what each apply did, as Provision does.
// An object that exists without argo-cred's labels for its client is
// refused, before anything is applied, unless adopt: then it is taken over
// (its labels, and the fields argo-cred sets, become argo-cred's). Each
// apply of an existing object is conditional on the version read.
func Apply(ctx context.Context, k *kube.Client, ns string, objs []Object, adopt bool) ([]Change, error) {
	before := make([]kube.Meta, len(objs))
	found := make([]bool, len(objs))
	for i, o := range objs {
		obj, ok, err := get(ctx, k, o.Kind, ns, o.Name)
		if err != nil {
			return nil, err
		}
		client := o.client()
		if ok && !Owned(obj.Metadata, client) && !adopt {
			return nil, notOurs(o.Kind.Singular(), ns, o.Name, client,
				"choose another --client, or give --adopt to take it over (argo-cred's labels, and its rules, subjects or annotations, replace what it has)")
		}
		if ok && o.Kind == kube.SecretKind && !tokenSecretOf(obj.Type, obj.Metadata, client) {
			// Whatever its labels: it holds (or may hold) another account's token.
			return nil, exitcode.New(exitcode.Usage, "delete it, or choose another --client",
				"secret %s/%s exists and is not a token Secret of ServiceAccount %s (type %s, for %q): argo-cred never takes it over",
				ns, o.Name, client, obj.Type, obj.Metadata.Annotations[saNameKey])
		}
		before[i], found[i] = obj.Metadata, ok
	}
	var out []Change
	for i, o := range objs {
		var after kube.Meta
		var err error
		if found[i] {
			after, err = k.Apply(ctx, o.Kind, ns, o.Name, o.withMeta("resourceVersion", before[i].ResourceVersion))
		} else {
			// Created, not applied: an object made meanwhile by someone
			// else is a conflict, never taken over. Then applied once,
			// conditional on being that object (its UID: a token Secret's
			// version moves as the token controller fills it), so that the
			// fields are the apply's and applying again changes nothing.
			var made kube.Meta
			if made, err = k.Create(ctx, o.Kind, ns, o.Body); err == nil {
				after, err = k.Apply(ctx, o.Kind, ns, o.Name, o.withMeta("uid", made.UID))
			}
		}
		if err != nil {
			return out, classify(err)
		}
		what := "unchanged"
		switch {
		case !found[i]:
			what = "created"
		case !Owned(before[i], o.client()):
			what = "adopted"
		case before[i].ResourceVersion != after.ResourceVersion:
			what = "changed"
		}
		out = append(out, Change{Kind: o.Body["kind"].(string), Name: o.Name, What: what})
	}
	return out, nil
}
