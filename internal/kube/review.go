package kube

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/argo-cred/argo-cred/internal/files"
)

// maxReviewBody bounds what a review's answer may be.
const maxReviewBody = 1 << 20

// KubeconfigCluster is the cluster a kubeconfig file names for context
// ("" for its current one): that file only, no in-cluster fallback, no
// other kubeconfig merged. Its user is not read: no token file, exec
// plugin or auth provider of it is used (TokenOnly gives the token).
func KubeconfigCluster(kubeconfig, context, userAgent string, timeout time.Duration) (*Client, error) {
	file, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return nil, err
	}
	if context == "" {
		context = file.CurrentContext
	}
	c, ok := file.Contexts[context]
	if !ok || file.Clusters[c.Cluster] == nil {
		return nil, fmt.Errorf("not sending the token: %s names no cluster for context %q", kubeconfig, context)
	}
	file.AuthInfos = map[string]*clientcmdapi.AuthInfo{c.AuthInfo: {}}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*file, context, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, err
	}
	cfg.UserAgent, cfg.Timeout = userAgent, timeout
	return newClient(cfg)
}

// PodCluster is the cluster of the pod this runs in: the API server at
// https://host:port (KUBERNETES_SERVICE_HOST and _PORT), verified with
// the CA of dir (the pod's service account directory). No credential:
// TokenOnly gives the token.
func PodCluster(dir, host, port, userAgent string, timeout time.Duration) (*Client, error) {
	// Read here: client-go takes a CA file without a certificate for none,
	// and then verifies with the system's roots instead.
	ca, err := files.Read(filepath.Join(dir, "ca.crt"), 1<<20)
	if err != nil {
		return nil, err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("not sending the token: %s holds no PEM certificate", filepath.Join(dir, "ca.crt"))
	}
	return newClient(&rest.Config{Host: "https://" + net.JoinHostPort(host, port), UserAgent: userAgent, Timeout: timeout,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca}})
}

// TokenOnly is a client of c's cluster that authenticates with token and
// nothing else (c's own credentials dropped, its host and CA kept), only
// over verified TLS, follows no redirect and reads at most 1 MiB of an
// answer: for requests made as a CI job's token.
func (c *Client) TokenOnly(token string) (*Client, error) {
	cfg := rest.AnonymousClientConfig(c.cfg)
	if !rest.IsConfigTransportTLS(*cfg) || cfg.Insecure {
		return nil, errors.New("not sending the token: the cluster is not reached over verified TLS")
	}
	// A user:password in the server's URL would go as Basic auth instead
	// of the token (net/http sets it first): it is the kubeconfig's too.
	if u, _, err := rest.DefaultServerUrlFor(cfg); err == nil && u.User != nil {
		u.User = nil
		cfg.Host = u.String()
	}
	cfg.BearerToken = token
	// client-go would log the server's Warning headers to stderr as they
	// are: not redacted, not cleaned of runner commands.
	cfg.WarningHandler, cfg.WarningHandlerWithContext = rest.NoWarnings{}, rest.NoWarnings{}
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return bounded{rt} }
	return newClient(cfg)
}

// bounded refuses redirects and bounds answers.
type bounded struct{ rt http.RoundTripper }

func (b bounded) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := b.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		resp.Body.Close()
		return nil, fmt.Errorf("not following a redirect (HTTP %d) with the token", resp.StatusCode)
	}
	resp.Body = files.Bounded(resp.Body, maxReviewBody, fmt.Errorf("the answer is over %d bytes", maxReviewBody))
	return resp, nil
}

// ReviewSelf asks the cluster of the kubeconfig who it takes token for
// (SelfSubjectReview), with that token only (TokenOnly). It returns the
// username and groups the cluster maps the token to.
func ReviewSelf(ctx context.Context, kubeconfig, context, token, userAgent string, timeout time.Duration) (string, []string, error) {
	k, err := KubeconfigCluster(kubeconfig, context, userAgent, timeout)
	if err != nil {
		return "", nil, err
	}
	c, err := k.TokenOnly(token)
	if err != nil {
		return "", nil, err
	}
	var r struct {
		Status struct {
			UserInfo struct {
				Username string   `json:"username"`
				Groups   []string `json:"groups"`
			} `json:"userInfo"`
		} `json:"status"`
	}
	err = c.post(ctx, "/apis/authentication.k8s.io/v1/selfsubjectreviews", map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}, &r)
	return r.Status.UserInfo.Username, r.Status.UserInfo.Groups, err
}

// CanI asks the cluster whether c's identity may do verb on resource
// (RESOURCE or RESOURCE/SUBRESOURCE) of group in namespace ns: a
// SelfSubjectAccessReview, which every authenticated identity may make.
func (c *Client) CanI(ctx context.Context, ns, group, resource, verb string) (bool, error) {
	res, sub, _ := strings.Cut(resource, "/")
	attrs := map[string]any{"namespace": ns, "verb": verb, "group": group, "resource": res, "subresource": sub}
	var r struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Status     struct {
			Allowed         bool   `json:"allowed"`
			EvaluationError string `json:"evaluationError"`
		} `json:"status"`
	}
	err := c.post(ctx, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
		map[string]any{"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": map[string]any{"resourceAttributes": attrs}}, &r)
	if err == nil && (r.Kind != "SelfSubjectAccessReview" || r.APIVersion != "authorization.k8s.io/v1") {
		// Any JSON would read as "not allowed": a deny expectation met by
		// a server that is not the cluster's.
		return false, errors.New("the answer is not a SelfSubjectAccessReview")
	}
	if err == nil && !r.Status.Allowed && r.Status.EvaluationError != "" {
		// Not allowed, but because the authorizer failed: no answer.
		err = fmt.Errorf("the authorizer failed: %s", r.Status.EvaluationError)
	}
	return r.Status.Allowed, err
}

// post sends body as JSON to path and reads the answer into out.
func (c *Client) post(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	raw, err := c.rc.Post().AbsPath(path).SetHeader("Content-Type", "application/json").Body(b).Do(ctx).Raw()
	if err = withMessage(raw, err); err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}
