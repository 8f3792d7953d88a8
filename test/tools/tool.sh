#!/usr/bin/env bash
# tool.sh NAME: builds (or reuses) a pinned Go tool the release process uses,
# cached by version; prints the binary's path on stdout.
set -euo pipefail
case ${1:-} in
cyclonedx-gomod) pkg=github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod version=v1.10.0 ;;
actionlint) pkg=github.com/rhysd/actionlint/cmd/actionlint version=v1.7.12 ;;
act) pkg=github.com/nektos/act version=v0.2.89 ;;
*) echo "usage: tool.sh cyclonedx-gomod|actionlint|act" >&2; exit 2 ;;
esac
cache=${ARGO_CRED_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/argo-cred/tools}
bin="$cache/$1-$version"
if [[ ! -x $bin/$1 ]]; then
	echo "tool: building $1 $version" >&2
	mkdir -p "$bin"
	GOBIN="$bin" GOFLAGS=-mod=mod CGO_ENABLED=0 go install "$pkg@$version" >&2
fi
echo "$bin/$1"
