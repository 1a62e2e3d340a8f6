#!/bin/sh
# Builds the Loki version that go.mod pins, once, into
# ${XDG_CACHE_HOME:-$HOME/.cache}/klaxon/loki-<version>/loki and prints the
# binary's path on stdout. Later runs print the cached path without building.
#
#   export KLAXON_LOKI_BIN="$(test/loki/build.sh)"
set -eu

dir=$(cd "$(dirname "$0")" && pwd)
cd "$dir"
export GOWORK=off

version=$(go list -m -f '{{.Version}}' github.com/grafana/loki/v3)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/klaxon/loki-$version"
bin="$cache/loki"

if [ ! -x "$bin" ]; then
	mkdir -p "$cache"
	# A unique temporary name keeps two concurrent builds from writing one file.
	tmp="$bin.tmp.$$"
	trap 'rm -f "$tmp"' EXIT
	echo "building Loki $version into $cache" >&2
	go build -trimpath -ldflags='-s -w' -o "$tmp" github.com/grafana/loki/v3/cmd/loki >&2
	mv "$tmp" "$bin"
fi
echo "$bin"
