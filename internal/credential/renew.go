package credential

import (
	"context"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/token"
)

// Source is where the credential's token came from.
func (c *Credential) Source() Source { return c.src }

// Renew gets another token from the source the first came from, the same
// way: the Secret read again, another TokenRequest for the same
// ServiceAccount, audiences, duration and binding, the file read again, a
// new ID token from the runner. It runs after Get, off the main goroutine:
// it calls none of the request's hooks, and prints nothing. The caller
// checks that the token is of the same identity.
func (c *Credential) Renew(ctx context.Context) (token.Token, error) {
	if !c.src.Renewable || c.g == nil {
		return token.Token{}, exitcode.New(exitcode.Usage, "", "the %s source gives one token per job", c.src.Name)
	}
	g := c.g
	g.req.Hooks = Hooks{Lookup: g.req.Lookup, Log: g.req.Log, UserAgent: g.req.UserAgent}
	return c.src.get(g, ctx)
}
