#!/usr/bin/env bash
# Installs the kustomize and helm versions that deploy_test.go runs. Both are
# built from the Go module proxy, so the script needs only Go. A tool whose
# binary already has the pinned version is left alone, so a second run takes
# well under a second.
#
# The binaries go to $KLAXON_TOOLS_BIN, by default
# ${XDG_CACHE_HOME:-$HOME/.cache}/klaxon/tools/bin, which is where the test
# looks before it searches PATH. The script prints that folder.
set -euo pipefail

readonly KUSTOMIZE_MODULE=sigs.k8s.io/kustomize/kustomize/v5
readonly KUSTOMIZE_VERSION=v5.8.2
readonly HELM_MODULE=helm.sh/helm/v4
readonly HELM_VERSION=v4.3.2

bindir="${KLAXON_TOOLS_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/klaxon/tools/bin}"
mkdir -p "$bindir"

# module_version prints the main module version that a Go binary was built
# from, or nothing when the binary is missing or was not built by Go.
module_version() {
	[ -x "$1" ] || return 0
	go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

# install_tool builds package pkg of module at version into bindir, unless
# bindir/name already has that version. Extra arguments go to go install.
install_tool() {
	local name=$1 module=$2 pkg=$3 version=$4
	shift 4
	if [ "$(module_version "$bindir/$name")" = "$version" ]; then
		echo "$name $version: already installed" >&2
		return
	fi
	echo "$name $version: building from $module" >&2
	local start=$SECONDS
	# Outside a module, so the project's go.mod is neither read nor changed.
	(cd / && GOBIN="$bindir" CGO_ENABLED=0 go install "$@" "$pkg@$version")
	echo "$name $version: installed in $((SECONDS - start))s" >&2
}

install_tool kustomize "$KUSTOMIZE_MODULE" "$KUSTOMIZE_MODULE" "$KUSTOMIZE_VERSION"
# helm reads its own version from a variable that its release build sets.
install_tool helm "$HELM_MODULE" "$HELM_MODULE/cmd/helm" "$HELM_VERSION" \
	-ldflags "-X $HELM_MODULE/internal/version.version=$HELM_VERSION"

echo "$bindir"
