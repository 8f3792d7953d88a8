#!/usr/bin/env bash
# make dist: the release artifacts, offline and reproducible.
#
#   dist/argo-cred_VERSION_OS_ARCH.tar.gz (.zip for windows)  the binary, README, CONTRIBUTING, docs/
#   dist/argo-cred_VERSION_OS_ARCH.sbom.json                  CycloneDX SBOM of the binary
#   dist/checksums.txt                                        SHA-256 of all of the above
#   dist/argo-cred.krew.yaml                                  the krew plugin manifest (kubectl argo-cred)
#   dist/docker-bake.json                                     the multi-arch images, for docker buildx bake
#
# dist.sh bake writes dist/docker-bake.json only: the release's images
# workflow (.github/workflows/images.yml) builds and pushes them from it. It
# takes the base images by digest (ARGOCLI_IMAGE, GO_IMAGE, each
# name[:tag]@sha256:…, resolved at release time) and refuses action.yml in
# its digest form: that commit's images are already pushed, and pushing
# again would move the tag away from the digest it names.
#
# A script rather than goreleaser: the same steps in ~100 lines, nothing to
# build first (goreleaser v2.15.1 is a large module graph to compile on every
# cold CI run), and every byte under control: -trimpath, -buildid=, the
# version from VERSION, commit and date stamped from the sources' commit
# (SOURCE_DATE_EPOCH), archives with fixed order, owners, modes and times. Two runs
# from one commit give identical bytes, and so do a release's tag commit and
# its parent, whose archives the tag pins for the setup action (setup/).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${DIST_DIR:-$root/dist}
# The version is VERSION's (make release-prep writes it), never git
# describe's: a release's tag commit and its parent name one version.
version=${VERSION:-$(cat VERSION)}
# The commit and date stamped are those of the sources: the newest commit
# that changed anything but what make release-prep pins after building the
# archives (action.yml's image, setup/checksums.txt). So the release's tag
# commit, which changes only those, builds the very bytes its parent built,
# whose SHA-256 it pins (docs/releases.md).
pinned=(':(exclude)action.yml' ':(exclude)setup/checksums.txt')
commit=$(git log -1 --format=%H -- . "${pinned[@]}" 2>/dev/null || true)
commit=${commit:-unknown}
epoch=$(git log -1 --format=%ct -- . "${pinned[@]}" 2>/dev/null || true)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-${epoch:-0}}
date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
platforms=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}
pkg=github.com/argo-cred/argo-cred/internal/version
ldflags="-s -w -buildid= -X $pkg.Version=$version -X $pkg.Commit=$commit -X $pkg.Date=$date"
log() { printf 'dist: %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }
mode=${1:-all}
[[ $mode == all || $mode == bake ]] || die "usage: dist.sh [bake]"

# The action's image as action.yml names it: by tag (…-action:vX.Y.Z, as on
# main) or, in a release commit, by digest (…-action@sha256:… # vX.Y.Z,
# make release-prep DIGEST=…).
action_yml=${ACTION_YML:-action.yml}
image_line=$(grep -E '^ *image: *docker://' "$action_yml") || die "$action_yml names no docker:// image"
action_repo=$(sed -E 's|^ *image: *docker://([^:@ ]+).*$|\1|' <<<"$image_line")
action_digest=$(sed -nE 's|^ *image: *docker://[^@ ]+@(sha256:[0-9a-f]*).*$|\1|p' <<<"$image_line")

# bake: the build arguments that name the base images by digest.
base_args=""
for arg in ARGOCLI_IMAGE GO_IMAGE; do
	ref=${!arg:-}
	if [[ -z $ref ]]; then
		[[ $mode == bake ]] && die "$arg is not set: the release's images are built from bases named by digest (name:tag@sha256:…)"
		continue
	fi
	[[ $ref =~ ^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$ ]] || die "$arg=$ref: want name[:tag]@sha256:<64 hex>"
	base_args+=", \"$arg\": \"$ref\""
done

# The images, for CI to build and push (docker buildx bake -f dist/docker-bake.json).
bake() {
	cat >"$out/docker-bake.json" <<JSON
{
  "group": {"default": {"targets": ["argo-cred", "action"]}},
  "target": {
    "argo-cred": {
      "dockerfile": "Dockerfile", "context": ".", "platforms": ["linux/amd64", "linux/arm64"],
      "args": {"VERSION": "$version", "REVISION": "$commit"$base_args},
      "tags": ["ghcr.io/argo-cred/argo-cred:$version"]
    },
    "action": {
      "dockerfile": "Dockerfile", "context": ".", "target": "action", "platforms": ["linux/amd64", "linux/arm64"],
      "args": {"VERSION": "$version", "REVISION": "$commit"$base_args},
      "tags": ["$action_repo:$version"]
    }
  }
}
JSON
}
if [[ $mode == bake ]]; then
	[[ -z $action_digest ]] || die "$action_yml names the action's image by digest ($action_digest): its images are pushed already; build them from the commit before (make release-prep V=$version, without DIGEST)"
	mkdir -p "$out"
	bake
	log "$out/docker-bake.json"
	exit 0
fi

cdx=$("$root/test/tools/tool.sh" cyclonedx-gomod)

# The Go go.mod names (its toolchain line, else its go line), whatever Go
# runs this (the go command fetches it from the module proxy): the release
# workflow builds with it (setup-go reads go.mod), and its archives must be
# byte for byte those make release-prep built and pinned elsewhere.
gover=$(sed -n 's/^toolchain //p' go.mod)
gover=${gover:-go$(sed -n 's/^go //p' go.mod)}
export GOTOOLCHAIN=$gover

rm -rf "$out"
mkdir -p "$out/build"
for p in $platforms; do
	os=${p%/*} arch=${p#*/}
	name=argo-cred_${version}_${os}_${arch}
	exe=argo-cred
	[[ $os == windows ]] && exe=argo-cred.exe
	log "$name"
	mkdir -p "$out/build/$name"
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$out/build/$name/$exe" ./cmd/argo-cred
	# The front page and the docs it links to, so that its links resolve in
	# the unpacked archive too.
	cp -R README.md CONTRIBUTING.md docs "$out/build/$name/"
	# Modes as the builder's umask left them would differ between a
	# maintainer's machine (0002) and CI (0022): fixed, like owners and times.
	chmod -R u=rwX,go=rX "$out/build/$name"
	find "$out/build/$name" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	if [[ $os == windows ]]; then
		# Files in name order, as tar --sort=name: the same bytes on any
		# filesystem, whatever order it lists a directory in.
		(cd "$out/build" && find "$name" | LC_ALL=C sort | TZ=UTC zip -q -X -@ "$out/$name.zip")
	else
		tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner -C "$out/build" -cf - "$name" | gzip -n -9 >"$out/$name.tar.gz"
	fi
	# No timestamp or serial number: the SBOM is reproducible too. The
	# binary need not run here ("go version -m" reads it).
	"$cdx" bin -json -notimestamp -noserial -std -version "$version" -output "$out/$name.sbom.json" "$out/build/$name/$exe"
done
(cd "$out" && shopt -s nullglob && sha256sum -- *.tar.gz *.zip *.sbom.json | LC_ALL=C sort -k2 >checksums.txt)

# krew: kubectl argo-cred, from the release's archives.
{
	printf 'apiVersion: krew.googlecontainertools.github.com/v1alpha2\nkind: Plugin\nmetadata:\n  name: argo-cred\nspec:\n'
	printf '  version: %s\n  homepage: https://github.com/argo-cred/argo-cred\n' "$version"
	printf '  shortDescription: A verified, least-privilege credential for the Argo Workflows Server\n'
	printf '  description: |\n    Gets a token, checks it against the Argo Server (allowed what it must, denied what it\n    must not), and prints the ARGO_* settings for the argo CLI.\n  platforms:\n'
	for p in $platforms; do
		os=${p%/*} arch=${p#*/} ext=tar.gz exe=argo-cred
		[[ $os == windows ]] && ext=zip exe=argo-cred.exe
		name=argo-cred_${version}_${os}_${arch}
		printf '  - selector:\n      matchLabels: {os: %s, arch: %s}\n' "$os" "$arch"
		printf '    uri: https://github.com/argo-cred/argo-cred/releases/download/%s/%s.%s\n' "$version" "$name" "$ext"
		printf '    sha256: %s\n' "$(sha256sum "$out/$name.$ext" | cut -d' ' -f1)"
		printf '    files:\n    - {from: %s/%s, to: .}\n    bin: %s\n' "$name" "$exe" "$exe"
	done
} >"$out/argo-cred.krew.yaml"

bake
rm -rf "$out/build"
log "$(ls "$out" | wc -l) files in $out"
