package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"

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
)

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
	// withAuth adds the Authorization value to a call's context.
	withAuth func(context.Context) context.Context
	close    func()
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	c := &tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // the user asked for it, as with argo -k
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, exitcode.Wrap(exitcode.Usage, "check --ca-file", fmt.Errorf("reading CA file: %w", err))
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, exitcode.New(exitcode.Usage, "--ca-file must hold PEM certificates", "no certificates in CA file %s", cfg.CAFile)
		}
	}
	return c, nil
}

func newGRPC(cfg Config) (*clients, error) {
	creds := grpc.WithTransportCredentials(insecure.NewCredentials())
	if cfg.Secure {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		creds = grpc.WithTransportCredentials(credentials.NewTLS(tc))
	}
	conn, err := grpc.NewClient(cfg.Server, creds, grpc.WithUserAgent(cfg.UserAgent))
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, "check --server", fmt.Errorf("dialing %s: %w", cfg.Server, err))
	}
	auth := cfg.Authorization
	return &clients{
		info:     infopkg.NewInfoServiceClient(conn),
		workflow: workflowpkg.NewWorkflowServiceClient(conn),
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
	}, nil
}

type answerKey struct{}

// answer is what an HTTP/1 response says besides its body: the facade turns
// the status into a gRPC code and drops the headers. Calls run concurrently,
// so each has its own.
type answer struct {
	status  int
	version string // the argo-version header the Argo Server sets
}

func withAnswer(ctx context.Context) (context.Context, *answer) {
	a := &answer{}
	return context.WithValue(ctx, answerKey{}, a), a
}

// answerRecorder sets the User-Agent and records each response's answer.
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
	return resp, err
}

func newHTTP1(cfg Config) (*clients, error) {
	for _, h := range cfg.Headers {
		if parts := strings.Split(h, ":"); len(parts) != 2 || strings.TrimSpace(parts[0]) == "" {
			return nil, exitcode.New(exitcode.Usage, `write --header "Name: value"; argo cannot send a value that contains ':'`, "invalid header %q", h)
		}
	}
	scheme := "http"
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	if cfg.Secure {
		scheme = "https"
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	rec := &answerRecorder{rt: tr, ua: cfg.UserAgent}
	f := http1.NewFacade(scheme+"://"+cfg.Server+cfg.BaseHRef, cfg.Authorization, cfg.InsecureSkipVerify, cfg.Headers, &http.Client{Transport: rec})
	return &clients{
		info:     http1.InfoServiceClient(f),
		workflow: http1.WorkflowServiceClient(f),
		wft:      http1.WorkflowTemplateServiceClient(f),
		cron:     http1.CronWorkflowServiceClient(f),
		cwt:      http1.ClusterWorkflowTemplateServiceClient(f),
		archive:  http1.ArchivedWorkflowsServiceClient(f),
		withAuth: func(ctx context.Context) context.Context { return ctx },
		close:    tr.CloseIdleConnections,
	}, nil
}
