#!/bin/sh
# A stand-in for the local stack's runner (TRACKER_LOCAL_RUNNER) in the tests: it prints what
# trackerctl gave it, and fails for the job "fail-me".
input=$(cat)
case "$input" in
*fail-me*)
	echo "runner: the execution failed" >&2
	exit 3
	;;
esac
echo "runner args: $*"
echo "input: $input"
echo "TRACKER_TABLE=$TRACKER_TABLE"
echo "AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB"
echo "TRACKER_STATUS_CODES=$TRACKER_STATUS_CODES"
echo "summary: 3 succeeded, 0 failed"
