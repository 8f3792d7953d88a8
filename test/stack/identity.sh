#!/usr/bin/env bash
# identity.sh NAMESPACE NAME: the seed's identity on the local stack, made
# with the API directly (what a cluster admin does once): a Role with list
# and update on workflows, a ServiceAccount, a RoleBinding and a
# kubernetes.io/service-account-token Secret NAME-token. Idempotent.
set -euo pipefail
ns=${1:?usage: identity.sh NAMESPACE NAME} name=${2:?usage: identity.sh NAMESPACE NAME}
root=$(cd "$(dirname "$0")/../.." && pwd)
. "${STACK_DIR:-$root/.stack}/env"
# shellcheck source=test/stack/lib.sh
. "$root/test/stack/lib.sh"

printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n' "$ns" | kapply /api/v1/namespaces
kapply "/apis/rbac.authorization.k8s.io/v1/namespaces/$ns/roles" <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: $name}
rules:
- apiGroups: [argoproj.io]
  resources: [workflows]
  verbs: [list, update]
YAML
printf 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: %s}\n' "$name" | kapply "/api/v1/namespaces/$ns/serviceaccounts"
kapply "/apis/rbac.authorization.k8s.io/v1/namespaces/$ns/rolebindings" <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: $name}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: $name}
subjects: [{kind: ServiceAccount, name: $name, namespace: $ns}]
YAML
kapply "/api/v1/namespaces/$ns/secrets" <<YAML
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata:
  name: $name-token
  annotations: {kubernetes.io/service-account.name: $name}
YAML
echo "identity: $ns has Role, ServiceAccount and RoleBinding $name, and Secret $name-token" >&2
