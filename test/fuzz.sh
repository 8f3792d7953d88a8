#!/usr/bin/env bash
# make fuzz: every fuzz target in the module (or in the packages given as
# arguments, e.g. ./internal/...), found in the test files go list selects,
# each run for FUZZTIME (default 5s, as CI runs it). Prints one line per target,
# `fuzz: NAME PACKAGE SUMMARY`, then the count. Fails on the first crasher,
# which Go saves under the package's testdata/fuzz for the unit tests to
# replay.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-5s}
module=$(go list -m)
if [ $# -eq 0 ]; then
	set -- ./...
fi

# The fuzz targets of each package's test files, as the build constraints
# select them (go list), named by their declarations: no test binary is
# built or linked just to list them.
# shellcheck disable=SC2016 # a Go template, not shell
template='{{$d := .Dir}}{{.ImportPath}}{{range .TestGoFiles}} {{$d}}/{{.}}{{end}}{{range .XTestGoFiles}} {{$d}}/{{.}}{{end}}'
targets=()
while read -r pkg files; do
	[ -n "$files" ] || continue
	# shellcheck disable=SC2086 # files is a list of paths without spaces
	for name in $(grep -hoE '^func Fuzz[A-Za-z0-9_]*\(' $files | sed -E 's/^func //; s/\($//' | sort -u); do
		targets+=("$name ./${pkg#"$module"/}")
	done
done < <(go list -e -f "$template" "$@")
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no fuzz targets in $*" >&2
	exit 1
fi

baseline=0
for target in "${targets[@]}"; do
	read -r name pkg <<<"$target"
	if ! out=$(go test -run '^$' -fuzz "^$name\$" -fuzztime "$t" "$pkg" 2>&1); then
		printf '%s\n' "$out" >&2
		echo "fuzz: $name $pkg FAILED" >&2
		exit 1
	fi
	# Go's last progress line, without its rate (0/sec once stopped); one
	# still gathering baseline coverage says so: it did not fuzz.
	summary=$(grep -E '^fuzz: elapsed' <<<"$out" | tail -1 | sed -E 's/^fuzz: //; s/ \([0-9]+\/sec\)//' || true)
	printf 'fuzz: %-22s %-20s %s\n' "$name" "$pkg" "$summary"
	case $summary in *baseline*) baseline=$((baseline + 1)) ;; esac
done
note=
if [ "$baseline" -gt 0 ]; then
	note="; $baseline of them did not get past replaying the corpus (give a longer FUZZTIME)"
fi
echo "fuzz: ${#targets[@]} targets, $t each, no crasher$note (${SECONDS}s)"
