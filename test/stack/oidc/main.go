// Command oidc-issuer is the local stack's OpenID Connect issuer, standing
// in for GitHub's (https://token.actions.githubusercontent.com), or with
// --flavour gitlab for a GitLab instance's (https://gitlab.com): it serves
// discovery and JWKS over HTTPS, as kube-apiserver's structured
// authentication needs, and, on a second, plain-HTTP port, a fake of the
// runner's ID-token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL) that mints
// GitHub-shaped tokens (GitLab-shaped ones: GitLab gives the job its
// id_tokens itself; the stack's stand-in for that is this endpoint too).
// Test use only; it listens on 127.0.0.1.
//
// The request token (Authorization: bearer …) chooses the claims:
// "req-" followed by base64url(JSON) of claims that override the defaults
// (a branch push of repository argo-cred-test/app, whose numeric ids are
// --owner-id and --repo-id, as GitHub's repository_owner_id and
// repository_id claims: strings of digits; for GitLab, a branch pipeline
// on main of project argo-cred-test/app, ids --project-id and
// --namespace-id, strings too). Two keys of the JSON
// are not claims: "ttl" (seconds until exp, default 300) and "untrusted"
// (sign with a key the issuer does not publish).
package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:22749", "HTTPS address of the issuer")
	tokenAddr := flag.String("token-addr", "127.0.0.1:22750", "plain HTTP address of the ID-token endpoint")
	cert := flag.String("cert", "", "TLS certificate")
	key := flag.String("key", "", "TLS key")
	signing := flag.String("signing-key", "", "PEM RSA key that signs the tokens")
	ownerID := flag.String("owner-id", "100", "the default repository_owner_id claim (the owner argo-cred-test)")
	repoID := flag.String("repo-id", "101", "the default repository_id claim (the repository argo-cred-test/app)")
	flavour := flag.String("flavour", "github", "whose tokens: github or gitlab")
	projectID := flag.String("project-id", "201", "gitlab: the default project_id claim (the project argo-cred-test/app)")
	namespaceID := flag.String("namespace-id", "200", "gitlab: the default namespace_id claim (the group argo-cred-test)")
	flag.Parse()
	defaults := map[string]map[string]any{
		"github": {"sub": "repo:argo-cred-test/app:ref:refs/heads/main", "repository": "argo-cred-test/app", "repository_owner": "argo-cred-test",
			"repository_id": *repoID, "repository_owner_id": *ownerID, "ref": "refs/heads/main", "ref_type": "branch", "sha": "0123456789abcdef",
			"workflow": "ci", "event_name": "push", "run_id": "1", "actor": "octocat", "runner_environment": "github-hosted"},
		// As GitLab's ID tokens: every id a string, ref_protected too.
		"gitlab": {"sub": "project_path:argo-cred-test/app:ref_type:branch:ref:main", "project_id": *projectID, "project_path": "argo-cred-test/app",
			"namespace_id": *namespaceID, "namespace_path": "argo-cred-test", "user_id": "1", "user_login": "root", "user_email": "root@example.com",
			"user_access_level": "owner", "pipeline_id": "1", "pipeline_source": "push", "job_id": "1", "ref": "main", "ref_type": "branch",
			"ref_path": "refs/heads/main", "ref_protected": "true", "runner_id": "1", "runner_environment": "self-hosted", "sha": "0123456789abcdef",
			"project_visibility": "private", "ci_config_ref_uri": "127.0.0.1/argo-cred-test/app//.gitlab-ci.yml@refs/heads/main", "jti": "job-1"},
	}[*flavour]
	if defaults == nil {
		log.Fatalf("unknown --flavour %q", *flavour)
	}
	b, err := os.ReadFile(*signing)
	if err != nil {
		log.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		log.Fatal("no PEM in the signing key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if k, err = x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
			log.Fatal(err)
		}
	}
	priv := k.(*rsa.PrivateKey)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	iss := "https://" + *addr
	kid := keyID(&priv.PublicKey)

	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"issuer": iss, "jwks_uri": iss + "/keys", "response_types_supported": []string{"id_token"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		pub := &priv.PublicKey
		writeJSON(w, map[string]any{"keys": []map[string]string{{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
			"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}}})
	})
	tokens := http.NewServeMux()
	tokens.HandleFunc("/idtoken", func(w http.ResponseWriter, r *http.Request) {
		req, ok := strings.CutPrefix(r.Header.Get("Authorization"), "bearer ")
		over := map[string]any{}
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(req, "req-"))
		if !ok || !strings.HasPrefix(req, "req-") || err != nil || json.Unmarshal(raw, &over) != nil {
			http.Error(w, `{"message":"bad request token"}`, http.StatusUnauthorized)
			return
		}
		aud := r.URL.Query().Get("audience")
		if aud == "" {
			http.Error(w, `{"message":"audience missing"}`, http.StatusBadRequest)
			return
		}
		now := time.Now().Unix()
		ttl := int64(300)
		if v, ok := over["ttl"].(float64); ok {
			ttl = int64(v)
		}
		claims := map[string]any{"iss": iss, "aud": aud, "iat": now, "nbf": now - 600, "exp": now + ttl}
		for k, v := range defaults {
			claims[k] = v
		}
		key := priv
		for k, v := range over {
			switch k {
			case "ttl":
			case "untrusted":
				key = other
			default:
				claims[k] = v
			}
		}
		writeJSON(w, map[string]string{"value": sign(key, kid, claims)})
	})
	go func() { log.Fatal(http.ListenAndServe(*tokenAddr, tokens)) }()
	log.Fatal(http.ListenAndServeTLS(*addr, *cert, *key, mux))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func keyID(pub *rsa.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	return b64(sum[:8])
}

// sign makes an RS256 JWS in compact form.
func sign(key *rsa.PrivateKey, kid string, claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	c, _ := json.Marshal(claims)
	input := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(fmt.Sprint("signing: ", err))
	}
	return input + "." + b64(sig)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
