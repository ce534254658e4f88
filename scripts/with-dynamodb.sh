#!/usr/bin/env bash
# Run a command with DynamoDB Local: start one (unless DYNAMODB_ENDPOINT is set already),
# export DYNAMODB_ENDPOINT (and DYNAMODB_PID, which the benchmarks read the server's CPU time
# by) to the command, and stop it when the command ends, however it ends.
#
#   scripts/with-dynamodb.sh go test ./...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${DYNAMODB_ENDPOINT:-}" ]; then
	exec "$@"
fi
vars=$("$here/dynamodb-local.sh" start)
eval "export $(grep '^DYNAMODB_ENDPOINT=' <<<"$vars")"
pid=$(sed -n 's/^DYNAMODB_PID=//p' <<<"$vars")
export DYNAMODB_PID=$pid
trap '"$here/dynamodb-local.sh" stop "$pid"' EXIT INT TERM
echo "with-dynamodb: DynamoDB Local at $DYNAMODB_ENDPOINT (pid $pid)" >&2
"$@"
