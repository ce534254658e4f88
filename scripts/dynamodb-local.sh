#!/usr/bin/env bash
# DynamoDB Local for tests and local runs, from nothing.
#
#   scripts/dynamodb-local.sh install        java (apt-get when missing) + the jar, cached
#   scripts/dynamodb-local.sh jar            print the cached jar's folder
#   scripts/dynamodb-local.sh start [PORT]   start in memory on PORT (a free one by default);
#                                            prints DYNAMODB_ENDPOINT=... and DYNAMODB_PID=...
#   scripts/dynamodb-local.sh stop PID       stop it and wait for it to exit
#
# The jar ships inside the npm package amplify-dynamodb-simulator (package/emulator/).
set -euo pipefail

VERSION=2.9.30
root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/.cache/dynamodb-local"
emulator="$cache/package/emulator"

die() { echo "dynamodb-local: $*" >&2; exit 1; }

install() {
	if ! command -v java >/dev/null 2>&1; then
		command -v apt-get >/dev/null 2>&1 || die "java is missing and there is no apt-get to install openjdk-17-jre-headless"
		echo "dynamodb-local: installing openjdk-17-jre-headless" >&2
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >&2
	fi
	[ -f "$emulator/DynamoDBLocal.jar" ] && [ -f "$cache/VERSION-$VERSION" ] && return 0
	command -v npm >/dev/null 2>&1 || die "npm is needed to fetch amplify-dynamodb-simulator@$VERSION"
	rm -rf "$cache" && mkdir -p "$cache"
	echo "dynamodb-local: fetching amplify-dynamodb-simulator@$VERSION" >&2
	(cd "$cache" && npm pack --silent "amplify-dynamodb-simulator@$VERSION" >/dev/null && tar xzf "amplify-dynamodb-simulator-$VERSION.tgz")
	[ -f "$emulator/DynamoDBLocal.jar" ] || die "the package has no emulator/DynamoDBLocal.jar"
	touch "$cache/VERSION-$VERSION"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + RANDOM % 20000))
}

start() {
	install
	local port=${1:-$(free_port)}
	local log="$cache/$port.log"
	# From the cache folder: DynamoDB Local writes a metadata file into its working directory.
	(cd "$cache" && exec java -Djava.library.path="$emulator/DynamoDBLocal_lib" -jar "$emulator/DynamoDBLocal.jar" \
		-inMemory -disableTelemetry -port "$port" >"$log" 2>&1) &
	local pid=$!
	# Poll until it answers HTTP: any response, even a 400, means it is serving.
	local deadline=$((SECONDS + 60))
	until curl -s -o /dev/null "http://127.0.0.1:$port" 2>/dev/null; do
		kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "java exited before answering on port $port"; }
		[ $SECONDS -lt $deadline ] || { kill "$pid"; die "no answer on port $port within 60 s"; }
		sleep 0.1
	done
	echo "DYNAMODB_ENDPOINT=http://127.0.0.1:$port"
	echo "DYNAMODB_PID=$pid"
}

stop() {
	local pid=${1:?usage: stop PID}
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
	kill -9 "$pid" 2>/dev/null || true
}

case "${1:-}" in
install) install ;;
jar) install && echo "$emulator" ;;
start) shift; start "$@" ;;
stop) shift; stop "$@" ;;
*) die "usage: $0 install|jar|start [PORT]|stop PID" ;;
esac
