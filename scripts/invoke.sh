#!/usr/bin/env bash
# Invoke one function with an event, the way `sam local invoke -e` does: under the Lambda
# Runtime Interface Emulator, against DynamoDB Local seeded with the fixture tasks. The first
# argument is one of our functions (build/amd64/NAME/bootstrap) or a path (it holds a /) to
# any function's code that cmd/lambda-local takes: a bootstrap built for linux on this
# machine, a Go main package directory, or a Python or Node.js handler (a .py, .js, .mjs, .cjs
# or .ts file, or a directory holding one, optionally followed by :module.function). It
# prints the function's result and exits 1 when that result is an error (the
# X-Amz-Function-Error header, printed on stderr), the Invoke API refused the request or the
# code cannot be served, 2 on a usage error. (Through make, any failure is make's exit 2.)
#
# It builds only the function it runs (go build checks an up-to-date binary in a fraction of a
# second), and starts DynamoDB Local, seeded with the fixture tasks, only for the tracker's
# own functions, which call it: a worker gets DYNAMODB_ENDPOINT only when it is set.
#
#   scripts/invoke.sh claim events/claim/ok.json              (make invoke FN=claim EVENT=...)
#   scripts/invoke.sh path/to/bootstrap event.json            (make invoke BIN=path EVENT=...)
#   scripts/invoke.sh examples/python event.json              (make invoke BIN=examples/python EVENT=...)
set -euo pipefail
usage="usage: invoke.sh FUNCTION|PATH[:module.function] EVENT.json"
what=${1:?$usage}
event=${2:?$usage}
if [[ $what == */* ]]; then
	[ -d "$(dirname "$what")" ] || { echo "invoke: no directory $(dirname "$what")" >&2; exit 2; }
	bin=$(cd "$(dirname "$what")" && pwd)/$(basename "$what")
	# The function's name: a directory's, or the one a file is in (build/amd64/claim/bootstrap
	# is claim), without a :module.function and with what a function name cannot hold as '-'.
	path=$bin
	[ -e "$path" ] || path=${bin%:*}
	[ -d "$path" ] || path=$(dirname "$path")
	fn=$(basename "$path" | tr -c 'A-Za-z0-9_\n-' '-')
else
	fn=$what
	bin=
fi
[ -f "$event" ] || { echo "invoke: no event file $event" >&2; exit 2; }
event=$(cd "$(dirname "$event")" && pwd)/$(basename "$event")
cd "$(dirname "$0")/.."
tracker_fn=false
if [ -z "$bin" ]; then
	[ -f "functions/$fn/main.go" ] || { echo "invoke: no function $fn (functions/$fn)" >&2; exit 2; }
	arch=$(go env GOARCH)
	bin=build/$arch/$fn/bootstrap
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -tags lambda.norpc -ldflags "-s -w" -o "$bin" "./functions/$fn"
fi
# One of the tracker's own functions, built here or given as a path (build/amd64/claim/bootstrap).
case $fn in claim|complete|fail|list-pending) tracker_fn=true ;; esac
if $tracker_fn && [ -z "${DYNAMODB_ENDPOINT:-}" ]; then exec scripts/with-dynamodb.sh scripts/invoke.sh "$what" "$event"; fi

if $tracker_fn; then go run ./internal/fixtures/seed -table fixtures; fi
# Built, not `go run`: a signal to `go run` would not reach the server it started.
go build -o build/lambda-local ./cmd/lambda-local
ready=$(mktemp -u)
TRACKER_TABLE=fixtures AWS_ENDPOINT_URL_DYNAMODB=${DYNAMODB_ENDPOINT:-http://127.0.0.1:1} \
	build/lambda-local -function "$fn=$bin" -ready-file "$ready" >/dev/null 2>"$ready.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -f "$ready" "$ready.log" "$ready.headers"; true' EXIT
for _ in $(seq 600); do [ -s "$ready" ] && break; kill -0 $pid 2>/dev/null || { cat "$ready.log" >&2; exit 1; }; sleep 0.1; done
url=$(sed -n 's/^LAMBDA_ENDPOINT=//p' "$ready")
# A function error is HTTP 200 with X-Amz-Function-Error; a refused request (an event that is
# not JSON, say) is an HTTP error, which --fail-with-body turns into curl's exit status 22.
status=0
curl -sS --fail-with-body -D "$ready.headers" -X POST --data-binary @"$event" "$url/2015-03-31/functions/$fn/invocations" || status=$?
echo
if grep -i '^x-amz-function-error' "$ready.headers" >&2 || [ $status -ne 0 ]; then
	exit 1
fi
