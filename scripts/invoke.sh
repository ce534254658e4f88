#!/usr/bin/env bash
# Invoke one function's built binary with an event, the way `sam local invoke -e` does: under
# the Lambda Runtime Interface Emulator, against DynamoDB Local seeded with the fixture tasks.
#
#   scripts/invoke.sh claim events/claim/ok.json      (make invoke FN=claim EVENT=...)
set -euo pipefail
fn=${1:?usage: invoke.sh FUNCTION EVENT.json}
event=${2:?usage: invoke.sh FUNCTION EVENT.json}
cd "$(dirname "$0")/.."
[ -x "build/amd64/$fn/bootstrap" ] || { echo "invoke: build/amd64/$fn/bootstrap is missing: make build" >&2; exit 2; }
[ -f "$event" ] || { echo "invoke: no event file $event" >&2; exit 2; }
if [ -z "${DYNAMODB_ENDPOINT:-}" ]; then exec scripts/with-dynamodb.sh "$0" "$@"; fi

go run ./internal/fixtures/seed -table fixtures
# Built, not `go run`: a signal to `go run` would not reach the server it started.
go build -o build/lambda-local ./cmd/lambda-local
ready=$(mktemp -u)
TRACKER_TABLE=fixtures AWS_ENDPOINT_URL_DYNAMODB=$DYNAMODB_ENDPOINT \
	build/lambda-local -function "$fn=build/amd64/$fn/bootstrap" -ready-file "$ready" >/dev/null 2>"$ready.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -f "$ready" "$ready.log"; true' EXIT
for _ in $(seq 600); do [ -s "$ready" ] && break; kill -0 $pid 2>/dev/null || { cat "$ready.log" >&2; exit 1; }; sleep 0.1; done
url=$(sed -n 's/^LAMBDA_ENDPOINT=//p' "$ready")
curl -sS -D /dev/stderr -X POST --data-binary @"$event" "$url/2015-03-31/functions/$fn/invocations" 2> >(grep -i '^x-amz-function-error' >&2)
echo
