package github

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// Issuer is the issuer of GitHub Actions' OIDC tokens.
const Issuer = "https://token.actions.githubusercontent.com"

// username is the CEL expression that maps a GitHub token to its user:
// the sub claim and, since a repository deleted and re-created under the
// same name gets a new id, the repository's id.
const username = `"gha:" + claims.sub + ":repository_id:" + claims.repository_id`

var notSlug = regexp.MustCompile(`[^a-z0-9]+`)

// AuthenticationConfig is the AuthenticationConfiguration (v1, Kubernetes
// 1.34; v1beta1 on 1.30–1.33) that trusts issuer's tokens for audience
// from repositories of the owner with id ownerID (named owner, which a
// re-registered organisation can take over; its id it cannot), mapping each
// to the user "gha:<sub>:repository_id:<repository_id>".
func AuthenticationConfig(issuer, caPEM, audience, owner, ownerID string) map[string]any {
	iss := map[string]any{"url": issuer, "audiences": []string{audience}}
	if caPEM != "" {
		iss["certificateAuthority"] = caPEM
	}
	return map[string]any{
		"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AuthenticationConfiguration",
		"jwt": []map[string]any{{
			"issuer": iss,
			"claimValidationRules": []map[string]string{{"expression": fmt.Sprintf("claims.repository_owner_id == %q", ownerID),
				"message": fmt.Sprintf("the token is not from a repository of %s (owner id %s)", owner, ownerID)}},
			"claimMappings":       map[string]any{"username": map[string]string{"expression": username}},
			"userValidationRules": []map[string]string{{"expression": "!user.username.startsWith('system:')", "message": "the username must not start with system:"}},
		}},
	}
}

// User is the user AuthenticationConfig maps a job's token to: "gha:" +
// its default sub claim + ":repository_id:" + the repository's id.
func User(repo, ref, environment, repoID string) string {
	sub := "repo:" + repo + ":ref:" + ref
	if environment != "" {
		sub = "repo:" + repo + ":environment:" + environment
	}
	return "gha:" + sub + ":repository_id:" + repoID
}

// BindingName names the Role and RoleBinding for user, a user of
// repository repo: "gha-", a readable slug of repo, and the first 10 hex
// digits of the SHA-256 of the exact user, so that repositories whose slugs
// are equal (app.x, app_x, APP-X; long names cut alike), and the refs and
// environments of one repository, never share a name. A DNS label of at
// most 63 characters.
func BindingName(repo, user string) string {
	sum := sha256.Sum256([]byte(user))
	hash := hex.EncodeToString(sum[:])[:10]
	const maxSlug = 63 - len("gha-") - len("-") - 10
	slug := strings.Trim(notSlug.ReplaceAllString(strings.ToLower(repo), "-"), "-")
	if len(slug) > maxSlug {
		slug = strings.TrimRight(slug[:maxSlug], "-")
	}
	if slug == "" {
		return "gha-" + hash
	}
	return "gha-" + slug + "-" + hash
}
