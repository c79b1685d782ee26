#!/usr/bin/env bash
# Load runs on loopback, all in one process and one run, so the figures compare (wrk; the
# servers are peers/src/bin/load_target.rs, with a valid bearer token unless said otherwise):
#   GET /light         a small constant JSON body: bare, behind ClerkBasicAuthLayer, behind
#                      jwt-authorizer, at 1, 8, 64 connections;
#   GET /2/ileap/tad   the demo's iLEAP route, the same three, at 1, 8, 64 connections;
#   GET /3/footprints  the demo's PACT v3 ListFootprints, the same three, at 8 and 64 connections;
#   POST /auth/token   20 credentials rotated over 64 connections: the layer with sessions in
#                      memory, the layer with the Redis session store (a redis-server this script
#                      starts on a free loopback port and stops), and a bare handler with the same
#                      answer; each layer must sign in at Clerk once per credential;
#   GET /light         with 10,000 distinct valid tokens in rotation (scripts/rotate_bearer.lua,
#                      each token once per 10,000 requests): bare, the layer with its default
#                      verified-token cache (10,000), the layer with a cache of 20,000, and
#                      jwt-authorizer, at 8 and 64 connections, after a warm-up rotation through
#                      the tokens (3 s); "slow" is the share of the layer's admissions that took
#                      >= 10 us (a signature verified: a miss of the verified-token cache; a hit
#                      takes about a microsecond), "µs in layer" the mean time of an admission.
# Any wrk run with a non-2xx answer or a socket error fails the script.
# Usage: scripts/load.sh [seconds per run, default 10]. Needs wrk and redis-server (both
# installed from Debian if missing).
set -euo pipefail
trap 'echo "scripts/load.sh: failed at line $LINENO" >&2' ERR
cd "$(dirname "$0")/.."
duration=${1:-10}

install() {
  echo "installing $1" >&2
  local sudo
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get install -y "$1" > /dev/null 2>&1 || { $sudo apt-get update > /dev/null && $sudo apt-get install -y "$1" > /dev/null; }
}
command -v wrk > /dev/null || install wrk
# The package's own service is not needed: this script starts its own server.
command -v redis-server > /dev/null || install redis-server
# The load target lives in the peers/ workspace member (it needs jwt-authorizer and axum 0.7).
cargo build --quiet --release -p peers --bin load_target
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

work=$(mktemp -d)
server=
redis=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2> /dev/null || true; fi
  if [ -n "$redis" ]; then kill "$redis" 2> /dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Redis on a free loopback port, nothing persisted.
redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" > "$work/redis.log" 2>&1 &
redis=$!
redis_cli() { redis-cli -h 127.0.0.1 -p "$redis_port" "$@"; }
for _ in $(seq 100); do [ "$(redis_cli ping 2> /dev/null)" = PONG ] && break; sleep 0.1; done
[ "$(redis_cli ping 2> /dev/null)" = PONG ] || { echo "redis-server did not start:" >&2; cat "$work/redis.log" >&2; exit 1; }

"$target_dir/release/load_target" "$work" "redis://127.0.0.1:$redis_port/0" > "$work/log" 2>&1 &
server=$!
# Signing the 10,000 rotation tokens takes a few seconds.
for _ in $(seq 1200); do
  grep -q ready "$work/log" 2> /dev/null && break
  kill -0 "$server" 2> /dev/null || { echo "load_target stopped:" >&2; cat "$work/log" >&2; exit 1; }
  sleep 0.1
done
grep -q ready "$work/log" || { echo "load_target is not ready" >&2; exit 1; }
# shellcheck disable=SC1091
source "$work/env"
export CREDENTIALS_FILE="$work/basic-credentials" TOKENS_FILE="$work/bearer-tokens"

# Requests per second of one wrk run; refuses to report a run with any error response.
# WRK_THREADS tells scripts/rotate_bearer.lua how many threads share the tokens.
rps() {
  local connections=$1; shift
  local threads=$(( connections < 2 ? 1 : 2 ))
  local out
  out=$(WRK_THREADS=$threads wrk -t"$threads" -c"$connections" -d"${duration}s" "$@")
  if grep -q "Non-2xx\|Socket errors" <<< "$out"; then
    echo "wrk saw errors:" >&2; echo "$out" >&2; exit 1
  fi
  awk '/Requests\/sec/ {print $2}' <<< "$out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
stat() { curl -sSf "http://$CONTROL/stats" | python3 -c "import json, sys; print(json.load(sys.stdin)[\"$1\"])"; }
reset_stats() { curl -sSf -o /dev/null -X POST "http://$CONTROL/stats/reset"; }
# Admissions, slow admissions and nanoseconds in the layer's call of a rotation layer since
# the last call, and zero again.
probe() { curl -sSf -X POST "http://$CONTROL/probe/$1"; }
# "<slow> %, <mean> us" of a probe's counts.
probed() {
  local requests slow nanos
  read -r requests slow nanos <<< "$(probe "$1")"
  awk -v r="$requests" -v s="$slow" -v n="$nanos" 'BEGIN {printf "%.1f %%, %.1f µs", r ? 100 * s / r : 0, r ? n / r / 1000 : 0}'
}

auth=(-H "Authorization: Bearer $TOKEN")
# Warm up: the layer fetches Clerk's keys on first sight.
curl -sSf -o /dev/null "${auth[@]}" "http://$LAYER/light"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); ${duration}s per run"

# One table of a route bare, behind the layer and behind jwt-authorizer, with one token.
route_table() {
  local path=$1; shift
  echo
  echo "| GET $path | bare req/s | layer req/s | jwt-authorizer req/s | layer / bare | layer / jwt-authorizer |"
  echo "|---|---|---|---|---|---|"
  local connections bare_rps layer_rps peer_rps
  for connections in "$@"; do
    bare_rps=$(rps "$connections" "${auth[@]}" "http://$BARE$path")
    layer_rps=$(rps "$connections" "${auth[@]}" "http://$LAYER$path")
    peer_rps=$(rps "$connections" "${auth[@]}" "http://$PEER$path")
    echo "| $connections connections | $bare_rps | $layer_rps | $peer_rps | $(ratio "$layer_rps" "$bare_rps") | $(ratio "$layer_rps" "$peer_rps") |"
  done
}
route_table /light 1 8 64
route_table /2/ileap/tad 1 8 64
route_table /3/footprints 8 64

# The token endpoint: each layer starts with no session, so it signs in once per credential.
echo
shape=$(rps 64 -s scripts/token.lua "http://$BARE/token-shape")
reset_stats
memory=$(rps 64 -s scripts/token.lua "http://$LAYER/auth/token")
memory_sign_ins=$(stat sign_ins)
reset_stats
shared=$(rps 64 -s scripts/token.lua "http://$REDIS_LAYER/auth/token")
shared_sign_ins=$(stat sign_ins)
redis_keys=$(redis_cli dbsize)
echo "| POST /auth/token, 20 credentials, 64 connections | req/s | / bare handler | sign-ins at Clerk |"
echo "|---|---|---|---|"
echo "| layer, sessions in memory | $memory | $(ratio "$memory" "$shape") | $memory_sign_ins |"
echo "| layer, Redis session store | $shared | $(ratio "$shared" "$shape") | $shared_sign_ins ($redis_keys keys in Redis) |"
echo "| bare handler, same answer | $shape | 1.00 | - |"
if [ "$memory_sign_ins" != 20 ] || [ "$shared_sign_ins" != 20 ]; then
  echo "expected 20 sign-ins at Clerk per layer (one per credential)" >&2; exit 1
fi
if [ "$redis_keys" -eq 0 ]; then echo "the Redis session store holds no key" >&2; exit 1; fi

# 10,000 distinct tokens in rotation. Warm-up: every token once through each caching layer
# (the first sight of a token is a verification whatever the cache).
rotate=(-s scripts/rotate_bearer.lua)
first_token=$(head -n 1 "$TOKENS_FILE")
for target in "$ROTATE_10K" "$ROTATE_20K"; do
  curl -sSf -o /dev/null -H "Authorization: $first_token" "http://$target/light"
  duration=3 rps 8 "${rotate[@]}" "http://$target/light" > /dev/null
done
probe 10k > /dev/null
probe 20k > /dev/null
echo
echo "| GET /light, 10,000 tokens in rotation | bare req/s | layer req/s (slow, µs in layer) | layer with a cache of 20,000 req/s (slow, µs in layer) | jwt-authorizer req/s | layer / bare | layer / jwt-authorizer | layer 20,000 / jwt-authorizer |"
echo "|---|---|---|---|---|---|---|---|"
for connections in 8 64; do
  bare_rps=$(rps "$connections" "${rotate[@]}" "http://$BARE/light")
  layer_rps=$(rps "$connections" "${rotate[@]}" "http://$ROTATE_10K/light")
  layer_probe=$(probed 10k)
  big_rps=$(rps "$connections" "${rotate[@]}" "http://$ROTATE_20K/light")
  big_probe=$(probed 20k)
  peer_rps=$(rps "$connections" "${rotate[@]}" "http://$PEER/light")
  echo "| $connections connections | $bare_rps | $layer_rps ($layer_probe) | $big_rps ($big_probe) | $peer_rps | $(ratio "$layer_rps" "$bare_rps") | $(ratio "$layer_rps" "$peer_rps") | $(ratio "$big_rps" "$peer_rps") |"
done
