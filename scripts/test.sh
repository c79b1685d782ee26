#!/usr/bin/env bash
# Every test: unit, integration (real servers on loopback, the fake Clerk, a real redis-server)
# and doc tests. Installs Debian's redis-server first if it is missing (the shared-session tests
# start and stop their own on a free loopback port).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server > /dev/null; then
  echo "installing redis-server (Debian package) for the shared-session tests" >&2
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get install -y redis-server > /dev/null 2>&1 \
    || { $sudo apt-get update > /dev/null && $sudo apt-get install -y redis-server > /dev/null; }
fi
# The server is started by the tests themselves; the package's own service is not needed.
cargo test --all-features "$@"
