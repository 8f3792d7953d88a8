package relay

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/argo-cred/argo-cred/internal/redact"
	"github.com/argo-cred/argo-cred/internal/token"
)

// Renewal timing: a token is renewed once less than a third of its
// lifetime is left (a fixed margin would loop on a 75 s token); a failed
// renewal is retried after backoff, doubling up to maxBackoff; a refusal
// by the server asks for another token at most every minForced.
const (
	renewFraction = 3
	firstBackoff  = time.Second
	maxBackoff    = 30 * time.Second
	minForced     = 2 * time.Second
	renewTimeout  = 30 * time.Second
)

// Keeper keeps the current token of a credential and renews it from its
// source: before it expires, and when the server refuses it (a rotation).
type Keeper struct {
	renew     func(ctx context.Context) (token.Token, error)
	warn      func(string)
	renewable bool
	now       func() time.Time
	log       *slog.Logger

	renewing sync.Mutex // one renewal at a time

	mu       sync.Mutex
	cur      token.Token
	issued   time.Time // of cur: its iat, else when it was got
	subject  string
	issuer   string
	audience []string
	red      *redact.Redactor
	seen     []string
	forced   time.Time // the last renewal a refusal asked for
	retryAt  time.Time // after a failed renewal
	backoff  time.Duration
	lastErr  error
	failed   bool // the token expired before a renewal succeeded: said once
	stopped  bool // a renewal gave another identity: renewal stopped
}

// NewKeeper starts with the verified token t. renewable: renew can give
// another token (else the Keeper only holds t); warn prints one line on
// stderr.
func NewKeeper(t token.Token, renewable bool, renew func(context.Context) (token.Token, error), warn func(string)) *Keeper {
	k := &Keeper{renew: renew, warn: warn, renewable: renewable, now: time.Now, backoff: firstBackoff, log: slog.New(slog.DiscardHandler)}
	c, _ := t.Claims()
	k.subject, k.issuer, k.audience = c.Subject, c.Issuer, c.Audience
	k.set(t)
	return k
}

func (k *Keeper) set(t token.Token) {
	k.cur, k.issued = t, k.now()
	if c, ok := t.Claims(); ok && !c.IssuedAt.IsZero() && c.IssuedAt.Before(k.issued) {
		k.issued = c.IssuedAt
	}
	k.seen = append(k.seen, t.Bearer())
	k.red = redact.New(k.seen...)
	// The backoff is Run's to reset: a renewal that gives a token already
	// due is no success.
	k.retryAt, k.failed = time.Time{}, false
}

// Authorization is the current token's Authorization value.
func (k *Keeper) Authorization() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cur.Bearer()
}

// Current is the current token.
func (k *Keeper) Current() token.Token {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cur
}

// Secret tells whether s holds a form of any token the Keeper has held.
func (k *Keeper) Secret(s string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.red.Holds(s)
}

// Rejected is told that the server refused auth. When auth is still
// current and the source can give another token, it gets one now.
func (k *Keeper) Rejected(ctx context.Context, auth string) (string, bool) {
	k.renewing.Lock()
	defer k.renewing.Unlock()
	k.mu.Lock()
	cur, stopped, recent := k.cur.Bearer(), k.stopped, k.now().Sub(k.forced) < minForced
	if cur == auth && !recent {
		k.forced = k.now()
	}
	k.mu.Unlock()
	if cur != auth {
		return cur, true // renewed meanwhile
	}
	if !k.renewable || stopped || recent || !k.renewOnce(ctx) {
		return "", false
	}
	return k.Authorization(), true
}

// renewOnce gets a token (the caller holds renewing): true when it is
// another token of the same identity, now current.
func (k *Keeper) renewOnce(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, renewTimeout)
	defer cancel()
	t, err := k.renew(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil {
		k.lastErr = err
		return false
	}
	c, _ := t.Claims()
	switch {
	case c.Subject != k.subject:
		k.stopped = true
		k.say(fmt.Sprintf("argo-cred: the renewed token is for %q, not %q as the verified one: not used, and renewal stopped",
			redact.Clean(c.Subject), redact.Clean(k.subject)))
		return false
	case c.Issuer != k.issuer || !slices.Equal(sorted(c.Audience), sorted(k.audience)):
		// The same subject from another issuer, or for another audience,
		// is another identity (or a token meant for another service).
		k.stopped = true
		k.say(fmt.Sprintf("argo-cred: the renewed token is from issuer %q for audience %q, not %q for %q as the verified one: not used, and renewal stopped",
			redact.Clean(c.Issuer), redact.Clean(strings.Join(c.Audience, ",")), redact.Clean(k.issuer), redact.Clean(strings.Join(k.audience, ","))))
		return false
	}
	if t.Bearer() == k.cur.Bearer() {
		k.lastErr = fmt.Errorf("%s gave the same token again", t.From)
		return false
	}
	k.set(t)
	k.log.Debug("relay: renewed the token", "from", t.From, "expires", t.Expiry.Format(time.RFC3339))
	return true
}

func (k *Keeper) say(s string) {
	if k.warn != nil {
		k.warn(s)
	}
}

// renewAt is when the current token is due: a third of its lifetime
// before it expires. Zero: it does not expire.
func (k *Keeper) renewAt() time.Time {
	if k.cur.Expiry.IsZero() {
		return time.Time{}
	}
	life := k.cur.Expiry.Sub(k.issued)
	return k.cur.Expiry.Add(-life / renewFraction)
}

// Run renews an expiring token until ctx ends: each time less than a third
// of its lifetime is left, with backoff when the source fails or gives the
// same token, and one line on stderr when the token expired before a
// renewal succeeded.
func (k *Keeper) Run(ctx context.Context) {
	if !k.renewable {
		return
	}
	for {
		k.mu.Lock()
		at := k.renewAt()
		if k.retryAt.After(at) {
			at = k.retryAt
		}
		stop := k.stopped || at.IsZero()
		k.mu.Unlock()
		if stop {
			return
		}
		t := time.NewTimer(at.Sub(k.now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if ctx.Err() != nil {
			// Both were ready (a timer of zero, or one that fired as ctx
			// ended): select chose at random, and a renewal with a context
			// that ended sets no backoff.
			return
		}
		k.renewing.Lock()
		k.mu.Lock()
		due := !k.now().Before(k.renewAt()) && !k.now().Before(k.retryAt)
		failed := k.failed
		k.mu.Unlock()
		ok := due && k.renewOnce(ctx)
		k.mu.Lock()
		if ok && !k.now().Before(k.renewAt()) {
			// Already due when it came (the source's clock is behind this
			// machine's): renewing again at once would be a busy loop.
			ok, k.failed = false, failed
			k.lastErr = fmt.Errorf("%s gave a token already due for renewal (it expires %s): is this machine's clock ahead of the source's?",
				k.cur.From, k.cur.Expiry.Format(time.RFC3339))
		}
		if ok {
			k.backoff = firstBackoff
		}
		k.mu.Unlock()
		if due && !ok && ctx.Err() == nil {
			k.mu.Lock()
			k.retryAt = k.now().Add(k.backoff)
			// At most a tenth of the lifetime apart: a 75 s token is retried
			// every 7.5 s at worst.
			k.backoff = max(firstBackoff, min(2*k.backoff, maxBackoff, k.cur.Expiry.Sub(k.issued)/10))
			if !k.failed && !k.stopped && k.now().After(k.cur.Expiry) {
				k.failed = true
				k.say("argo-cred: could not renew the token before it expired (" + k.red.Text(fmt.Sprint(k.lastErr)) + "): requests now fail as the Argo Server answers them; argo-cred keeps trying")
			}
			k.mu.Unlock()
		}
		k.renewing.Unlock()
	}
}

func sorted(s []string) []string {
	return slices.Sorted(slices.Values(s))
}
