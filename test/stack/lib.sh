# shellcheck shell=bash
# Shared by stack.sh and identity.sh. Source it with STACK_DIR (the stack's
# state) and STACK_APISERVER (https://127.0.0.1:PORT) set.

# kapply PATH < YAML: create an object with the stack's admin certificate;
# one that exists already is fine.
kapply() {
	local code out
	out=$(mktemp)
	code=$(curl -sS --cacert "$STACK_DIR/pki/ca.crt" --cert "$STACK_DIR/pki/admin.crt" --key "$STACK_DIR/pki/admin.key" \
		-o "$out" -w '%{http_code}' -X POST -H 'Content-Type: application/yaml' \
		--data-binary @- "$STACK_APISERVER$1" || true)
	if [[ $code != 201 && $code != 409 ]]; then
		printf '%s: creating %s failed with HTTP %s: %s\n' "$(basename "$0" .sh)" "$1" "$code" "$(head -c 300 "$out")" >&2
		rm -f "$out"
		exit 1
	fi
	rm -f "$out"
}
