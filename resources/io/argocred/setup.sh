# argoCred's setup, run by vars/argoCred.groovy as one sh step after a line
# `set -- FLAG…` holding argo-cred's flags, each shell-quoted. Nothing here
# holds the token: argo-cred writes it into $ARGO_CRED_DIR (mode 0700, made
# by mktemp -d), files of mode 0600, for body steps that source
# $ARGO_CRED_ENV; the argo wrapper gets its own through argo-cred exec.
umask 077
rc=0
"${ARGO_CRED_BIN:-argo-cred}" env "$@" --format jenkins --output-file "$ARGO_CRED_DIR/argo.properties" 2>"$ARGO_CRED_DIR/stderr" || rc=$?
cat "$ARGO_CRED_DIR/stderr" >&2
if [ "$rc" -ne 0 ]; then exit "$rc"; fi
# The settings the body's environment may show (withEnv does not mask):
# every line but the token's.
grep -v '^ARGO_TOKEN=' "$ARGO_CRED_DIR/argo.properties" >"$ARGO_CRED_DIR/public.properties" || :
mkdir "$ARGO_CRED_DIR/bin"
cat >"$ARGO_CRED_DIR/bin/argo" <<'WRAPPER'
#!/bin/sh
# argoCred's argo: the next argo CLI in PATH (or $ARGO_CRED_ARGO) run by
# argo-cred exec, the credential in its environment only. Run as a program,
# not traced by the sh -x of the step that calls it.
self=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd) || exit
auth= # argo auth token, flags or not between the words (argo auth -v token)
for a in "$@"; do
  if [ -n "$auth" ] && [ "$a" = token ]; then
    echo "argoCred: argo auth token would print the token; not run" >&2
    exit 2
  fi
  [ "$a" != auth ] || auth=1
done
argo=${ARGO_CRED_ARGO:-}
if [ -z "$argo" ]; then
  set -f; IFS=:
  for d in $PATH; do
    # not a relative entry (the workspace; exec.LookPath's rule), not this
    # wrapper, nor an enclosing argoCred block's
    case $d in /*) ;; *) continue ;; esac
    if [ "$d" != "$self" ] && [ ! -e "$d/.argo-cred-wrapper" ] && [ -f "$d/argo" ] && [ -x "$d/argo" ]; then argo=$d/argo; break; fi
  done
  unset IFS; set +f
fi
if [ -z "$argo" ]; then
  echo "argoCred: no argo CLI in PATH (or set the step's argo: parameter)" >&2
  exit 127
fi
WRAPPER
# The wrapper's last line: argo-cred exec with the step's flags, so that
# each argo gets the current token (a rotated Secret's, a new TokenRequest
# or OIDC one) and a long wait is renewed by exec's relay
# (docs/long-jobs.md). No probe (the step checked once) and no notes (the
# step printed them once, not at every argo). The token is in no
# file the wrapper reads.
{ set +x; } 2>/dev/null # the flags are traced above, in set --
bin=$(command -v "${ARGO_CRED_BIN:-argo-cred}") || exit 127
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
quote() { printf "'%s' " "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
{
  printf 'exec '; quote "$bin"; printf 'exec '
  for a; do quote "$a"; done
  printf '%s\n' '--probe=false --quiet -- "$argo" "$@"'
} >>"$ARGO_CRED_DIR/bin/argo"
chmod 0700 "$ARGO_CRED_DIR/bin/argo"
: >"$ARGO_CRED_DIR/bin/.argo-cred-wrapper"
