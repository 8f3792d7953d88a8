package github

import (
	"fmt"

	"github.com/argo-cred/argo-cred/internal/keyless"
)

// Issuer is the issuer of GitHub Actions' OIDC tokens.
const Issuer = "https://token.actions.githubusercontent.com"

// username is the CEL expression that maps a GitHub token to its user:
// the sub claim and, since a repository deleted and re-created under the
// same name gets a new id, the repository's id.
const username = `"gha:" + claims.sub + ":repository_id:" + claims.repository_id`

// AuthenticationConfig is the AuthenticationConfiguration (v1, Kubernetes
// 1.34; v1beta1 on 1.30–1.33) that trusts issuer's tokens for audience
// from repositories of the owner with id ownerID (named owner, which a
// re-registered organisation can take over; its id it cannot), mapping each
// to the user "gha:<sub>:repository_id:<repository_id>".
func AuthenticationConfig(issuer, caPEM, audience, owner, ownerID string) map[string]any {
	return keyless.AuthenticationConfig(issuer, caPEM, audience, ownerRules(owner, ownerID), username)
}

// ownerRules are the claimValidationRules of the owner with id ownerID.
func ownerRules(owner, ownerID string) []map[string]string {
	return []map[string]string{{"expression": fmt.Sprintf("claims.repository_owner_id == %q", ownerID),
		"message": fmt.Sprintf("the token is not from a repository of %s (owner id %s)", owner, ownerID)}}
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
	return keyless.BindingName("gha", repo, user)
}
