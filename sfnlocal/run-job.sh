#!/usr/bin/env bash
# The runner of `trackerctl run --local`: the state machine input on stdin, the local table in
# TRACKER_TABLE and AWS_ENDPOINT_URL_DYNAMODB; prints the execution's result line.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./cmd/runlocal
