// Package token obtains a token for the Argo Server, each way one source
// of internal/credential needs: from a kubernetes.io/service-account-token
// Secret (waiting for the token controller with a watch), the TokenRequest
// API, a file or FIFO, ARGO_TOKEN, or a CI OIDC ID token (GitHub's token
// endpoint, or a variable), with the unverified claims it shows. It never
// logs or formats the token itself.
package token

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/redact"
)

// Token is a bearer token and what is known about where it came from.
type Token struct {
	raw      string
	Source   string   // secret, tokenrequest, file or env
	From     string   // e.g. "secret argo/jenkins-token"
	Warnings []string // lines a user should see ("note: …", "warning: …"), never containing the token
	Expiry   time.Time
}

// New returns a Token holding raw, normalised: surrounding white space and
// one "Bearer " prefix (any case) are removed. An empty token, or one with
// white space or control characters inside, is an error of class
// TokenUnavailable.
func New(raw, source, from string) (Token, error) {
	v, err := normalize(raw)
	if err != nil {
		return Token{}, exitcode.Wrap(exitcode.TokenUnavailable, hintFor(source), fmt.Errorf("token from %s: %w", from, err))
	}
	t := Token{raw: v, Source: source, From: from}
	if c, ok := t.Claims(); ok {
		if c.Expiry.IsZero() {
			t.Warnings = append(t.Warnings, "note: the token never expires (no exp claim): it lives until its Secret is deleted")
		}
		t.Expiry = c.Expiry
	}
	return t, nil
}

// Raw returns the token without the Bearer prefix. Only payload writers
// should call it.
func (t Token) Raw() string { return t.raw }

// Bearer returns the Authorization value, "Bearer <token>", with the prefix
// exactly once.
func (t Token) Bearer() string { return "Bearer " + t.raw }

// String keeps the token out of logs and %v.
func (t Token) String() string { return "[token from " + t.From + "]" }

// GoString keeps the token out of %#v.
func (t Token) GoString() string { return t.String() }

// normalize strips surrounding white space and one "Bearer " prefix.
func normalize(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > 7 && strings.EqualFold(s[:7], "bearer ") {
		s = strings.TrimSpace(s[7:])
	}
	if s == "" || strings.EqualFold(s, "bearer") {
		return "", fmt.Errorf("token is empty")
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return "", fmt.Errorf("token contains white space or a control character")
		}
	}
	return s, nil
}

// Claims are a JWT's claims, read without checking the signature: fit for
// display and for comparing with what a server reports, never as proof.
type Claims struct {
	Subject        string    `json:"sub"`
	Issuer         string    `json:"iss"`
	Audience       []string  `json:"aud,omitempty"`
	Expiry         time.Time `json:"exp,omitzero"`
	IssuedAt       time.Time `json:"iat,omitzero"`
	Namespace      string    `json:"namespace,omitempty"`
	ServiceAccount string    `json:"serviceAccount,omitempty"`
	Secret         string    `json:"secret,omitempty"`
	// CI OIDC tokens (GitHub's claim names).
	Repository      string `json:"repository,omitempty"`
	RepositoryOwner string `json:"repositoryOwner,omitempty"`
	Ref             string `json:"ref,omitempty"`
}

// KeyID is the kid of a JWT's header (the signing key's id; a
// kube-apiserver's is derived from its public key), "" for none.
func (t Token) KeyID() string {
	head, _, ok := strings.Cut(t.raw, ".")
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(head, "="))
	var h struct {
		Kid string `json:"kid"`
	}
	if err != nil || json.Unmarshal(b, &h) != nil {
		return ""
	}
	return h.Kid
}

// Claims decodes the token's payload, each string cleaned (redact.Clean);
// ok is false for a token that is not a JWT.
func (t Token) Claims() (Claims, bool) {
	parts := strings.Split(t.raw, ".")
	if len(parts) != 3 {
		return Claims{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Claims{}, false
	}
	var c struct {
		Sub string          `json:"sub"`
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
		Exp float64         `json:"exp"`
		Iat float64         `json:"iat"`
		// GitHub's OIDC tokens.
		Repository string `json:"repository"`
		Owner      string `json:"repository_owner"`
		Ref        string `json:"ref"`
		// Legacy Secret tokens.
		NS     string `json:"kubernetes.io/serviceaccount/namespace"`
		SA     string `json:"kubernetes.io/serviceaccount/service-account.name"`
		Secret string `json:"kubernetes.io/serviceaccount/secret.name"`
		// TokenRequest tokens.
		K8s struct {
			Namespace      string `json:"namespace"`
			ServiceAccount struct {
				Name string `json:"name"`
			} `json:"serviceaccount"`
			Secret struct {
				Name string `json:"name"`
			} `json:"secret"`
		} `json:"kubernetes.io"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return Claims{}, false
	}
	out := Claims{Subject: c.Sub, Issuer: c.Iss, Namespace: c.NS, ServiceAccount: c.SA, Secret: c.Secret,
		Repository: c.Repository, RepositoryOwner: c.Owner, Ref: c.Ref}
	if c.K8s.Namespace != "" {
		out.Namespace, out.ServiceAccount, out.Secret = c.K8s.Namespace, c.K8s.ServiceAccount.Name, c.K8s.Secret.Name
	}
	var one string
	if json.Unmarshal(c.Aud, &one) == nil && one != "" {
		out.Audience = []string{one}
	} else {
		_ = json.Unmarshal(c.Aud, &out.Audience)
	}
	out.Expiry, out.IssuedAt = unixTime(c.Exp), unixTime(c.Iat)
	// Whoever made the token chose these (unverified) strings, and they are
	// printed: one clean line each, no runner command in them.
	for _, f := range []*string{&out.Subject, &out.Issuer, &out.Namespace, &out.ServiceAccount, &out.Secret, &out.Repository, &out.RepositoryOwner, &out.Ref} {
		*f = redact.Clean(*f)
	}
	for i := range out.Audience {
		out.Audience[i] = redact.Clean(out.Audience[i])
	}
	return out, true
}

// maxUnix is 9999-12-31T23:59:59Z, the last time JSON and RFC 3339 can
// write; later claims are read as that.
const maxUnix = 253402300799

func unixTime(secs float64) time.Time {
	if secs <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(min(secs, maxUnix)), 0).UTC()
}

func hintFor(source string) string {
	switch source {
	case "file":
		return "check that --token-file points at a file holding only the token"
	case "env":
		return "set ARGO_TOKEN to the token, with or without the \"Bearer \" prefix"
	default:
		return "check the token's source"
	}
}
