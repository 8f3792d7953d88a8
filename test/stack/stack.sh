#!/usr/bin/env bash
# The local control plane and Argo Servers every test and the demo run against.
#
#   stack.sh up     start etcd, kube-apiserver, kube-controller-manager (token
#                   controller), four Argo Servers on 127.0.0.1 (three of
#                   v3.7, one of v3.6) and two OIDC issuers (GitHub's and a
#                   GitLab instance's stand-ins); idempotent
#   stack.sh down   stop exactly what "up" started and remove its state
#   stack.sh status say what runs
#
# "up" writes $STACK_DIR/env (default .stack/env), a file a shell can source.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${STACK_DIR:-$root/.stack}
ETCD_PORT=${STACK_ETCD_PORT:-23790}
ETCD_PEER_PORT=${STACK_ETCD_PEER_PORT:-23800}
APISERVER_PORT=${STACK_APISERVER_PORT:-26443}
ARGO_PORT=${STACK_ARGO_PORT:-22746}
ARGO_TLS_PORT=${STACK_ARGO_TLS_PORT:-22747}
ARGO_HYBRID_PORT=${STACK_ARGO_HYBRID_PORT:-22748}
ARGO36_PORT=${STACK_ARGO36_PORT:-22751} # argo server v3.6, plain HTTP: the profiles are measured on it too
OIDC_PORT=${STACK_OIDC_PORT:-22749}             # the OIDC issuer, HTTPS (GitHub's stand-in)
OIDC_TOKEN_PORT=${STACK_OIDC_TOKEN_PORT:-22750} # its fake ACTIONS_ID_TOKEN_REQUEST_URL, plain HTTP
GITLAB_PORT=${STACK_GITLAB_PORT:-22752}             # a GitLab instance's stand-in issuer, HTTPS (an issuer URL of its own)
GITLAB_TOKEN_PORT=${STACK_GITLAB_TOKEN_PORT:-22753} # its ID-token endpoint (what GitLab puts in id_tokens), plain HTTP
# kube-apiserver ends every watch after a random time between this and twice
# this (seconds; its default is 1800): short, so that the Argo Server's
# watches end during a test, as they do in every hour of a long job.
MIN_REQUEST_TIMEOUT=${STACK_MIN_REQUEST_TIMEOUT:-30}
OIDC_AUDIENCE=argo-cred-test
OIDC_OWNER=argo-cred-test
OIDC_OWNER_ID=100 # GitHub's numeric ids of the owner and of argo-cred-test/app (claims repository_owner_id, repository_id)
OIDC_REPO_ID=101
GITLAB_AUDIENCE=argo-cred # the default of oidc-config and of examples/gitlab-ci's id_tokens
GITLAB_PROJECT=argo-cred-test/app
GITLAB_PROJECT_ID=201 # GitLab's numeric ids of the project and of its group (claims project_id, namespace_id)
GITLAB_NAMESPACE_ID=200
ARGO_NS=argo
STACK_DIR=$dir STACK_APISERVER=https://127.0.0.1:$APISERVER_PORT
# shellcheck source=test/stack/lib.sh
. "$here/lib.sh"

log() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }

# fail NAME MESSAGE: one line, then the tail of the component's log.
fail() {
	printf 'stack: %s: %s (log: %s)\n' "$1" "$2" "$dir/log/$1.log" >&2
	[[ -f "$dir/log/$1.log" ]] && tail -n 20 "$dir/log/$1.log" | sed 's/^/  | /' >&2
	exit 1
}

alive() { [[ -f "$dir/pid/$1" ]] && kill -0 "$(cat "$dir/pid/$1")" 2>/dev/null; }

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start NAME PORT CMD...: start a component in the background with its pid file.
start() {
	local name=$1 port=$2
	shift 2
	if alive "$name"; then return; fi
	[[ $port == 0 ]] || port_free "$port" || die "$name: port 127.0.0.1:$port is in use by another program; stop it or set STACK_*_PORT (see test/stack/stack.sh)"
	"$@" >"$dir/log/$name.log" 2>&1 </dev/null &
	echo $! >"$dir/pid/$name"
}

# wait_for NAME SECONDS CMD...: poll CMD until it succeeds, failing if NAME dies.
wait_for() {
	local name=$1 limit=$2 deadline=$((SECONDS + $2))
	shift 2
	until "$@" >/dev/null 2>&1; do
		alive "$name" || fail "$name" "exited during start-up"
		((SECONDS < deadline)) || fail "$name" "not ready after ${limit}s"
		sleep 0.1
	done
}

kcurl() {
	curl -sS --fail-with-body --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" "$@"
}

# oidc_ready TOKEN-PORT AUDIENCE: the API server accepts that issuer's tokens.
oidc_ready() {
	local req tok
	req="req-$(printf '{}' | base64 -w0 | tr '+/' '-_' | tr -d '=')"
	tok=$(curl -sf -H "Authorization: bearer $req" "http://127.0.0.1:$1/idtoken?api-version=2.0&audience=$2" | sed -n 's/.*"value":"\([^"]*\)".*/\1/p')
	[[ -n $tok ]] && curl -sf --cacert "$dir/pki/ca.crt" -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' -X POST \
		-d '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}' \
		"https://127.0.0.1:$APISERVER_PORT/apis/authentication.k8s.io/v1/selfsubjectreviews" | grep -q '"username"'
}

argo_ready() {
	local code
	code=$(curl -sk -o /dev/null -w '%{http_code}' "$1/api/v1/version") || return 1
	[[ $code == 200 || $code == 401 ]]
}

pki() {
	[[ -f "$dir/pki/done" ]] && return
	local p="$dir/pki" sub
	mkdir -p "$p"
	openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=argo-cred-stack-ca" \
		-keyout "$p/ca.key" -out "$p/ca.crt" 2>/dev/null
	# cert NAME SUBJECT [SAN]
	cert() {
		openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$p/$1.key" -out "$p/$1.csr" 2>/dev/null
		if [[ -n ${3:-} ]]; then printf 'subjectAltName=%s\n' "$3" >"$p/$1.ext"; else : >"$p/$1.ext"; fi
		openssl x509 -req -in "$p/$1.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 365 \
			-extfile "$p/$1.ext" -out "$p/$1.crt" 2>/dev/null
	}
	cert apiserver "/CN=kube-apiserver" "IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc"
	cert admin "/O=system:masters/CN=stack-admin"
	cert argo-server "/CN=argo-server" "IP:127.0.0.1,DNS:localhost"
	cert oidc "/CN=oidc-issuer" "IP:127.0.0.1"
	openssl genrsa -out "$p/oidc-signing.key" 2048 2>/dev/null
	openssl genrsa -out "$p/sa.key" 2048 2>/dev/null
	openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
	# The Argo Servers' own identity is a static token: with a client
	# certificate in their kubeconfig every forwarded token would run as admin.
	sub=$(openssl rand -hex 24)
	printf '%s,argo-server,argo-server,system:masters\n' "$sub" >"$p/tokens.csv"
	echo "$sub" >"$p/argo-server.token"
	chmod 600 "$p"/*.key "$p/tokens.csv" "$p/argo-server.token"
	touch "$p/done"
}

kubeconfig() { # FILE USER-YAML
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: stack
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $dir/pki/ca.crt
users:
- name: user
  user:
$2
contexts:
- name: stack
  context: {cluster: stack, user: user, namespace: $ARGO_NS}
current-context: stack
EOF
	chmod 600 "$1"
}

up() {
	local t0=$SECONDS bin bin36
	"$here/deps.sh"
	for tool in etcd openssl curl go; do
		command -v "$tool" >/dev/null || die "$tool is not installed; run .ci/run once, or: apt-get install etcd-server openssl curl"
	done
	bin=$("$here/binaries.sh")
	bin36=$("$here/binaries.sh" argo36)
	mkdir -p "$dir/log" "$dir/pid" "$dir/manifests"
	pki
	kubeconfig "$dir/admin.kubeconfig" "    client-certificate: $dir/pki/admin.crt
    client-key: $dir/pki/admin.key"
	kubeconfig "$dir/argo-server.kubeconfig" "    tokenFile: $dir/pki/argo-server.token"

	start etcd "$ETCD_PORT" etcd --name stack --data-dir "$dir/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "stack=http://127.0.0.1:$ETCD_PEER_PORT" --quota-backend-bytes 1073741824
	wait_for etcd 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"

	# The OIDC issuer first: kube-apiserver fetches its discovery document at
	# start-up (and retries only every 10 s).
	(cd "$root" && go build -o "$dir/oidc-issuer" ./test/stack/oidc && go build -o "$dir/argo-cred" ./cmd/argo-cred)
	start oidc-issuer "$OIDC_PORT" "$dir/oidc-issuer" --addr "127.0.0.1:$OIDC_PORT" --token-addr "127.0.0.1:$OIDC_TOKEN_PORT" \
		--cert "$dir/pki/oidc.crt" --key "$dir/pki/oidc.key" --signing-key "$dir/pki/oidc-signing.key" \
		--owner-id "$OIDC_OWNER_ID" --repo-id "$OIDC_REPO_ID"
	[[ -f "$dir/pki/gitlab-signing.key" ]] || (umask 077 && openssl genrsa -out "$dir/pki/gitlab-signing.key" 2048 2>/dev/null)
	start gitlab-issuer "$GITLAB_PORT" "$dir/oidc-issuer" --flavour gitlab --addr "127.0.0.1:$GITLAB_PORT" --token-addr "127.0.0.1:$GITLAB_TOKEN_PORT" \
		--cert "$dir/pki/oidc.crt" --key "$dir/pki/oidc.key" --signing-key "$dir/pki/gitlab-signing.key" \
		--project-id "$GITLAB_PROJECT_ID" --namespace-id "$GITLAB_NAMESPACE_ID"
	wait_for oidc-issuer 30 curl -sf --cacert "$dir/pki/ca.crt" "https://127.0.0.1:$OIDC_PORT/.well-known/openid-configuration"
	wait_for gitlab-issuer 30 curl -sf --cacert "$dir/pki/ca.crt" "https://127.0.0.1:$GITLAB_PORT/.well-known/openid-configuration"
	# Structured authentication (GA in 1.34): the issuer's tokens, for
	# audience argo-cred-test, from repositories of the owner whose id is
	# $OIDC_OWNER_ID, map to the user "gha:<sub>:repository_id:<id>": what
	# argo-cred oidc-config --github-owner-id $OIDC_OWNER_ID prints. Written to a
	# temporary file and renamed: a running kube-apiserver reloads it whole.
	{
		printf 'apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\njwt:\n- issuer:\n'
		printf '    url: https://127.0.0.1:%s\n    audiences:\n    - %s\n    certificateAuthority: |\n' "$OIDC_PORT" "$OIDC_AUDIENCE"
		sed 's/^/      /' "$dir/pki/ca.crt"
		printf '  claimValidationRules:\n  - expression: \x27claims.repository_owner_id == "%s"\x27\n    message: \x27the token is not from a repository of %s (owner id %s)\x27\n' "$OIDC_OWNER_ID" "$OIDC_OWNER" "$OIDC_OWNER_ID"
		printf '  claimMappings:\n    username:\n      expression: \x27"gha:" + claims.sub + ":repository_id:" + claims.repository_id\x27\n'
		printf '  userValidationRules:\n  - expression: "!user.username.startsWith(\x27system:\x27)"\n    message: \x27the username must not start with system:\x27\n'
		# The GitLab issuer's entry: what argo-cred oidc-config --gitlab-project
		# prints, by the argo-cred of this tree (its jwt list, after "jwt:").
		env -i PATH="$PATH" HOME="$dir" "$dir/argo-cred" oidc-config --gitlab-project "$GITLAB_PROJECT" \
			--gitlab-project-id "$GITLAB_PROJECT_ID" --gitlab-namespace-id "$GITLAB_NAMESPACE_ID" --audience "$GITLAB_AUDIENCE" \
			--issuer "https://127.0.0.1:$GITLAB_PORT" --issuer-ca-file "$dir/pki/ca.crt" --only authentication-config |
			sed -n '/^jwt:$/,/^kind:/{/^jwt:$/d;/^kind:/d;p;}'
	} >"$dir/auth-config.yaml.tmp"
	grep -q "claims.project_id == \"$GITLAB_PROJECT_ID\"" "$dir/auth-config.yaml.tmp" || die "argo-cred oidc-config --gitlab-project printed no jwt entry"
	mv "$dir/auth-config.yaml.tmp" "$dir/auth-config.yaml"

	# An audit log of every request's metadata: the load test counts the
	# requests argo-cred makes from it.
	printf 'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n' >"$dir/audit-policy.yaml"

	start kube-apiserver "$APISERVER_PORT" "$bin/kube-apiserver" \
		--etcd-servers "http://127.0.0.1:$ETCD_PORT" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
		--tls-cert-file "$dir/pki/apiserver.crt" --tls-private-key-file "$dir/pki/apiserver.key" \
		--client-ca-file "$dir/pki/ca.crt" --token-auth-file "$dir/pki/tokens.csv" \
		--service-account-issuer https://kubernetes.default.svc \
		--service-account-key-file "$dir/pki/sa.pub" --service-account-signing-key-file "$dir/pki/sa.key" \
		--authorization-mode Node,RBAC --service-cluster-ip-range 10.96.0.0/24 \
		--enable-priority-and-fairness=false --endpoint-reconciler-type none \
		--authentication-config "$dir/auth-config.yaml" --min-request-timeout "$MIN_REQUEST_TIMEOUT" \
		--audit-policy-file "$dir/audit-policy.yaml" --audit-log-path "$dir/log/audit.log" --audit-log-maxsize 200
	wait_for kube-apiserver 90 kcurl "https://127.0.0.1:$APISERVER_PORT/readyz"
	# The JWT authenticator is usable once it has read the issuer's discovery
	# document; until then its tokens get 401.
	wait_for kube-apiserver 30 oidc_ready "$OIDC_TOKEN_PORT" "$OIDC_AUDIENCE"
	wait_for kube-apiserver 30 oidc_ready "$GITLAB_TOKEN_PORT" "$GITLAB_AUDIENCE"

	start kube-controller-manager 0 "$bin/kube-controller-manager" \
		--kubeconfig "$dir/admin.kubeconfig" --controllers serviceaccount-token,serviceaccount,namespace \
		--service-account-private-key-file "$dir/pki/sa.key" --root-ca-file "$dir/pki/ca.crt" \
		--leader-elect=false --secure-port 0 --use-service-account-credentials=false

	local crds
	crds=$(GOFLAGS=-mod=mod go mod download -json "github.com/argoproj/argo-workflows/v3@v3.7.9" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/manifests/base/crds/minimal
	for f in "$crds"/argoproj.io_*.yaml; do
		kapply /apis/apiextensions.k8s.io/v1/customresourcedefinitions <"$f"
	done
	for r in workflows workflowtemplates cronworkflows clusterworkflowtemplates; do
		wait_for kube-apiserver 30 kcurl "https://127.0.0.1:$APISERVER_PORT/apis/argoproj.io/v1alpha1/$r?limit=1"
	done
	printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' "$ARGO_NS" >"$dir/manifests/ns.yaml"
	kapply /api/v1/namespaces <"$dir/manifests/ns.yaml"
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: workflow-controller-configmap}\n' >"$dir/manifests/cm.yaml"
	kapply "/api/v1/namespaces/$ARGO_NS/configmaps" <"$dir/manifests/cm.yaml"
	printf 'apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata: {name: argo-server-tls}\ndata:\n  tls.crt: %s\n  tls.key: %s\n' \
		"$(base64 -w0 "$dir/pki/argo-server.crt")" "$(base64 -w0 "$dir/pki/argo-server.key")" >"$dir/manifests/tls.yaml"
	chmod 600 "$dir/manifests/tls.yaml"
	kapply "/api/v1/namespaces/$ARGO_NS/secrets" <"$dir/manifests/tls.yaml"

	local common=(server --kubeconfig "$dir/argo-server.kubeconfig" --namespace "$ARGO_NS" --loglevel warn)
	# env -i: the servers must not pick up a developer's ARGO_* settings. KUBECONFIG too:
	# in client auth mode argo builds each per-token client from the default
	# loading rules, not from --kubeconfig.
	start argo-server "$ARGO_PORT" env -i HOME="$dir" PATH=/usr/bin:/bin KUBECONFIG="$dir/argo-server.kubeconfig" "$bin/argo" "${common[@]}" \
		--auth-mode client --secure=false --port "$ARGO_PORT"
	start argo-server-tls "$ARGO_TLS_PORT" env -i HOME="$dir" PATH=/usr/bin:/bin KUBECONFIG="$dir/argo-server.kubeconfig" "$bin/argo" "${common[@]}" \
		--auth-mode client --secure=true --tls-certificate-secret-name argo-server-tls --port "$ARGO_TLS_PORT"
	start argo-server-hybrid "$ARGO_HYBRID_PORT" env -i HOME="$dir" PATH=/usr/bin:/bin KUBECONFIG="$dir/argo-server.kubeconfig" "$bin/argo" "${common[@]}" \
		--auth-mode client --auth-mode server --secure=false --port "$ARGO_HYBRID_PORT"
	# The previous minor, as the plain one: the profiles are measured on both.
	start argo-server-v36 "$ARGO36_PORT" env -i HOME="$dir" PATH=/usr/bin:/bin KUBECONFIG="$dir/argo-server.kubeconfig" "$bin36/argo" "${common[@]}" \
		--auth-mode client --secure=false --port "$ARGO36_PORT"
	wait_for argo-server 60 argo_ready "http://127.0.0.1:$ARGO_PORT"
	wait_for argo-server-tls 60 argo_ready "https://127.0.0.1:$ARGO_TLS_PORT"
	wait_for argo-server-hybrid 60 argo_ready "http://127.0.0.1:$ARGO_HYBRID_PORT"
	wait_for argo-server-v36 60 argo_ready "http://127.0.0.1:$ARGO36_PORT"
	alive kube-controller-manager || fail kube-controller-manager "exited during start-up"

	# The stand-in for Argo's workflow controller (test/stack/controller):
	# it runs only workflows annotated argo-cred.test/duration, without pods,
	# so that argo submit --wait, wait and watch wait for real.
	(cd "$root" && go build -o "$dir/stand-in-controller" ./test/stack/controller)
	start stand-in-controller 0 "$dir/stand-in-controller" --kubeconfig "$dir/admin.kubeconfig"
	wait_for stand-in-controller 30 grep -q "^watching workflows" "$dir/log/stand-in-controller.log"

	cat >"$dir/env.tmp" <<EOF
# Written by test/stack/stack.sh up. Source it: . .stack/env
STACK_DIR='$dir'
STACK_KUBECONFIG='$dir/admin.kubeconfig'
STACK_CA_FILE='$dir/pki/ca.crt'
STACK_APISERVER='https://127.0.0.1:$APISERVER_PORT'
STACK_ARGO_NAMESPACE='$ARGO_NS'
ARGO_SERVER='127.0.0.1:$ARGO_PORT'
ARGO_SERVER_TLS='127.0.0.1:$ARGO_TLS_PORT'
ARGO_SERVER_HYBRID='127.0.0.1:$ARGO_HYBRID_PORT'
ARGO_BIN='$bin/argo'
ARGO_SERVER_V36='127.0.0.1:$ARGO36_PORT'
ARGO36_BIN='$bin36/argo'
STACK_OIDC_ISSUER='https://127.0.0.1:$OIDC_PORT'
STACK_OIDC_TOKEN_URL='http://127.0.0.1:$OIDC_TOKEN_PORT/idtoken?api-version=2.0'
STACK_OIDC_AUDIENCE='$OIDC_AUDIENCE'
STACK_OIDC_OWNER_ID='$OIDC_OWNER_ID'
STACK_OIDC_REPO_ID='$OIDC_REPO_ID'
STACK_AUTH_CONFIG='$dir/auth-config.yaml'
STACK_GITLAB_ISSUER='https://127.0.0.1:$GITLAB_PORT'
STACK_GITLAB_TOKEN_URL='http://127.0.0.1:$GITLAB_TOKEN_PORT/idtoken'
STACK_GITLAB_AUDIENCE='$GITLAB_AUDIENCE'
STACK_GITLAB_PROJECT='$GITLAB_PROJECT'
STACK_GITLAB_PROJECT_ID='$GITLAB_PROJECT_ID'
STACK_GITLAB_NAMESPACE_ID='$GITLAB_NAMESPACE_ID'
STACK_MIN_REQUEST_TIMEOUT='$MIN_REQUEST_TIMEOUT'
STACK_AUDIT_LOG='$dir/log/audit.log'
export STACK_DIR STACK_KUBECONFIG STACK_CA_FILE STACK_APISERVER STACK_ARGO_NAMESPACE ARGO_SERVER ARGO_SERVER_TLS ARGO_SERVER_HYBRID ARGO_BIN
export ARGO_SERVER_V36 ARGO36_BIN
export STACK_OIDC_ISSUER STACK_OIDC_TOKEN_URL STACK_OIDC_AUDIENCE STACK_OIDC_OWNER_ID STACK_OIDC_REPO_ID STACK_AUTH_CONFIG
export STACK_MIN_REQUEST_TIMEOUT STACK_AUDIT_LOG
export STACK_GITLAB_ISSUER STACK_GITLAB_TOKEN_URL STACK_GITLAB_AUDIENCE STACK_GITLAB_PROJECT STACK_GITLAB_PROJECT_ID STACK_GITLAB_NAMESPACE_ID
EOF
	mv "$dir/env.tmp" "$dir/env"
	log "up in $((SECONDS - t0))s; source $dir/env"
}

down() {
	[[ -d "$dir/pid" ]] || { log "nothing to stop"; rm -rf "$dir"; return; }
	local name pid
	# Reverse start order: the stand-in controller, Argo Servers, controller manager, apiserver, etcd.
	for name in stand-in-controller argo-server-v36 argo-server-hybrid argo-server-tls argo-server kube-controller-manager kube-apiserver gitlab-issuer oidc-issuer etcd; do
		alive "$name" || continue
		pid=$(cat "$dir/pid/$name")
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
	done
	rm -rf "$dir"
	log "down"
}

status() {
	local name rc=0
	for name in etcd oidc-issuer gitlab-issuer kube-apiserver kube-controller-manager argo-server argo-server-tls argo-server-hybrid argo-server-v36 stand-in-controller; do
		if alive "$name"; then echo "$name: running (pid $(cat "$dir/pid/$name"))"; else echo "$name: stopped"; rc=1; fi
	done
	return $rc
}

case ${1:-} in
up) up ;;
down) down ;;
status) status ;;
*) die "usage: stack.sh up|down|status" ;;
esac
