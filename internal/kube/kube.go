// Package kube is the small Kubernetes client argo-cred needs: Secrets (get,
// watch), ServiceAccount tokens (TokenRequest), the RBAC and Secret objects
// of a client (create, server-side apply, delete with a UID precondition)
// and SelfSubjectReview, over client-go's REST client with a scheme of only
// those types. client-go's typed clientset
// would register every API group at start-up, which the exec path pays for
// on every run.
package kube

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/go-logr/logr"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
)

var (
	scheme = runtime.NewScheme()
	codecs = serializer.NewCodecFactory(scheme)
)

func init() {
	// client-go logs through klog to stderr: the API server's Warning
	// headers and errors reading its answers, as sent (a token it echoes,
	// a runner command). argo-cred says what failed itself, cleaned.
	klog.SetLogger(logr.Discard())
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, authv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	metav1.AddToGroupVersion(scheme, corev1.SchemeGroupVersion)
}

// Client reads Secrets and requests ServiceAccount tokens.
type Client struct {
	rc        rest.Interface
	cfg       *rest.Config
	Host      string
	Namespace string // the kubeconfig's namespace, or the pod's in-cluster
	// CA is the cluster's CA bundle as the kubeconfig gives it (PEM), if any.
	CA []byte
}

// Load follows client-go's loading rules: explicit path, KUBECONFIG,
// ~/.kube/config, then in-cluster. timeout bounds each request (a watch
// that it ends is resumed by its caller).
func Load(kubeconfig, context, userAgent string, timeout time.Duration) (*Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubernetes config: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		ns = ""
	}
	cfg.UserAgent, cfg.Timeout = userAgent, timeout
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	c.Namespace = ns
	c.CA = cfg.CAData
	if len(c.CA) == 0 && cfg.CAFile != "" {
		if c.CA, err = os.ReadFile(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("reading the kubeconfig's CA file: %w", err)
		}
	}
	return c, nil
}

// TokenKubeconfig is a kubeconfig of one cluster (server, CA: PEM, none
// for the system's roots), one user authenticated by token, and a context
// of both in namespace ns, named name.
func TokenKubeconfig(name, server string, ca []byte, ns, token string) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: ns}
	cfg.CurrentContext = name
	return clientcmd.Write(*cfg)
}

// newClient returns a client for cfg.
func newClient(cfg *rest.Config) (*Client, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.APIPath = "/api"
	cfg.GroupVersion = &corev1.SchemeGroupVersion
	cfg.NegotiatedSerializer = codecs.WithoutConversion()
	rc, err := rest.RESTClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("building kubernetes client: %w", err)
	}
	return &Client{rc: rc, cfg: cfg, Host: cfg.Host}, nil
}

// Secrets returns the Secrets of namespace ns.
func (c *Client) Secrets(ns string) Secrets { return Secrets{c.rc, ns} }

// ServiceAccounts returns the ServiceAccounts of namespace ns.
func (c *Client) ServiceAccounts(ns string) ServiceAccounts { return ServiceAccounts{c.rc, ns} }

// Secrets is one namespace's Secrets; it has the methods of client-go's
// SecretInterface that argo-cred uses.
type Secrets struct {
	rc rest.Interface
	ns string
}

// Get reads a Secret.
func (s Secrets) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Secret, error) {
	out := &corev1.Secret{}
	err := s.rc.Get().Namespace(s.ns).Resource("secrets").Name(name).
		VersionedParams(&opts, metav1.ParameterCodec).Do(ctx).Into(out)
	return out, err
}

// Watch watches Secrets.
func (s Secrets) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return s.rc.Get().Namespace(s.ns).Resource("secrets").
		VersionedParams(&opts, metav1.ParameterCodec).Watch(ctx)
}

// ServiceAccounts is one namespace's ServiceAccounts.
type ServiceAccounts struct {
	rc rest.Interface
	ns string
}

// CreateToken asks the TokenRequest API for a token of ServiceAccount name.
func (s ServiceAccounts) CreateToken(ctx context.Context, name string, tr *authv1.TokenRequest, opts metav1.CreateOptions) (*authv1.TokenRequest, error) {
	out := &authv1.TokenRequest{}
	err := s.rc.Post().Namespace(s.ns).Resource("serviceaccounts").Name(name).SubResource("token").
		VersionedParams(&opts, metav1.ParameterCodec).Body(tr).Do(ctx).Into(out)
	return out, err
}
