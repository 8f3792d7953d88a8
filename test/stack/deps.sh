#!/usr/bin/env bash
# Installs the Debian packages the local stack and the tests need, if any is
# missing: etcd-server (etcd), openssl, curl, zsh (one shell of the
# shell-format round trip). Needs root for apt-get; otherwise says what to run.
set -euo pipefail
pkgs=(etcd-server openssl curl zsh dash ca-certificates busybox-static groovy zip shellcheck bash-completion time)
missing=()
for p in "${pkgs[@]}"; do
	[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
if [[ $(id -u) != 0 ]]; then
	echo "deps: missing Debian packages: ${missing[*]}; run: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
