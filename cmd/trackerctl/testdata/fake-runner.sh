#!/bin/sh
# A stand-in for the local stack's runner (TRACKER_LOCAL_RUNNER) in the tests. When
# testdata/runner/JOB.json exists it prints it, as sfnlocal/run-job.sh prints the execution's
# result line, and exits 1 if the execution FAILED. Otherwise, like a custom runner, it prints
# what trackerctl gave it, and fails (exit 3, no output) for the job "fail-me".
input=$(cat)
job=$(printf '%s\n' "$input" | sed -n 's/.*"job_id":"\([^"]*\)".*/\1/p')
result="$(dirname "$0")/runner/$job.json"
if [ -n "$job" ] && [ -f "$result" ]; then
	cat "$result"
	if grep -q '"status":"FAILED"' "$result"; then
		exit 1
	fi
	exit 0
fi
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
[ -z "${TRACKER_LOCAL_WORKER:-}" ] || echo "TRACKER_LOCAL_WORKER=$TRACKER_LOCAL_WORKER"
echo "summary: 3 succeeded, 0 failed"
