#!/usr/bin/env bash
# Load runs on loopback, all in one process and one run, so the figures compare:
#   GET /2/ileap/tad  bare, behind ClerkBasicAuthLayer, behind jwt-authorizer, at 1, 8, 64 connections;
#   POST /auth/token  with 20 credentials at 64 connections, against a bare handler with the same answer.
# Usage: scripts/load.sh [seconds per run, default 10]. Needs wrk (installed from Debian if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}

if ! command -v wrk > /dev/null; then
  echo "installing wrk" >&2
  apt-get install -y wrk > /dev/null 2>&1 || { apt-get update > /dev/null && apt-get install -y wrk > /dev/null; }
fi
# The load target lives in the peers/ workspace member (it needs jwt-authorizer and axum 0.7).
cargo build --quiet --release -p peers --bin load_target
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

work=$(mktemp -d)
"$target_dir/release/load_target" "$work" > "$work/log" 2>&1 &
server=$!
trap 'kill $server 2> /dev/null; rm -rf "$work"' EXIT
for _ in $(seq 300); do grep -q ready "$work/log" 2> /dev/null && break; sleep 0.1; done
# shellcheck disable=SC1091
source "$work/env"
export CREDENTIALS_FILE="$work/basic-credentials"

# Requests per second of one wrk run; refuses to report a run with any error response.
rps() {
  local connections=$1; shift
  local threads=$(( connections < 2 ? 1 : 2 ))
  local out
  out=$(wrk -t"$threads" -c"$connections" -d"${duration}s" "$@")
  if grep -q "Non-2xx\|Socket errors" <<< "$out"; then
    echo "wrk saw errors:" >&2; echo "$out" >&2; exit 1
  fi
  awk '/Requests\/sec/ {print $2}' <<< "$out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

auth=(-H "Authorization: Bearer $TOKEN")
# Warm up: the layer fetches Clerk's keys on first sight.
curl -sf -o /dev/null "${auth[@]}" "http://$LAYER/2/ileap/tad"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); ${duration}s per run"
echo
echo "| GET /2/ileap/tad | bare req/s | layer req/s | jwt-authorizer req/s | layer / bare | layer / jwt-authorizer |"
echo "|---|---|---|---|---|---|"
for connections in 1 8 64; do
  bare=$(rps "$connections" "${auth[@]}" "http://$BARE/2/ileap/tad")
  layer=$(rps "$connections" "${auth[@]}" "http://$LAYER/2/ileap/tad")
  peer=$(rps "$connections" "${auth[@]}" "http://$PEER/2/ileap/tad")
  echo "| $connections connections | $bare | $layer | $peer | $(ratio "$layer" "$bare") | $(ratio "$layer" "$peer") |"
done

echo
tokens=$(rps 64 -s scripts/token.lua "http://$LAYER/auth/token")
shape=$(rps 64 -s scripts/token.lua "http://$BARE/token-shape")
stats=$(curl -sf "http://$BARE/stats")
echo "| POST /auth/token, 20 credentials, 64 connections | layer req/s | bare handler req/s | layer / bare | Clerk |"
echo "|---|---|---|---|---|"
echo "| token endpoint | $tokens | $shape | $(ratio "$tokens" "$shape") | $stats |"
