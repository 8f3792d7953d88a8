#!/usr/bin/env bash
# make demo: the whole story a new user needs, against the local stack, in
# about a minute. A platform engineer provisions a client for a job; the job
# submits a workflow with it (argo-cred exec, then the shell recipe); a token
# with more access than the job needs is refused before argo runs; the
# client's token is rotated while a job runs; the client is revoked, with the
# Argo Server's 401 as proof. Every command is printed before it runs,
# exactly as a user would type it: `$` is the platform engineer's shell,
# `job$` the CI job's.
#
# The stack runs no workflow controller, so a submitted workflow stays
# Pending: the job submits without --wait and then lists and gets it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/.stack/env"
PATH="$root/bin:$(dirname "$ARGO_BIN"):$PATH"
export PATH
unset ARGO_TOKEN ARGO_NAMESPACE ARGO_HTTP1 ARGO_INSECURE_SKIP_VERIFY ARGO_BASE_HREF
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cp "$root/examples/jenkins/workflow.yaml" .

bold=$'\033[1m' dim=$'\033[2m' off=$'\033[0m'
[[ -t 2 ]] || bold='' dim='' off=''
say() { printf '\n%s%s%s\n' "$bold" "$*" "$off" >&2; }
note() { printf '%s# %s%s\n' "$dim" "$*" "$off" >&2; }
chapter() { printf '\n%s== %s ==%s\n' "$bold" "$*" "$off" >&2; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# run PROMPT LINE...: prints each line after PROMPT, then runs it. A line
# "!N COMMAND" must fail with exit code N.
run() {
	local prompt=$1 line want code
	shift
	for line in "$@"; do
		want=0
		if [[ $line =~ ^!([0-9]+)\ (.*)$ ]]; then
			want=${BASH_REMATCH[1]} line=${BASH_REMATCH[2]}
		fi
		say "$prompt $line"
		code=0
		eval "$line" || code=$?
		[[ $code == "$want" ]] || die "exit $code; want $want"
		if [[ $want != 0 ]]; then note "exit $code, as it should"; fi
	done
	return 0
}
# platform LINE...: in the platform engineer's shell (this one).
platform() { run '$' "$@"; }
# job LINE...: in a shell of the CI job's own (a subshell: what it sources
# stays there). Here the job reads the token Secret with the platform
# engineer's kubeconfig; a job's own needs only get and watch on it.
job() { (run 'job$' "$@"); }

chapter "The cluster side: a client for the job"
note "the platform engineer's kubeconfig, and the local Argo Server (plain HTTP on loopback)"
platform "export KUBECONFIG=$STACK_KUBECONFIG ARGO_SERVER=$ARGO_SERVER ARGO_SECURE=false"
# The namespace, once, as a cluster admin would (kubectl create namespace
# demo), with the stack's admin certificate: kubectl is not part of the stack.
# shellcheck source=test/stack/lib.sh
. "$root/test/stack/lib.sh"
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n' | kapply /api/v1/namespaces
note "a Role with exactly what the job does (--for: the profiles of its argo commands, submit, and list and get: read), a ServiceAccount, a RoleBinding and a token Secret; the token is probed, then copied to build-token-current, where --client finds it"
platform 'argo-cred provision --client build --namespace demo --for submit,read'

chapter "The job: submit with a verified credential"
note "exec checks the token (can it create workflows? nothing more?), then runs argo with it: no token in the shell, a file or the trace"
job 'argo-cred exec --client build --namespace demo --for submit,read -- argo submit -n demo workflow.yaml'
note "or the settings for several commands: written to a private file, then sourced (safe under sh -x); || exit stops the job if argo-cred fails"
job 'argo-cred env --client build --namespace demo --for submit,read --output-file argo.sh || exit' \
	'. ./argo.sh' \
	'argo list -n demo' \
	'argo get -n demo @latest'

chapter "A token with more access than the job needs is refused"
note "someone granted a client the workflow templates too"
platform 'argo-cred provision --client greedy --namespace demo --for submit,read --allow workflowtemplates:list'
note "the job's check refuses it (exit 7) and argo never runs"
job '!7 argo-cred exec --client greedy --namespace demo --for submit,read -- argo submit -n demo workflow.yaml'

chapter "Rotate while a job runs"
note "a job with a token of its own (--bind: a TokenRequest token bound to a per-run Secret, deleted when the job ends); it submits, then waits for the rotation to finish before it reads the workflow back"
running="argo-cred exec --service-account build --namespace demo --for submit,read --bind -- sh -c 'wf=\$(argo submit -n demo workflow.yaml -o name) && echo \"submitted \$wf\" && while [ ! -e rotated ]; do sleep 1; done && argo get -n demo \"\$wf\"' >job.log 2>&1"
say "job\$ $running &"
eval "$running &"
running=$!
note "a new token Secret, probed and made current (build-token-current holds it); the old one deleted; every old token proven refused"
platform 'argo-cred rotate --client build --namespace demo' 'touch rotated'
say '$ wait'
wait "$running" || die "the running job failed: $(cat job.log)"
note "the running job's log: its token outlived the rotation"
sed 's/^/  /' job.log >&2
note "the settings the first job wrote before the rotation: the Argo Server refuses that token now"
job '!1 . ./argo.sh && argo list -n demo'

chapter "Revoke"
note "the client's token Secrets deleted, the Argo Server's 401 awaited as proof; --purge removes its Role, RoleBinding and ServiceAccount too"
platform 'argo-cred revoke --client build --namespace demo --purge' \
	'argo-cred revoke --client greedy --namespace demo --purge' \
	'argo-cred clients --namespace demo'

printf '\n%sdemo: ok: provisioned, submitted, refused, rotated under a running job, revoked with proof%s\n' "$bold" "$off" >&2
