#!/usr/bin/env bash
# The setup action's one step (setup/action.yml): installs the argo-cred
# release archive for the runner's OS and architecture, verified against the
# SHA-256 this action pins (checksums.txt, written by make release-prep at
# release time), and puts it on PATH for the job's later steps.
#
# Inputs come from the environment, never from the script's text:
#   SETUP_OS, SETUP_ARCH   runner.os (Linux, macOS, Windows), runner.arch (X64, ARM64)
#   SETUP_VERSION          the release; empty: the one checksums.txt pins
#   SETUP_SHA256           the archive's SHA-256, for a version checksums.txt does not pin
#   SETUP_BASE_URL         releases at BASE/VERSION/ARCHIVE (https; http only to this machine)
# and RUNNER_TEMP, GITHUB_PATH, GITHUB_OUTPUT as the runner sets them.
#
# `install.sh archive OS ARCH VERSION` prints the archive's name (the
# mapping, tested on its own). Bash 3.2 (macOS) and Git bash (Windows).
#
# Nothing reaches PATH unless every check passed: a failure is one
# ::error:: annotation and the same plain line, and the directory it made
# is removed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest=''

fail() {
	# One line on each stream (the runner reads commands from both, and the
	# message may echo an input): CR and LF as spaces, % escaped for the
	# annotation's data.
	local msg=${1//[$'\r\n']/ }
	printf '::error title=argo-cred setup::%s\n' "${msg//\%/%25}"
	printf 'argo-cred setup: %s\n' "$msg" >&2
	[[ -z $dest ]] || rm -rf "$dest"
	exit 1
}

# archive OS ARCH VERSION: sets name, the name make dist gives this
# platform's archive (a global, so that fail exits the script, not a
# subshell).
archive() {
	local os arch ext=tar.gz
	case $1 in
	Linux) os=linux ;;
	macOS) os=darwin ;;
	Windows) os=windows ext=zip ;;
	*) fail "no argo-cred release for runner OS '$1' (there are for Linux, macOS and Windows)" ;;
	esac
	case $2 in
	X64) arch=amd64 ;;
	ARM64) arch=arm64 ;;
	*) fail "no argo-cred release for runner architecture '$2' on $1 (there are for X64 and ARM64)" ;;
	esac
	name=argo-cred_${3}_${os}_${arch}.$ext
}

if [[ ${1:-} == archive ]]; then
	[[ $# == 4 ]] || { echo "usage: install.sh archive OS ARCH VERSION" >&2; exit 2; }
	archive "$2" "$3" "$4"
	echo "$name"
	exit 0
fi

[[ -n ${GITHUB_PATH:-} && -n ${GITHUB_OUTPUT:-} ]] || fail "GITHUB_PATH or GITHUB_OUTPUT is not set: this is the setup action's step, for a GitHub Actions runner"

# The pinned version: the one every archive in checksums.txt names.
pinned=$(sed -nE 's/^[0-9a-f]{64} [ *]argo-cred_(v[0-9]+\.[0-9]+\.[0-9]+)_.*$/\1/p' "$here/checksums.txt" | sort -u)
[[ $pinned != *$'\n'* ]] || fail "checksums.txt pins more than one version: ${pinned//$'\n'/ }"
version=${SETUP_VERSION:-$pinned}
[[ -n $version ]] || fail "this action pins no release (a branch, not a release tag?): give the version input and its archive's sha256"
[[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "version '$version': want vX.Y.Z"
archive "${SETUP_OS:-}" "${SETUP_ARCH:-}" "$version"

# The SHA-256 the archive must have: pinned, or given for another version.
want=$(awk -v n="$name" '($2 == n || $2 == "*" n) { print $1 }' "$here/checksums.txt")
given=$(printf '%s' "${SETUP_SHA256:-}" | tr 'A-F' 'a-f')
if [[ -n $given ]]; then
	[[ $given =~ ^[0-9a-f]{64}$ ]] || fail "sha256 input: want 64 hex digits"
	[[ -z $want || $want == "$given" ]] || fail "sha256 input differs from the SHA-256 this action pins for $name"
	want=$given
fi
if [[ -z $want && $version != "$pinned" ]]; then
	fail "this action pins ${pinned:-no version}, not $version: use the setup action of $version (uses: argo-cred/argo-cred/setup@$version), or give the sha256 input from that release's signed checksums.txt"
fi
[[ -n $want ]] || fail "checksums.txt pins no SHA-256 for $name"

base=${SETUP_BASE_URL:-https://github.com/argo-cred/argo-cred/releases/download}
base=${base%/}
[[ $base =~ ^https:// || $base =~ ^http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?(/|$) ]] ||
	fail "base-url '$base': want https:// (or http:// to this machine)"
url=$base/$version/$name

# sha256sum on Linux and in Git bash, shasum on macOS.
if command -v sha256sum >/dev/null; then
	sum=(sha256sum)
elif command -v shasum >/dev/null; then
	sum=(shasum -a 256)
else
	fail "neither sha256sum nor shasum is on PATH: cannot verify the archive"
fi

temp=${RUNNER_TEMP:-${TMPDIR:-/tmp}}
dest=$(mktemp -d "$temp/argo-cred-setup.XXXXXX")
# Bounded (an archive is tens of MiB): a server sending without end must not
# fill the runner's disk. --max-filesize stops a transfer of unknown length
# from curl 8.4 on; ulimit -f, where it can be set, before (SIGXFSZ ignored:
# curl sees a write error and says so).
(
	ulimit -f 204800 2>/dev/null || :
	trap '' XFSZ 2>/dev/null || :
	exec curl -fsSL --retry 3 --max-time 300 --max-filesize 200M -o "$dest/$name" "$url"
) || fail "could not download $url"
got=$("${sum[@]}" "$dest/$name" | cut -d' ' -f1)
[[ $got == "$want" ]] || fail "$name from $url has SHA-256 $got, not the pinned $want: refused, nothing installed"

case $name in
*.zip)
	if command -v unzip >/dev/null; then
		unzip -q "$dest/$name" -d "$dest" || fail "could not unpack $name"
	else
		# Windows without unzip: PowerShell's own, given Windows paths.
		win=$dest
		if command -v cygpath >/dev/null; then win=$(cygpath -w "$dest"); fi
		powershell -NoProfile -NonInteractive -Command "Expand-Archive -LiteralPath '$win\\$name' -DestinationPath '$win'" || fail "could not unpack $name"
	fi
	exe=argo-cred.exe ;;
*)
	tar -xzf "$dest/$name" -C "$dest" || fail "could not unpack $name"
	exe=argo-cred ;;
esac
rm -f "$dest/$name"
bin=$dest/${name%.tar.gz}
bin=${bin%.zip}
[[ -f $bin/$exe ]] || fail "$name holds no $exe"
chmod +x "$bin/$exe"
# It runs here and is the version asked for.
said=$("$bin/$exe" version 2>/dev/null | head -1) || fail "$bin/$exe does not run on this runner"
[[ $said == *"$version"* ]] || fail "$bin/$exe says '$said', not $version"

if command -v cygpath >/dev/null; then bin=$(cygpath -w "$bin"); fi
printf '%s\n' "$bin" >>"$GITHUB_PATH"
{
	printf 'path=%s\n' "$bin"
	printf 'version=%s\n' "$version"
} >>"$GITHUB_OUTPUT"
echo "argo-cred $version: $name verified (SHA-256 $want), on PATH from $bin"
