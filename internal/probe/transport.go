package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	cwtpkg "github.com/argoproj/argo-workflows/v3/pkg/apiclient/clusterworkflowtemplate"
	cronpkg "github.com/argoproj/argo-workflows/v3/pkg/apiclient/cronworkflow"
	"github.com/argoproj/argo-workflows/v3/pkg/apiclient/http1"
	infopkg "github.com/argoproj/argo-workflows/v3/pkg/apiclient/info"
	workflowpkg "github.com/argoproj/argo-workflows/v3/pkg/apiclient/workflow"
	archivepkg "github.com/argoproj/argo-workflows/v3/pkg/apiclient/workflowarchive"
	wftpkg "github.com/argoproj/argo-workflows/v3/pkg/apiclient/workflowtemplate"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
	"github.com/argo-cred/argo-cred/internal/redact"
)

// Bounds on what a server, or a file, can make argo-cred read.
const (
	maxBody   = 1 << 20  // one HTTP/1 response body or gRPC message
	maxHeader = 64 << 10 // one response's headers
	maxCA     = 1 << 20  // a --ca-file
)

// notArgoError is an answer that is not the Argo API's: a redirect, or a
// body too large for any API answer. Retrying cannot change it.
type notArgoError struct{ msg string }

func (e *notArgoError) Error() string { return e.msg }

// clients are the Argo API services the probe calls, over gRPC or HTTP/1,
// built from the service subpackages only (the top-level apiclient package
// links the Argo Server into the binary).
type clients struct {
	info     infopkg.InfoServiceClient
	workflow workflowpkg.WorkflowServiceClient
	wft      wftpkg.WorkflowTemplateServiceClient
	cron     cronpkg.CronWorkflowServiceClient
	cwt      cwtpkg.ClusterWorkflowTemplateServiceClient
	archive  archivepkg.ArchivedWorkflowServiceClient
	// watch opens a watch of the namespace's workflows that matches
	// nothing and closes it at the first answer (watch.go).
	watch func(ctx context.Context, ns string) error
	// withAuth adds the Authorization value to a call's context.
	withAuth func(context.Context) context.Context
	close    func()
	// red cleans every text the server supplies and removes the token and
	// the --header values from it.
	red *redact.Redactor
}

// LoadCA reads a PEM bundle of CA certificates (a regular file of at most
// 1 MiB).
func LoadCA(path string) (*x509.CertPool, error) {
	pem, err := files.Read(path, maxCA)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, "give --ca-file the path of a PEM file of CA certificates", fmt.Errorf("reading CA file: %w", err))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, exitcode.New(exitcode.Usage, "--ca-file must hold PEM certificates", "no certificates in CA file %s", path)
	}
	return pool, nil
}

// TLSConfig is the TLS the settings ask for: verified against --ca-file
// (else the system roots), or not at all with --insecure-skip-verify.
func TLSConfig(cfg Config) (*tls.Config, error) {
	c := &tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // the user asked for it, as with argo -k
	if cfg.CAFile != "" {
		pool, err := LoadCA(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		c.RootCAs = pool
	}
	return c, nil
}

// redactor knows the secrets of cfg: the Authorization value and the value
// of every --header.
func redactor(cfg Config) *redact.Redactor {
	secrets := []string{cfg.Authorization}
	for _, h := range cfg.Headers {
		if _, v, ok := strings.Cut(h, ":"); ok && len(strings.TrimSpace(v)) >= 4 {
			secrets = append(secrets, strings.TrimSpace(v))
		}
	}
	return redact.New(secrets...)
}
func newGRPC(cfg Config) (*clients, error) {
	creds := grpc.WithTransportCredentials(insecure.NewCredentials())
	if cfg.Secure {
		tc, err := TLSConfig(cfg)
		if err != nil {
			return nil, err
		}
		creds = grpc.WithTransportCredentials(credentials.NewTLS(tc))
	}
	conn, err := grpc.NewClient(cfg.Server, creds, grpc.WithUserAgent(cfg.UserAgent),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxBody)), grpc.WithMaxHeaderListSize(maxHeader))
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, "check --server", fmt.Errorf("dialing %s: %w", cfg.Server, err))
	}
	auth := cfg.Authorization
	wf := workflowpkg.NewWorkflowServiceClient(conn)
	return &clients{
		info:     infopkg.NewInfoServiceClient(conn),
		workflow: wf,
		watch:    watchGRPC(wf),
		wft:      wftpkg.NewWorkflowTemplateServiceClient(conn),
		cron:     cronpkg.NewCronWorkflowServiceClient(conn),
		cwt:      cwtpkg.NewClusterWorkflowTemplateServiceClient(conn),
		archive:  archivepkg.NewArchivedWorkflowServiceClient(conn),
		withAuth: func(ctx context.Context) context.Context {
			if auth == "" {
				return ctx
			}
			return metadata.AppendToOutgoingContext(ctx, "authorization", auth)
		},
		close: func() { _ = conn.Close() },
		red:   redactor(cfg),
	}, nil
}

type answerKey struct{}

// answer is what an HTTP/1 response says besides its body: the facade turns
// the status into a gRPC code and drops the headers. Calls run concurrently,
// so each has its own.
type answer struct {
	status  int
	version string // the argo-version header the Argo Server sets
	judged  bool   // the call judged the status and body itself (watch)
}

func withAnswer(ctx context.Context) (context.Context, *answer) {
	a := &answer{}
	return context.WithValue(ctx, answerKey{}, a), a
}

// answerRecorder sets the User-Agent, records each response's answer,
// refuses redirects and bounds the body.
type answerRecorder struct {
	rt http.RoundTripper
	ua string
}

func (s *answerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", s.ua)
	resp, err := s.rt.RoundTrip(r)
	if a, ok := r.Context().Value(answerKey{}).(*answer); ok {
		*a = answer{}
		if resp != nil {
			a.status, a.version = resp.StatusCode, resp.Header.Get("Grpc-Metadata-Argo-Version")
		}
	}
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		resp.Body.Close()
		return nil, &notArgoError{fmt.Sprintf("HTTP %d redirect to %q, which argo-cred does not follow", resp.StatusCode, resp.Header.Get("Location"))}
	}
	resp.Body = files.Bounded(resp.Body, maxBody, &notArgoError{fmt.Sprintf("the answer's body is larger than %d bytes", maxBody)})
	return resp, nil
}

// httpClient is the HTTP/1 client: no proxy from the environment, no
// redirects, bounded headers and bodies.
func httpClient(tc *tls.Config, ua string) (*http.Client, *http.Transport) {
	tr := &http.Transport{MaxIdleConnsPerHost: 8, MaxResponseHeaderBytes: maxHeader, TLSClientConfig: tc}
	return &http.Client{
		Transport:     &answerRecorder{rt: tr, ua: ua},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, tr
}
func newHTTP1(cfg Config) (*clients, error) {
	for _, h := range cfg.Headers {
		if parts := strings.Split(h, ":"); len(parts) != 2 || strings.TrimSpace(parts[0]) == "" {
			return nil, exitcode.New(exitcode.Usage, `write --header "Name: value"; argo cannot send a value that contains ':'`, "invalid header %q", h)
		}
	}
	scheme, tc, err := schemeTLS(cfg)
	if err != nil {
		return nil, err
	}
	hc, tr := httpClient(tc, cfg.UserAgent)
	f := http1.NewFacade(scheme+"://"+cfg.Server+cfg.BaseHRef, cfg.Authorization, cfg.InsecureSkipVerify, cfg.Headers, hc)
	return &clients{
		info:     http1.InfoServiceClient(f),
		workflow: http1.WorkflowServiceClient(f),
		watch:    watchHTTP1(hc, scheme+"://"+cfg.Server+cfg.BaseHRef, cfg.Authorization, cfg.Headers),
		wft:      http1.WorkflowTemplateServiceClient(f),
		cron:     http1.CronWorkflowServiceClient(f),
		cwt:      http1.ClusterWorkflowTemplateServiceClient(f),
		archive:  http1.ArchivedWorkflowsServiceClient(f),
		withAuth: func(ctx context.Context) context.Context { return ctx },
		close:    tr.CloseIdleConnections,
		red:      redactor(cfg),
	}, nil
}

func schemeTLS(cfg Config) (string, *tls.Config, error) {
	if !cfg.Secure {
		return "http", nil, nil
	}
	tc, err := TLSConfig(cfg)
	return "https", tc, err
}

// speaksTLS tells whether a TLS handshake with addr completes. It is only a
// handshake: nothing is sent after it, so the certificate need not be
// checked.
func speaksTLS(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	d := &tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} //nolint:gosec // a bare handshake, no data
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// answersHTTP1 tells whether the Argo API answers GET /api/v1/version over
// HTTP/1 with the user's own TLS settings. The request carries no
// Authorization and no --header value. What counts is an answer with the
// Argo Server's version header, or its gateway's error for a request
// without a token (client mode answers that 401 without the version
// header, but with grpc-gateway's metadata and a gRPC code in JSON).
func answersHTTP1(ctx context.Context, cfg Config) bool {
	scheme, tc, err := schemeTLS(cfg)
	if err != nil {
		return false
	}
	hc, tr := httpClient(tc, cfg.UserAgent)
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+cfg.Server+cfg.BaseHRef+"/api/v1/version", nil)
	if err != nil {
		return false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.Header.Get("Grpc-Metadata-Argo-Version") != "" {
		return true
	}
	var e struct {
		Code *int `json:"code"`
	}
	return resp.Header.Get("Grpc-Metadata-Content-Type") == "application/grpc" &&
		json.NewDecoder(resp.Body).Decode(&e) == nil && e.Code != nil
}
