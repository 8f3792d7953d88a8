package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/token"
)

// clientProber is identity.Prober with the command line's credential
// pipeline: it checks a client's token as env does, from a copy of the
// options pointed at the client's token Secret.
type clientProber struct {
	a *app
	o *Options
	// export, when it has a format (provision --format), prints the
	// settings as env does after the check.
	export ExportOptions
	// quiet (clients --check): the verdict only, nothing printed.
	quiet    bool
	profiles []string // provision --for: checked too, as on the server's Argo version
}

func (p *clientProber) Check(ctx context.Context, c identity.Client, secret string, grants []identity.Grant) error {
	o := p.useClientToken(c, secret, grants)
	if p.quiet {
		quiet := &app{streams: IOStreams{In: p.a.streams.In, Out: io.Discard, ErrOut: io.Discard}, log: p.a.log}
		got, err := quiet.credential(ctx, o)
		if err == nil {
			_, err = cred.Verify(ctx, got, nil)
		}
		return err
	}
	if p.export.Format != "" {
		_, _, err := p.a.envWith(ctx, o, p.export)
		return err
	}
	_, _, err := p.a.checked(ctx, o)
	return err
}

func (p *clientProber) Rejected(ctx context.Context, ns string, tokens []token.Token) error {
	o := *p.o
	o.Namespace = ns
	return p.a.proveRejected(ctx, &o, tokens)
}

// useClientToken is a copy of p.o pointed at one of the client's token
// Secrets, expecting what its grants imply (and provision's profiles).
func (p *clientProber) useClientToken(c identity.Client, secret string, grants []identity.Grant) *Options {
	oc := *p.o
	oc.Source, oc.Secret, oc.SecretNS, oc.Namespace, oc.ServiceAccount, oc.TokenFile, oc.Client, oc.OIDCEnv = "secret", secret, c.Namespace, c.Namespace, "", "", "", ""
	oc.Expect, oc.For, oc.Probe, oc.quietExpect = identity.ExpectFor(grants), p.profiles, true, true
	oc.managed = c.Name
	return &oc
}

// proveRejected proves the revoked tokens rejected by the Argo Server
// (credential.ProveRejected) and says how long that took.
func (a *app) proveRejected(ctx context.Context, o *Options, revoked []token.Token) error {
	s, _, err := a.validate(o)
	if err != nil {
		return err
	}
	if len(revoked) > 0 {
		// Up to 10 s of silence otherwise: say what is being waited for.
		fmt.Fprintf(a.streams.ErrOut, "note: waiting until the Argo Server rejects the %d revoked token(s) (kube-apiserver caches a token check up to 10 s) …\n", len(revoked))
	}
	lag, err := cred.ProveRejected(ctx, cred.ProbeConfig(s, o.Headers, userAgent()), o.Namespace, o.Timeout, revoked)
	if err != nil {
		return err
	}
	if len(revoked) > 0 {
		fmt.Fprintf(a.streams.ErrOut, "revoked: the Argo Server rejects %d token(s) with 401, %s after the Secrets were deleted\n", len(revoked), lag.Round(10*time.Millisecond))
	}
	return nil
}
