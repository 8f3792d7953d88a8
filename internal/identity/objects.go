package identity

import (
	"context"
	"fmt"
	"maps"

	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/redact"
)

// Object is one object to apply.
type Object struct {
	Kind kube.Kind
	Name string
	Body map[string]any
}

// client is the client the object is labelled for.
func (o Object) client() string {
	return o.Body["metadata"].(map[string]any)["labels"].(map[string]string)[clientLabel]
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

// Objects are the client's Role, ServiceAccount and RoleBinding, and a
// token Secret of a name made by the API server (generateName: what
// provision --dry-run prints; provision names it itself).
func (c Client) Objects() []Object {
	var rules []map[string]any
	for _, g := range merge(c.Grants) {
		rules = append(rules, map[string]any{"apiGroups": []string{probe.Group(g.Resource)}, "resources": []string{g.Resource}, "verbs": g.Verbs})
	}
	return []Object{
		{kube.RoleKind, c.Name, map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(c.Name, c.Namespace, c.Name, nil), "rules": rules}},
		{kube.ServiceAccountKind, c.Name, map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(c.Name, c.Namespace, c.Name, nil)}},
		{kube.RoleBindingKind, c.Name, map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(c.Name, c.Namespace, c.Name, nil),
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": c.Name},
			"subjects": []map[string]any{{"kind": "ServiceAccount", "name": c.Name, "namespace": c.Namespace}}}},
		c.tokenSecret(""),
	}
}

// tokenSecret is a token Secret of the client's ServiceAccount named name,
// or with a name the API server makes when name is "".
func (c Client) tokenSecret(name string) Object {
	md := meta(name, c.Namespace, c.Name, map[string]any{"annotations": map[string]string{saNameKey: c.Name}})
	if name == "" {
		delete(md, "name")
		md["generateName"] = c.Name + "-token-"
	}
	return Object{kube.SecretKind, name, map[string]any{"apiVersion": "v1", "kind": "Secret", "type": tokenType, "metadata": md}}
}

// Manifest is the client's objects as YAML documents, each after a "---"
// line: what provision --dry-run prints.
func (c Client) Manifest() (string, error) {
	var out []byte
	for _, obj := range c.Objects() {
		b, err := yaml.Marshal(obj.Body)
		if err != nil {
			return "", fmt.Errorf("writing %s %s as YAML: %w", obj.Kind.Singular(), obj.Name, err)
		}
		out = append(append(out, "---\n"...), b...)
	}
	return string(out), nil
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

// Change says what applying one object did.
type Change struct {
	Kind, Name, What string // What: created, adopted, changed or unchanged
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
		if other := obj.Metadata.Labels[clientLabel]; ok && obj.Metadata.Labels[managedBy] == managedByValue && other != client {
			// Another client's (a client named as this one's fetcher):
			// never taken over, --adopt or not.
			return nil, exitcode.New(exitcode.Usage, "choose another --client: argo-cred never hands one client's objects to another",
				"%s %s/%s belongs to argo-cred client %s", o.Kind.Singular(), ns, o.Name, redact.Clean(other))
		}
		if ok && !owned(obj.Metadata, client) && !adopt {
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
		case !owned(before[i], o.client()):
			what = "adopted"
		case before[i].ResourceVersion != after.ResourceVersion:
			what = "changed"
		}
		out = append(out, Change{Kind: o.Body["kind"].(string), Name: o.Name, What: what})
	}
	return out, nil
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

// purge deletes the client's RoleBinding, Role and ServiceAccount: each only
// if it carries argo-cred's labels for the client, and only the object read.
// It returns the kinds it deleted (rolebinding, role, serviceaccount), in
// that order: a client oidc-config made has no ServiceAccount, one whose
// objects are already gone has none of them. On an error, those deleted
// before it.
func purge(ctx context.Context, k *kube.Client, c Client) ([]string, error) {
	var deleted []string
	for _, kind := range purgeKinds {
		obj, found, err := get(ctx, k, kind, c.Namespace, c.Name)
		if err != nil {
			return deleted, err
		}
		if !found {
			continue
		}
		if !owned(obj.Metadata, c.Name) {
			return deleted, notOurs(kind.Singular(), c.Namespace, c.Name, c.Name, "argo-cred deletes only what it made: delete it yourself if it must go")
		}
		if err := k.DeleteUID(ctx, kind, c.Namespace, c.Name, obj.Metadata.UID); err != nil {
			return deleted, classify(err)
		}
		deleted = append(deleted, kind.Singular())
	}
	return deleted, nil
}

// purgeKinds are the kinds of a client's objects but its Secrets, in the
// order purge deletes them.
var purgeKinds = []kube.Kind{kube.RoleBindingKind, kube.RoleKind, kube.ServiceAccountKind}

// exists tells whether the client's name has a RoleBinding, Role or
// ServiceAccount (argo-cred's or not: what is not argo-cred's, revoke
// --purge refuses by name).
func exists(ctx context.Context, k *kube.Client, c Client) (bool, error) {
	for _, kind := range purgeKinds {
		if _, found, err := get(ctx, k, kind, c.Namespace, c.Name); err != nil || found {
			return found, err
		}
	}
	return false, nil
}

// Names lists the clients in ns that have an object of kind k (a
// ServiceAccount provision made, a Role provision or oidc-config made):
// those labelled as argo-cred's for their own name. client "" lists every
// client, else only that one.
func Names(ctx context.Context, k *kube.Client, kind kube.Kind, ns, client string) ([]string, error) {
	var list struct {
		Items []struct{ Metadata kube.Meta } `json:"items"`
	}
	if err := k.List(ctx, kind, ns, selector(client), &list); err != nil {
		return nil, classify(err)
	}
	var out []string
	for _, it := range list.Items {
		if owned(it.Metadata, it.Metadata.Name) {
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

// subjectsOf reads whom the client's RoleBinding binds: none when it has no
// RoleBinding, or one that is not argo-cred's.
func subjectsOf(ctx context.Context, k *kube.Client, ns, client string) ([]Subject, error) {
	var rb struct {
		Metadata kube.Meta
		Subjects []Subject `json:"subjects"`
	}
	found, err := k.Get(ctx, kube.RoleBindingKind, ns, client, &rb)
	if err != nil || !found || !owned(rb.Metadata, client) {
		return nil, classify(err)
	}
	return rb.Subjects, nil
}

// bindsUser tells whether subjects bind a user (a CI OIDC identity, as
// oidc-config binds), and names the first.
func bindsUser(subjects []Subject) (string, bool) {
	for _, s := range subjects {
		if s.Kind == "User" {
			return s.Name, true
		}
	}
	return "", false
}
