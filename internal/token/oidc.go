package token

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

// DefaultAudience is the audience argo-cred asks GitHub for when
// --audience is not given; the cluster's AuthenticationConfiguration must
// list it (argo-cred oidc-config does).
const DefaultAudience = "argo-cred"

// maxIDTokenResponse bounds the ID-token endpoint's answer.
const maxIDTokenResponse = 64 << 10

// GitHubRequest is what the runner gives a job that may request an OIDC
// ID token (permissions: id-token: write).
type GitHubRequest struct{ URL, Token string }

// GitHubRequestFrom reads ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN; ok is
// false when either is missing.
func GitHubRequestFrom(lookup func(string) (string, bool)) (GitHubRequest, bool) {
	u, ok1 := lookup("ACTIONS_ID_TOKEN_REQUEST_URL")
	t, ok2 := lookup("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	return GitHubRequest{URL: u, Token: t}, ok1 && ok2 && u != "" && t != ""
}

// FromGitHubOIDC asks the runner's ID-token endpoint for the job's OIDC
// token for audience: GET URL&audience=… with the request token, answer
// {"value": JWT}. It follows no redirect, bounds the answer, and retries
// what is worth retrying (5xx, a broken connection) three times.
func FromGitHubOIDC(ctx context.Context, req GitHubRequest, audience string) (Token, error) {
	if req.URL == "" || req.Token == "" {
		return Token{}, exitcode.New(exitcode.TokenUnavailable,
			"grant the job `permissions: id-token: write` (GitHub gives the request variables only then)",
			"ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: this job may not request an OIDC token")
	}
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return Token{}, exitcode.New(exitcode.TokenUnavailable, "", "ACTIONS_ID_TOKEN_REQUEST_URL is not an http(s) URL")
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	client := &http.Client{Timeout: 15 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var last error
	for attempt := 0; attempt < 4; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return Token{}, ctx.Err()
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		var retry bool
		var t Token
		t, retry, last = requestIDToken(ctx, client, u.String(), req.Token)
		if last == nil || !retry {
			return t, last
		}
	}
	return Token{}, last
}

func requestIDToken(ctx context.Context, client *http.Client, u, requestToken string) (Token, bool, error) {
	fail := func(retry bool, format string, args ...any) (Token, bool, error) {
		return Token{}, retry, exitcode.New(exitcode.TokenUnavailable, "check the job's permissions (id-token: write) and GitHub's status", "requesting the job's OIDC token: "+format, args...)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fail(false, "%v", err)
	}
	hreq.Header.Set("Authorization", "bearer "+requestToken)
	hreq.Header.Set("Accept", "application/json")
	resp, err := client.Do(hreq)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL carries nothing secret, but keep the line short
		}
		return fail(ctx.Err() == nil, "%v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIDTokenResponse+1))
	switch {
	case err != nil:
		return fail(true, "%v", err)
	case len(body) > maxIDTokenResponse:
		return fail(false, "the answer is larger than %d bytes", maxIDTokenResponse)
	case resp.StatusCode >= 500:
		return fail(true, "HTTP %d", resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return fail(false, "HTTP %d", resp.StatusCode)
	}
	var v struct {
		Value string `json:"value"`
	}
	if json.Unmarshal(body, &v) != nil || v.Value == "" {
		return fail(false, "the answer has no token")
	}
	t, err := New(v.Value, "github-oidc", "the job's GitHub OIDC token")
	return t, false, err
}

// FromOIDCEnv takes an OIDC ID token from the environment variable name,
// as GitLab's id_tokens put it there.
func FromOIDCEnv(lookup func(string) (string, bool), name string) (Token, error) {
	v, ok := lookup(name)
	if !ok || strings.TrimSpace(v) == "" {
		return Token{}, exitcode.New(exitcode.TokenUnavailable, "declare it in the job (GitLab: id_tokens: {"+name+": {aud: …}})", "%s is not set", name)
	}
	return New(v, "oidc-env", name)
}

// CheckOIDC checks, before any network call, what an OIDC ID token says
// of itself (unverified, so never proof): that it is for audience and has
// at least minLifetime left.
func CheckOIDC(t Token, audience string, minLifetime time.Duration, now time.Time) error {
	c, ok := t.Claims()
	if !ok {
		return exitcode.New(exitcode.TokenUnavailable, "", "%s is not a JWT", t.From)
	}
	if audience != "" && !slices.Contains(c.Audience, audience) {
		return exitcode.New(exitcode.TokenUnavailable, "request the token for the audience the cluster trusts (--audience), or fix --audience",
			"%s is for audience %s, not %s", t.From, strings.Join(c.Audience, ","), audience)
	}
	if c.Expiry.IsZero() {
		return exitcode.New(exitcode.TokenUnavailable, "", "%s has no exp claim, which Kubernetes requires", t.From)
	}
	if left := c.Expiry.Sub(now); left < minLifetime {
		return exitcode.New(exitcode.TokenUnavailable, "get a fresh token, or lower --min-lifetime",
			"%s expires in %s, less than --min-lifetime %s", t.From, max(left, 0).Round(time.Second), minLifetime)
	}
	return nil
}

// Describe names an OIDC token's issuer, subject, repository and ref.
func Describe(c Claims) string {
	parts := []string{"issuer " + c.Issuer, "subject " + c.Subject}
	if c.Repository != "" {
		parts = append(parts, "repository "+c.Repository)
	}
	if c.Ref != "" {
		parts = append(parts, "ref "+c.Ref)
	}
	return strings.Join(parts, ", ")
}
