#!/usr/bin/env bash
# Chromium for the console's browser tests (console/, driven by chromedp), from apt-get.
#
#   scripts/chromium.sh install    Debian's chromium package, with apt-get when it is missing
#   scripts/chromium.sh path       install, then print the browser's path
#
# The tests find the browser through CHROMIUM (its path) or on PATH as chromium; they fail,
# never skip, when it is missing, so CI (make test runs make deps first) always runs them.
set -euo pipefail

die() {
	echo "chromium: $*" >&2
	exit 1
}
say() { echo "chromium: $*" >&2; }

find_browser() {
	local b
	for b in "${CHROMIUM:-}" chromium chromium-browser; do
		[ -n "$b" ] || continue
		command -v "$b" 2>/dev/null && return 0
	done
	return 1
}

install() {
	find_browser >/dev/null && return 0
	command -v apt-get >/dev/null 2>&1 ||
		die "chromium is not on PATH and there is no apt-get to install it: install Chromium and set CHROMIUM to its path"
	[ "$(id -u)" = 0 ] || die "chromium is not on PATH: run as root to apt-get install chromium, or install Chromium and set CHROMIUM"
	say "chromium is not on PATH: installing Debian's chromium package with apt-get"
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
	find_browser >/dev/null || die "apt-get installed chromium but it is still not on PATH"
}

case "${1:-}" in
install) install ;;
path)
	install
	find_browser
	;;
*) die "usage: $0 install|path" ;;
esac
