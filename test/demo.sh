#!/usr/bin/env bash
# The main job, end to end, against the local stack (make demo):
# the seed's identity is set up, argo-cred checks it and exports it, and the
# real argo CLI uses it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/.stack/env"
cred="$root/bin/argo-cred"
ns=demo

say() { printf '\n\033[1m$ %s\033[0m\n' "$*" >&2; }

# The seed's identity, created with the API directly (what a cluster admin
# does once): Role list,update on workflows, ServiceAccount, RoleBinding,
# and a kubernetes.io/service-account-token Secret.
kapply() {
	local code
	code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$STACK_DIR/pki/ca.crt" \
		--cert "$STACK_DIR/pki/admin.crt" --key "$STACK_DIR/pki/admin.key" \
		-X POST -H 'Content-Type: application/yaml' --data-binary @- "$STACK_APISERVER$1")
	[[ $code == 201 || $code == 409 ]] || { echo "demo: creating $1 failed with HTTP $code" >&2; exit 1; }
}
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' "$ns" | kapply /api/v1/namespaces
kapply "/apis/rbac.authorization.k8s.io/v1/namespaces/$ns/roles" <<'YAML'
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ci}
rules:
- apiGroups: [argoproj.io]
  resources: [workflows]
  verbs: [list, update]
YAML
printf 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: ci}\n' | kapply "/api/v1/namespaces/$ns/serviceaccounts"
kapply "/apis/rbac.authorization.k8s.io/v1/namespaces/$ns/rolebindings" <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ci}
subjects: [{kind: ServiceAccount, name: ci, namespace: $ns}]
YAML
kapply "/api/v1/namespaces/$ns/secrets" <<'YAML'
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata:
  name: ci-token
  annotations: {kubernetes.io/service-account.name: ci}
YAML
echo "demo: namespace $ns has Role, ServiceAccount, RoleBinding and Secret ci-token" >&2

export KUBECONFIG=$STACK_KUBECONFIG
server="--server $ARGO_SERVER --secure=false"

say argo-cred probe --secret ci-token --namespace $ns $server
"$cred" probe --secret ci-token --namespace "$ns" $server

say 'eval "$(argo-cred env --secret ci-token --namespace '$ns' '"$server"')"'
eval "$("$cred" env --secret ci-token --namespace "$ns" $server)"
env | grep -E '^(ARGO_(SERVER|TOKEN|HTTP1|SECURE|INSECURE_SKIP_VERIFY|NAMESPACE|BASE_HREF)|KUBECONFIG)=' | sed -E 's/^(ARGO_TOKEN=Bearer ).*/\1…(hidden here)/' | sort >&2

say argo list -n $ns
"$ARGO_BIN" list -n "$ns"

say "argo template list -n $ns   # refused: least privilege"
if "$ARGO_BIN" template list -n "$ns"; then
	echo "demo: listing templates was allowed; the credential is over-privileged" >&2
	exit 1
fi
printf '\ndemo: ok: argo-cred verified the credential, and argo used it\n' >&2
