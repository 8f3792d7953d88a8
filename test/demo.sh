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

# The seed's identity: Role list,update on workflows, ServiceAccount,
# RoleBinding, and a kubernetes.io/service-account-token Secret ci-token.
"$root/test/stack/identity.sh" "$ns" ci

export KUBECONFIG=$STACK_KUBECONFIG
server="--server $ARGO_SERVER --secure=false"

say argo-cred probe --secret ci-token --namespace $ns $server
"$cred" probe --secret ci-token --namespace "$ns" $server

say 'creds=$(argo-cred env --secret ci-token --namespace '$ns' '"$server"') || exit; eval "$creds"'
creds=$("$cred" env --secret ci-token --namespace "$ns" $server) || exit
eval "$creds"
env | grep -E '^ARGO_(SERVER|TOKEN|HTTP1|SECURE|INSECURE_SKIP_VERIFY|NAMESPACE|BASE_HREF)=' | sed -E 's/^(ARGO_TOKEN=Bearer ).*/\1…(hidden here)/' | sort >&2

say argo list -n $ns
"$ARGO_BIN" list -n "$ns"

say "argo template list -n $ns   # refused: least privilege"
if "$ARGO_BIN" template list -n "$ns"; then
	echo "demo: listing templates was allowed; the credential is over-privileged" >&2
	exit 1
fi
printf '\ndemo: ok: argo-cred verified the credential, and argo used it\n' >&2
