#!/usr/bin/env bash
# Builds (or reuses) the stack's binaries: kube-apiserver, kube-controller-manager,
# argo and argo of the previous minor (the second Argo Server the profiles are
# measured on). They are cached by version, so this is a no-op once built.
#
#   binaries.sh          builds all; prints the directory of kube-apiserver,
#                        kube-controller-manager and argo on stdout
#   binaries.sh argo36   builds all; prints the directory of argo v3.6
set -euo pipefail

K8S_VERSION=v1.34.2
ARGO_VERSION=v3.7.9
# The newest v3.6 the Go module proxy serves here: it refuses v3.6.19 with
# 403 ("This module version is not available").
ARGO36_VERSION=v3.6.18
here=$(cd "$(dirname "$0")" && pwd)
cache=${ARGO_CRED_STACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/argo-cred/stack}
bin="$cache/k8s-$K8S_VERSION-argo-$ARGO_VERSION-lo"
bin36="$cache/argo-$ARGO36_VERSION-lo"
case ${1:-} in
"" | argo36) ;;
*) printf 'usage: binaries.sh [argo36]\n' >&2; exit 2 ;;
esac
mkdir -p "$bin" "$bin36"

log() { printf 'binaries: %s\n' "$*" >&2; }

# progress NAME TOTAL: reads `go build -v` output (one package a line) and
# says every 10% how far the build is; other lines (errors) pass through.
progress() {
	local name=$1 total=$2 n=0 step=$(($2 / 10 + 1)) line
	while IFS= read -r line; do
		if [[ $line =~ ^[a-zA-Z0-9._/~-]+$ ]]; then
			n=$((n + 1))
			((n % step == 0)) && log "$name: compiled $n of at most $total packages"
		else
			printf '%s\n' "$line" >&2
		fi
	done
	return 0
}
export GOFLAGS=-buildvcs=false CGO_ENABLED=0

build_k8s() {
	local name=$1
	[[ -x "$bin/$name" ]] && return
	log "building $name $K8S_VERSION (cold: several minutes on 2 cores)"
	local start=$SECONDS pkgs=(k8s.io/component-base/version k8s.io/client-go/pkg/version) ld="-s -w"
	for p in "${pkgs[@]}"; do
		ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=34 -X $p.gitTreeState=clean"
	done
	local total
	total=$(cd "$here/k8s" && go list -deps "k8s.io/kubernetes/cmd/$name" | wc -l)
	(cd "$here/k8s" && go build -v -trimpath -ldflags "$ld" -o "$bin/$name.tmp" "k8s.io/kubernetes/cmd/$name" 2>&1 | progress "$name" "$total")
	mv "$bin/$name.tmp" "$bin/$name"
	log "built $name in $((SECONDS - start))s"
}

# build_argo VERSION DIR: argo VERSION as DIR/argo.
build_argo() {
	local version=$1 dir=$2
	[[ -x "$dir/argo" ]] && return
	log "building argo $version (cold: several minutes on 2 cores)"
	local start=$SECONDS mod src
	mod=$(cd "$here/k8s" && GOFLAGS=-mod=mod go mod download -json "github.com/argoproj/argo-workflows/v3@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[[ -d "$mod" ]] || { log "could not download github.com/argoproj/argo-workflows/v3@$version"; exit 1; }
	# The module zip lacks ui/dist/app, which the ui package embeds (v3.7;
	# v3.6 embeds nothing): build a writable copy with a placeholder page,
	# inside it so its go.mod applies.
	src="$cache/src/argo-workflows-$version"
	if [[ ! -f "$src/ui/dist/app/index.html" ]]; then
		rm -rf "$src" && mkdir -p "$(dirname "$src")"
		cp -r "$mod" "$src" && chmod -R u+w "$src"
		# Test servers listen on loopback only; upstream binds every
		# interface (the same line in v3.6 and v3.7).
		sed -i 's/address := fmt.Sprintf(":%d", port)/address := fmt.Sprintf("127.0.0.1:%d", port)/' "$src/server/apiserver/argoserver.go"
		mkdir -p "$src/ui/dist/app" && echo '<!doctype html><title>argo</title>' >"$src/ui/dist/app/index.html"
	fi
	if ! grep -q 'address := fmt.Sprintf("127.0.0.1:%d", port)' "$src/server/apiserver/argoserver.go" ||
		grep -q 'Sprintf(":%d", port)' "$src/server/apiserver/argoserver.go"; then
		log "argo $version: could not patch the server's listen address to 127.0.0.1 in $src/server/apiserver/argoserver.go (upstream changed it?)"
		rm -rf "$src"
		exit 1
	fi
	local p=github.com/argoproj/argo-workflows/v3
	local total
	total=$(cd "$src" && go list -deps ./cmd/argo | wc -l)
	(cd "$src" && go build -v -trimpath -o "$dir/argo.tmp" \
		-ldflags "-s -w -X $p.version=$version -X $p.gitTag=$version -X $p.gitCommit=unknown -X $p.gitTreeState=clean" ./cmd/argo 2>&1 | progress "argo $version" "$total")
	mv "$dir/argo.tmp" "$dir/argo"
	log "built argo $version in $((SECONDS - start))s"
}

build_k8s kube-apiserver
build_k8s kube-controller-manager
build_argo "$ARGO_VERSION" "$bin"
build_argo "$ARGO36_VERSION" "$bin36"
if [[ ${1:-} == argo36 ]]; then echo "$bin36"; else echo "$bin"; fi
