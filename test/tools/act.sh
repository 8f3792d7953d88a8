#!/usr/bin/env bash
# Builds (or reuses) nektos/act, the second, independent runner the action
# is tested with (cold: about 2 minutes). Prints the binary's path.
exec "$(dirname "$0")/tool.sh" act
