#!/usr/bin/env bash
# make fuzz: every fuzz target for FUZZTIME each (default 5s, as CI runs it;
# the README reports a longer run). Fails on the first crasher, which Go
# saves under the package's testdata/fuzz for the unit tests to replay.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-5s}
targets=(
	"./internal/env FuzzParseServer"
	"./internal/token FuzzNormalize"
	"./internal/export FuzzWriters"
	"./internal/export FuzzShellAndJenkins"
	"./internal/redact FuzzText"
	"./internal/probe FuzzParseExpectation"
	"./internal/identity FuzzParseGrant"
	"./internal/cli FuzzActionInputs"
	"./test/actions FuzzGitHubEnvReadBack"
)
for target in "${targets[@]}"; do
	set -- $target
	if ! out=$(go test -run '^$' -fuzz "^$2\$" -fuzztime "$t" "$1" 2>&1); then
		printf '%s\n' "$out" >&2
		echo "fuzz: $2 ($1) failed" >&2
		exit 1
	fi
	line=$(grep -E '^fuzz: elapsed' <<<"$out" | tail -1)
	printf 'fuzz: %-22s %-20s %s\n' "$2" "$1" "${line#fuzz: }"
done
