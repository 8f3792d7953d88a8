package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
)

// fieldManager is argo-cred's name in server-side apply.
const fieldManager = "argo-cred"

// Kind names a resource of the Kubernetes API.
type Kind struct{ Group, Version, Resource string }

// The kinds argo-cred manages.
var (
	ServiceAccountKind = Kind{"", "v1", "serviceaccounts"}
	SecretKind         = Kind{"", "v1", "secrets"}
	RoleKind           = Kind{"rbac.authorization.k8s.io", "v1", "roles"}
	RoleBindingKind    = Kind{"rbac.authorization.k8s.io", "v1", "rolebindings"}
)

func (k Kind) path(ns, name string) string {
	p := "/api/" + k.Version
	if k.Group != "" {
		p = "/apis/" + k.Group + "/" + k.Version
	}
	p += "/namespaces/" + ns + "/" + k.Resource
	if name != "" {
		p += "/" + name
	}
	return p
}

// Meta is what argo-cred reads of an object's metadata.
type Meta struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace"`
	UID               string            `json:"uid"`
	ResourceVersion   string            `json:"resourceVersion"`
	CreationTimestamp string            `json:"creationTimestamp"`
	Labels            map[string]string `json:"labels"`
	Annotations       map[string]string `json:"annotations"`
}

// Apply applies obj (JSON-encodable, with apiVersion, kind and metadata)
// with server-side apply as fieldManager, taking over conflicting fields,
// and returns the object's metadata afterwards. An apply that changes
// nothing leaves the resourceVersion as it was.
func (c *Client) Apply(ctx context.Context, k Kind, ns, name string, obj any) (Meta, error) {
	body, err := json.Marshal(obj)
	if err != nil {
		return Meta{}, err
	}
	raw, err := c.rc.Patch(types.ApplyPatchType).AbsPath(k.path(ns, name)).
		Param("fieldManager", fieldManager).Param("force", "true").Body(body).Do(ctx).Raw()
	err = withMessage(raw, err)
	if err != nil {
		return Meta{}, fmt.Errorf("applying %s %s/%s: %w", k.Singular(), ns, name, err)
	}
	return metaOf(raw)
}

// Get returns an object's metadata; found is false when it does not exist.
func (c *Client) Get(ctx context.Context, k Kind, ns, name string, into any) (found bool, err error) {
	raw, err := c.rc.Get().AbsPath(k.path(ns, name)).Do(ctx).Raw()
	err = withMessage(raw, err)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading %s %s/%s: %w", k.Singular(), ns, name, err)
	}
	if into != nil {
		if err := json.Unmarshal(raw, into); err != nil {
			return true, err
		}
	}
	return true, nil
}

// List lists the objects of kind k in ns that match selector (labels) into
// a value of the shape {"items": [...]}.
func (c *Client) List(ctx context.Context, k Kind, ns, selector string, into any) error {
	raw, err := c.rc.Get().AbsPath(k.path(ns, "")).Param("labelSelector", selector).Do(ctx).Raw()
	err = withMessage(raw, err)
	if err != nil {
		return fmt.Errorf("listing %s in %s: %w", k.Resource, ns, err)
	}
	return json.Unmarshal(raw, into)
}

// DeleteUID deletes an object only if its UID is uid (a precondition the
// API server checks): an object deleted and made again under the same name
// in between is left alone. One that is already gone is not an error.
func (c *Client) DeleteUID(ctx context.Context, k Kind, ns, name, uid string) error {
	body, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": map[string]string{"uid": uid}})
	raw, err := c.rc.Delete().AbsPath(k.path(ns, name)).SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Raw()
	if err = withMessage(raw, err); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s %s/%s: %w", k.Singular(), ns, name, err)
	}
	return nil
}

// MergePatch changes an object that exists and has the UID uid with a
// JSON merge patch (a nil value removes a field): unlike an apply, it never
// creates the object, and the UID holds it to the object read (one made
// again under the same name is refused: a UID cannot change).
func (c *Client) MergePatch(ctx context.Context, k Kind, ns, name, uid string, patch map[string]any) error {
	md, _ := patch["metadata"].(map[string]any)
	md = maps.Clone(md)
	if md == nil {
		md = map[string]any{}
	}
	md["uid"] = uid
	patch = maps.Clone(patch)
	patch["metadata"] = md
	body, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	raw, err := c.rc.Patch(types.MergePatchType).AbsPath(k.path(ns, name)).Param("fieldManager", fieldManager).Body(body).Do(ctx).Raw()
	if err = withMessage(raw, err); err != nil {
		return fmt.Errorf("changing %s %s/%s: %w", k.Singular(), ns, name, err)
	}
	return nil
}

// Create creates obj and returns its metadata.
func (c *Client) Create(ctx context.Context, k Kind, ns string, obj any) (Meta, error) {
	body, err := json.Marshal(obj)
	if err != nil {
		return Meta{}, err
	}
	raw, err := c.rc.Post().AbsPath(k.path(ns, "")).Param("fieldManager", fieldManager).SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Raw()
	err = withMessage(raw, err)
	if err != nil {
		return Meta{}, fmt.Errorf("creating a %s in %s: %w", k.Singular(), ns, err)
	}
	return metaOf(raw)
}

// withMessage puts the message of the Status the API server answered
// (e.g. which verb RBAC refused) into err, whose class stays.
func withMessage(raw []byte, err error) error {
	if err == nil {
		return nil
	}
	var st struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &st) == nil && st.Message != "" && !strings.Contains(err.Error(), st.Message) {
		return &statusError{msg: st.Message, err: err}
	}
	return err
}

type statusError struct {
	msg string
	err error
}

func (e *statusError) Error() string { return e.msg }
func (e *statusError) Unwrap() error { return e.err }

func metaOf(raw []byte) (Meta, error) {
	var o struct {
		Metadata Meta `json:"metadata"`
	}
	err := json.Unmarshal(raw, &o)
	return o.Metadata, err
}

// Singular is the kind's name in messages: "secret", "rolebinding".
func (k Kind) Singular() string {
	return strings.TrimSuffix(k.Resource, "s")
}
