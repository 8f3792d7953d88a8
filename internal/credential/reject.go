package credential

import (
	"context"
	"time"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/token"
)

// rejectWithin bounds how long a revoked token may still be accepted:
// kube-apiserver caches a successful token check for up to 10 s.
var rejectWithin = 30 * time.Second

// ProveRejected polls the Argo Server that cfg reaches (ProbeConfig) with
// each revoked token, listing workflows in namespace, until it answers
// 401, each probe within timeout. It returns how long after the start the
// last was rejected; a token still accepted after 30 s is an
// exitcode.ExcessAccess error.
func ProveRejected(ctx context.Context, cfg probe.Config, namespace string, timeout time.Duration, revoked []token.Token) (time.Duration, error) {
	cfg.Namespace, cfg.SkipIdentityCheck = namespace, true
	cfg.Expect = []probe.Expectation{{Allow: true, Resource: "workflows", Verb: "list"}}
	start := time.Now()
	deadline := start.Add(rejectWithin)
	for _, t := range revoked {
		cfg.Authorization = t.Bearer()
		for {
			pctx, cancel := context.WithTimeout(ctx, timeout)
			_, err := probe.Run(pctx, cfg)
			cancel()
			if exitcode.Of(err) == exitcode.TokenRejected {
				break
			}
			if ctx.Err() != nil {
				return time.Since(start), ctx.Err()
			}
			if time.Now().After(deadline) {
				return time.Since(start), exitcode.New(exitcode.ExcessAccess, "check that the Argo Server's Kubernetes is the one argo-cred deleted the Secret in",
					"a revoked token (%s) is still accepted after %s", t.From, time.Since(start).Round(time.Second))
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	return time.Since(start), nil
}
