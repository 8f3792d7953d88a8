#!/usr/bin/env bash
# make image: builds the argo-cred image offline. The binary is built on the
# host; when the argocli base is not present locally (no registry here), a
# stand-in base is built FROM scratch from the argo binary the local stack
# builds, the system's CA certificates and a passwd entry for uid 8737, and a
# busybox-static image stands in for the Go build stage (PREBUILT=true skips
# the Go build there). With a registry, `docker build .` builds the real image.
# Also builds the GitHub Action's image (Dockerfile target action) under the
# tag action.yml names. Prints the image's tag on stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
ARGO_VERSION=v3.7.9
tag=${IMAGE:-argo-cred:dev}
base=quay.io/argoproj/argocli:$ARGO_VERSION
standin=argo-cred/argocli-standin:$ARGO_VERSION
tools=argo-cred/build-tools:1 # busybox-static and CA certificates; bump when its content changes
log() { printf 'image: %s\n' "$*" >&2; }
# dbuild ARGS...: docker build, quiet unless it fails.
dbuild() {
	local out
	if ! out=$(docker build -q "$@" 2>&1); then
		printf '%s\n' "$out" | grep -v -e DEPRECATED -e 'legacy builder' -e buildx >&2
		log "docker build failed"
		exit 1
	fi
}

command -v docker >/dev/null || { log "the docker CLI is missing"; exit 2; }
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || { log "no Docker engine reachable (docker version failed)"; exit 2; }

make -C "$root" -s build >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! docker image inspect "$tools" >/dev/null 2>&1; then
	busybox=$(command -v busybox || true)
	[[ -n $busybox ]] && file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || busybox=/bin/busybox
	[[ -x $busybox ]] || { log "busybox-static is missing: apt-get install busybox-static"; exit 2; }
	mkdir -p "$work/tools/bin" "$work/tools/etc/ssl/certs" && cp "$busybox" "$work/tools/bin/busybox"
	cp /etc/ssl/certs/ca-certificates.crt "$work/tools/etc/ssl/certs/"
	printf 'FROM scratch\nCOPY bin/ /bin/\nCOPY etc/ /etc/\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nENV PATH=/bin\n' >"$work/tools/Dockerfile"
	log "building $tools (busybox-static) for the offline build stage"
	dbuild -t "$tools" "$work/tools"
fi

from=$base
if ! docker image inspect "$base" >/dev/null 2>&1; then
	from=$standin
	argo=$("$root/test/stack/binaries.sh")/argo
	r=$work/standin/rootfs
	mkdir -p "$r/bin" "$r/etc/ssl/certs" "$r/tmp" "$work/standin/home"
	cp "$argo" "$r/bin/argo"
	cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
	printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nargo:x:8737:8737:argo:/home/argo:/sbin/nologin\n' >"$r/etc/passwd"
	printf 'root:x:0:\nnobody:x:65534:\nargo:x:8737:\n' >"$r/etc/group"
	printf 'hosts: files dns\n' >"$r/etc/nsswitch.conf"
	chmod 1777 "$r/tmp"
	cat >"$work/standin/Dockerfile" <<DOCKERFILE
FROM scratch
COPY rootfs/ /
COPY --chown=8737:8737 home/ /home/argo/
ENV PATH=/usr/local/bin:/usr/bin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 8737
WORKDIR /home/argo
ENTRYPOINT ["argo"]
DOCKERFILE
	log "$base is not here (no registry): building the stand-in $standin FROM scratch (argo $ARGO_VERSION from the local stack, CA certificates, uid 8737)"
	dbuild -t "$standin" "$work/standin"
fi

version=$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)
# The action's image, under the exact tag action.yml names, so that
# `uses: ./` runs it on a machine with no registry.
action=$(sed -n 's|^ *image: *docker://\(.*\)$|\1|p' "$root/action.yml")
[[ -n $action ]] || { log "action.yml names no docker:// image"; exit 1; }
log "building $action (the GitHub Action's image)"
dbuild -t "$action" --target action \
	--build-arg ARGOCLI_IMAGE="$from" --build-arg GO_IMAGE="$tools" --build-arg PREBUILT=true --build-arg VERSION="$version" \
	"$root"
log "building $tag FROM $from"
dbuild -t "$tag" \
	--build-arg ARGOCLI_IMAGE="$from" --build-arg GO_IMAGE="$tools" --build-arg PREBUILT=true \
	--build-arg VERSION="$version" --build-arg REVISION="$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)" \
	"$root"
echo "$tag"
