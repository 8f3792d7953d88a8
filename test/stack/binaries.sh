#!/usr/bin/env bash
# Builds (or reuses) the stack's binaries: kube-apiserver, kube-controller-manager
# and argo. They are cached by version, so this is a no-op once built.
# Prints the cache directory holding the binaries on stdout.
set -euo pipefail

K8S_VERSION=v1.34.2
ARGO_VERSION=v3.7.9
here=$(cd "$(dirname "$0")" && pwd)
cache=${ARGO_CRED_STACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/argo-cred/stack}
bin="$cache/k8s-$K8S_VERSION-argo-$ARGO_VERSION-lo"
mkdir -p "$bin"

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

build_argo() {
	[[ -x "$bin/argo" ]] && return
	log "building argo $ARGO_VERSION (cold: several minutes on 2 cores)"
	local start=$SECONDS mod src
	mod=$(cd "$here/k8s" && GOFLAGS=-mod=mod go mod download -json "github.com/argoproj/argo-workflows/v3@$ARGO_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[[ -d "$mod" ]] || { log "could not download github.com/argoproj/argo-workflows/v3@$ARGO_VERSION"; exit 1; }
	# The module zip lacks ui/dist/app, which the ui package embeds: build a
	# writable copy with a placeholder page, inside it so its go.mod applies.
	src="$cache/src/argo-workflows-$ARGO_VERSION"
	if [[ ! -f "$src/ui/dist/app/index.html" ]]; then
		rm -rf "$src" && mkdir -p "$(dirname "$src")"
		cp -r "$mod" "$src" && chmod -R u+w "$src"
		mkdir -p "$src/ui/dist/app" && echo '<!doctype html><title>argo</title>' >"$src/ui/dist/app/index.html"
		# Test servers listen on loopback only; upstream binds every interface.
		sed -i 's/address := fmt.Sprintf(":%d", port)/address := fmt.Sprintf("127.0.0.1:%d", port)/' "$src/server/apiserver/argoserver.go"
		grep -q '"127.0.0.1:%d"' "$src/server/apiserver/argoserver.go" || { log "could not patch the argo server's listen address"; exit 1; }
	fi
	local p=github.com/argoproj/argo-workflows/v3
	local total
	total=$(cd "$src" && go list -deps ./cmd/argo | wc -l)
	(cd "$src" && go build -v -trimpath -o "$bin/argo.tmp" \
		-ldflags "-s -w -X $p.version=$ARGO_VERSION -X $p.gitTag=$ARGO_VERSION -X $p.gitCommit=unknown -X $p.gitTreeState=clean" ./cmd/argo 2>&1 | progress argo "$total")
	mv "$bin/argo.tmp" "$bin/argo"
	log "built argo in $((SECONDS - start))s"
}

build_k8s kube-apiserver
build_k8s kube-controller-manager
build_argo
echo "$bin"
