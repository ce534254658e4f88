#!/usr/bin/env bash
# Check the construct as a user gets it: `go get .../infra/construct@VERSION` in an app of its
# own, outside the clone, then a synthesis. The clone's files as they stand (committed or not,
# git's ignored files left out) are served as VERSION by a module proxy in a temporary
# directory (a file:// GOPROXY, the module cache's own download directory for every other
# module), so nothing leaves the machine and nothing needs a tag. The app is
# examples/cdk-app's. The check passes when each of the tracker's four functions is a
# linux/arm64 bootstrap built from the module cache's copy, with VERSION stamped, and the
# worker's asset is the Python handler. Run it before tagging a release (make check-go-get).
#
#   scripts/check-go-get.sh [VERSION]      (default v0.0.0-check; its module cache entry is removed after)
set -euo pipefail
version=${1:-v0.0.0-check}
module=github.com/dynamodb-tracker/dynamodb-tracker
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
modcache=$(go env GOMODCACHE)
cleanup() {
	local dl="$modcache/cache/download/$module/@v"
	chmod -R u+w "$modcache/$module@$version" 2>/dev/null || true
	rm -rf "$work" "$modcache/$module@$version" "$dl/$version".*
	if [ "$(cat "$dl/list" 2>/dev/null)" = "$version" ]; then rm -f "$dl/list"; fi
	rmdir -p "$dl" "$modcache/$(dirname "$module")" 2>/dev/null || true
}
trap cleanup EXIT

# The module proxy: list, info, mod and a zip of the clone's files as the module's VERSION.
mkdir -p "$work/proxy/$module/@v" "$work/app/worker"
(cd "$root" && { git ls-files; git ls-files -o --exclude-standard; } | sort -u) > "$work/files"
(cd "$root" && python3 - "$work/files" "$work/proxy/$module/@v/$version.zip" "$module@$version" <<'PY'
import os, sys, zipfile
files, out, prefix = sys.argv[1:]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for name in open(files).read().split("\n"):
        if name and os.path.isfile(name) and not os.path.islink(name):
            z.write(name, prefix + "/" + name)
PY
)
cp "$root/go.mod" "$work/proxy/$module/@v/$version.mod"
echo "$version" > "$work/proxy/$module/@v/list"
printf '{"Version":"%s","Time":"2026-01-01T00:00:00Z"}\n' "$version" > "$work/proxy/$module/@v/$version.info"

# The app: examples/cdk-app with its Python worker beside it.
sed -e 's#"\.\./python"#"worker"#' "$root/examples/cdk-app/main.go" > "$work/app/main.go"
cp "$root/examples/python/handler.py" "$work/app/worker/"
printf 'module example.com/app\n\ngo 1.26.6\n' > "$work/app/go.mod"
cd "$work/app"
export GOPROXY="file://$work/proxy,file://$modcache/cache/download" GOSUMDB=off GOFLAGS=-mod=mod
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
go get "$module/infra/construct@$version"
CDK_OUTDIR=cdk.out go run . >/dev/null

# The assets: four bootstraps built from the module cache, and the worker's handler.
built=0
for asset in cdk.out/asset.*; do
	if [ -f "$asset/handler.py" ]; then
		worker=1
	elif [ -f "$asset/bootstrap" ]; then
		go version -m "$asset/bootstrap" | grep -q "GOARCH=arm64" || { echo "check-go-get: $asset is not for arm64" >&2; exit 1; }
		grep -q "$version" "$asset/bootstrap" || { echo "check-go-get: $asset does not carry $version" >&2; exit 1; }
		built=$((built + 1))
	fi
done
[ "$built" = 4 ] && [ "${worker:-0}" = 1 ] || { echo "check-go-get: $built bootstraps and worker ${worker:-0}, want 4 and 1" >&2; exit 1; }
echo "check-go-get: the construct from go get $module/infra/construct@$version built its 4 functions"
