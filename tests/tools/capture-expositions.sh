#!/usr/bin/env bash
# Regenerates the captured fixtures in tests/fixtures/exposition/ from real client_golang and
# python prometheus_client programs (tests/tools/golang-exporter, tests/tools/python-exporter.py),
# asking each for the text format 0.0.4 and for OpenMetrics. Run by hand; the fixtures are
# committed. Each fixture starts with `## ` header lines naming its source, which the tests strip.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=tests/fixtures/exposition
tmp=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

GO111MODULE=off GOPATH=/usr/share/gocode go build -o "$tmp/golang-exporter" ./tests/tools/golang-exporter
"$tmp/golang-exporter" >"$tmp/go.addr" &
pids+=($!)
/usr/bin/python3 tests/tools/python-exporter.py >"$tmp/py.addr" &
pids+=($!)
for f in go py; do
	for _ in $(seq 100); do [[ -s $tmp/$f.addr ]] && break; sleep 0.1; done
	[[ -s $tmp/$f.addr ]] || { echo "exporter $f did not start" >&2; exit 1; }
done

go_version=$(dpkg-query -W -f='${Version}' golang-github-prometheus-client-golang-dev)
py_version=$(dpkg-query -W -f='${Version}' python3-prometheus-client)
text='text/plain; version=0.0.4'
om='application/openmetrics-text; version=1.0.0, application/openmetrics-text; version=0.0.1; q=0.9'

# capture NAME ADDR ACCEPT SOURCE
capture() {
	local name=$1 addr=$2 accept=$3 source=$4 ct
	ct=$(curl -sS -o "$tmp/body" -w '%{content_type}' -H "Accept: $accept" "http://$addr/metrics")
	{
		echo "## Source: $source"
		echo "## Captured $(date -u +%Y-%m-%d) by tests/tools/capture-expositions.sh (Accept: $accept)"
		echo "## Content-Type: $ct"
		cat "$tmp/body"
	} >"$out/$name"
}
capture client_golang.txt "$(cat "$tmp/go.addr")" "$text" \
	"client_golang $go_version (Debian golang-github-prometheus-client-golang-dev), tests/tools/golang-exporter"
capture client_golang.om "$(cat "$tmp/go.addr")" "$om" \
	"client_golang $go_version (Debian golang-github-prometheus-client-golang-dev), tests/tools/golang-exporter"
capture python-prometheus_client.txt "$(cat "$tmp/py.addr")" "$text" \
	"prometheus_client $py_version (Debian python3-prometheus-client), tests/tools/python-exporter.py"
capture python-prometheus_client.om "$(cat "$tmp/py.addr")" "$om" \
	"prometheus_client $py_version (Debian python3-prometheus-client), tests/tools/python-exporter.py"
echo "captured into $out"
