#!/usr/bin/env bash
# Differential test of the exposition parser against python3-prometheus-client's parsers (sums
# over the preset series of every fixture) and promtool's Go parser (every body promtool rejects
# is rejected too, at the same line). See tests/tools/promtext-diff.py.
set -euo pipefail
src=${OOMBREAKER_SOURCE_DIR:?}
tool=${OOMBREAKER_BINARY_DIR:?}/promtext-sum

if [[ ! -x $tool ]]; then
	echo "skip: $tool is not built" >&2
	exit 77
fi
if ! command -v promtool >/dev/null; then
	echo "skip: promtool (Debian package prometheus) is not installed" >&2
	exit 77
fi
if ! /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null; then
	echo "skip: python3-prometheus-client is not installed" >&2
	exit 77
fi
exec /usr/bin/python3 "$src/tests/tools/promtext-diff.py" "$tool" "$src" 60
