package credential

import (
	"context"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/relay"
)

// Relay puts the loopback relay, listening on listen, between a command
// and the Argo Server, renewing the token from its source; the command
// gets the settings it returns (the relay's address and per-run value),
// and the function that stops it. say prints a line on stderr.
func (c *Credential) Relay(ctx context.Context, listen string, say func(string)) (env.Settings, func(), error) {
	tc, err := probe.TLSConfig(ProbeConfig(c.Settings, nil, ""))
	if err != nil {
		return env.Settings{}, nil, err
	}
	if c.src.Expires && c.src.Renewable {
		c.req.note("note: argo-cred stays the parent of the command and renews the token before it expires (" + c.src.Renew + ")")
	}
	k := relay.NewKeeper(c.Token, c.src.Renewable, c.Renew, say)
	s, stop, err := relay.Front(ctx, c.Settings, tc, k, listen, c.req.log(), say)
	if c.src.Name == "oidc-env" {
		s.Unset = append(s.Unset, c.req.OIDCEnv) // the real token, by another name
	}
	return s, stop, err
}
