#!/usr/bin/env bash
# shellcheck shell=bash
# Builds tests/tools/leaky (the incident's leaking Go order service) into a directory, in GOPATH
# mode against Debian's Go sources (golang-github-prometheus-client-golang-dev): no module
# downloads, no network. Sourced by tests and scripts/demo, or run directly:
#   scripts/lib/build-leaky.sh OUTDIR        -> prints OUTDIR/leaky
# The binary is rebuilt only when a source file is newer than it.

BUILD_LEAKY_SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tests/tools/leaky" && pwd)
BUILD_LEAKY_GOPATH_DEPS=/usr/share/gocode

# build_leaky OUTDIR: builds OUTDIR/leaky and prints its path. On failure says why on stderr and
# returns 2 when a Debian package is missing (naming it), 1 when the build itself fails.
build_leaky() {
	local out=${1:?usage: build_leaky OUTDIR} src=$BUILD_LEAKY_SOURCE_DIR bin gopath rc
	bin=$out/leaky
	if ! command -v go >/dev/null; then
		echo "build-leaky: 'go' not found: install golang-go (apt-get install golang-go)" >&2
		return 2
	fi
	if [ ! -d "$BUILD_LEAKY_GOPATH_DEPS/src/github.com/prometheus/client_golang/prometheus/promhttp" ]; then
		echo "build-leaky: client_golang not found under $BUILD_LEAKY_GOPATH_DEPS:" \
			"install golang-github-prometheus-client-golang-dev" >&2
		return 2
	fi
	mkdir -p "$out" || return 1
	if [ -x "$bin" ] && [ -z "$(find "$src" -newer "$bin" -name '*.go' -print -quit)" ]; then
		echo "$bin"
		return 0
	fi
	# GOPATH mode wants the program itself inside a GOPATH: a throwaway one, ahead of Debian's.
	gopath=$(mktemp -d "${TMPDIR:-/tmp}/leaky-gopath.XXXXXX") || return 1
	if ! { mkdir -p "$gopath/src/leaky" && cp "$src"/*.go "$gopath/src/leaky/"; }; then
		rm -rf "$gopath"
		return 1
	fi
	(
		cd "$gopath/src/leaky" &&
			GO111MODULE=off GOPATH="$gopath:$BUILD_LEAKY_GOPATH_DEPS" GOFLAGS='' GOPROXY=off \
				GOCACHE="${GOCACHE:-${XDG_CACHE_HOME:-${HOME:-$gopath}/.cache}/go-build}" \
				go build -o "$bin.tmp" .
	) >&2
	rc=$?
	rm -rf "$gopath"
	if [ $rc -ne 0 ]; then
		rm -f "$bin.tmp"
		echo "build-leaky: 'go build' of $src failed (GOPATH mode against $BUILD_LEAKY_GOPATH_DEPS);" \
			"see the compiler output above" >&2
		return 1
	fi
	mv -f "$bin.tmp" "$bin" && echo "$bin"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	[ $# -eq 1 ] || {
		echo "usage: $0 OUTDIR" >&2
		exit 1
	}
	build_leaky "$1"
fi
