package main

import (
	"context"
	"slices"
	"testing"
	"time"

	workflowpkg "github.com/argoproj/argo-workflows/v3/pkg/apiclient/workflow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/relay"
	"github.com/argo-cred/argo-cred/internal/testenv"
	"github.com/argo-cred/argo-cred/internal/token"
)

// BenchmarkIntegrationRelayUnary: the latency the relay adds to a unary
// call (ListWorkflows, limit 1) against the stack's Argo Server, over gRPC
// as argo makes it: the p50 of each path, and their difference, as
// metrics (docs/benchmarks.md). Each path is warmed up first.
func BenchmarkIntegrationRelayUnary(b *testing.B) {
	s := testenv.Get(b)
	ns, raw := s.SeedIdentity(b)
	tok, err := token.New(raw, "secret", "bench")
	if err != nil {
		b.Fatal(err)
	}
	settings, stop, err := relay.Front(context.Background(), env.Settings{Server: s.ArgoServer}, nil, relay.NewKeeper(tok, false, nil, nil), "127.0.0.1:0", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	p50 := map[string]time.Duration{}
	for _, path := range []struct{ name, addr, auth string }{{"direct", s.ArgoServer, tok.Bearer()}, {"relay", settings.Server, settings.Authorization}} {
		b.Run(path.name, func(b *testing.B) {
			conn, err := grpc.NewClient(path.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			wf := workflowpkg.NewWorkflowServiceClient(conn)
			ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", path.auth)
			call := func() {
				if _, err := wf.ListWorkflows(ctx, &workflowpkg.WorkflowListRequest{Namespace: ns, ListOptions: &metav1.ListOptions{Limit: 1}}); err != nil {
					b.Fatal(err)
				}
			}
			for range 20 {
				call()
			}
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				call()
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			p50[path.name] = took[len(took)/2]
			b.ReportMetric(float64(p50[path.name].Microseconds())/1000, "p50-ms")
		})
	}
	b.Logf("p50 added by the relay: %.2f ms", float64((p50["relay"]-p50["direct"]).Microseconds())/1000)
}
