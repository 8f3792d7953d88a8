#!/usr/bin/env bash
# Builds (or reuses) nektos/act, the second, independent runner the action
# is tested with, cached by version. Prints the binary's path on stdout.
# Cold: about 2 minutes on 2 cores.
set -euo pipefail
ACT_VERSION=v0.2.89
cache=${ARGO_CRED_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/argo-cred/tools}
bin="$cache/act-$ACT_VERSION"
if [[ ! -x $bin/act ]]; then
	echo "act: building nektos/act $ACT_VERSION (cold: about 2 minutes)" >&2
	mkdir -p "$bin"
	GOBIN="$bin" GOFLAGS=-mod=mod CGO_ENABLED=0 go install "github.com/nektos/act@$ACT_VERSION" >&2
fi
echo "$bin/act"
