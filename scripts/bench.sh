#!/usr/bin/env bash
# Ratios that count: each criterion bench run RUNS times (default 5), the benches alternating
# (protect, token_endpoint, protect, ...) so that a noisy minute of the machine hits all cases
# alike; per run, the ratios of the medians; reported as the median of the runs with their spread.
# Usage: scripts/bench.sh [RUNS] [SECONDS of measurement per case, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
seconds=${2:-3}
target=${CARGO_TARGET_DIR:-target}
cargo bench -p peers --no-run --quiet
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
for run in $(seq "$runs"); do
  for bench in protect token_endpoint; do
    echo "run $run/$runs: $bench" >&2
    cargo bench -p peers --bench "$bench" --quiet -- --warm-up-time 1 --measurement-time "$seconds" --noplot \
      > "$results/$bench-$run.log" 2>&1 || { cat "$results/$bench-$run.log" >&2; exit 1; }
    # Keep this run's medians (criterion overwrites them on the next run).
    for estimates in "$target"/criterion/"$bench"/*/new/estimates.json; do
      case=$(basename "$(dirname "$(dirname "$estimates")")")
      python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["median"]["point_estimate"])' "$estimates" \
        > "$results/$bench.$case.$run"
    done
    grep -h "redis memory" "$results/$bench-$run.log" >> "$results/notes" || true
  done
done
python3 - "$results" "$runs" <<'PY'
import os, statistics, sys
results, runs = sys.argv[1], int(sys.argv[2])
def times(bench, case):
    out = []
    for run in range(1, runs + 1):
        path = os.path.join(results, f"{bench}.{case}.{run}")
        if os.path.exists(path):
            out.append(float(open(path).read()))
    return out
def ratio(name, num, den):
    a, b = times(*num), times(*den)
    if len(a) != len(b) or not a:
        print(f"{name}: not measured")
        return
    ratios = sorted(x / y for x, y in zip(a, b))
    print(f"{name}: median {statistics.median(ratios):.3f} (min {ratios[0]:.3f}, max {ratios[-1]:.3f}, {len(ratios)} runs)")
P, T = "protect", "token_endpoint"
print("time ratios (lower is faster for the first case), median of per-run ratios of criterion medians")
ratio("protected route, cached token / bare service", (P, "b_layer_cached_token_jwks"), (P, "a_bare_inner_service"))
ratio("first sight (JWKS key) / RS256 check alone, key parsed once", (P, "c_layer_first_sight_cache_off_jwks"), (P, "f_rsa_verify_key_parsed_once"))
ratio("jwt-authorizer first sight / ours", (P, "d_jwt_authorizer"), (P, "c_layer_first_sight_cache_off_jwks"))
ratio("jsonwebtoken decode / ours", (P, "e_jsonwebtoken_decode"), (P, "c_layer_first_sight_cache_off_jwks"))
ratio("bare JSON handler / cached token request (throughput ratio)", (T, "bare_axum_handler"), (T, "cached_token_through_layer"))
ratio("cached token, Redis store / in-memory store", (T, "cached_token_through_layer_redis_store"), (T, "cached_token_through_layer"))
ratio("replica's first request from Redis / cold Clerk sign-in", (T, "replica_first_request_from_redis"), (T, "cold_sign_in"))
for bench, case in [(P, "a_bare_inner_service"), (P, "f_rsa_verify_key_parsed_once"), (T, "cached_token_through_layer")]:
    t = times(bench, case)
    if t:
        print(f"(for scale, {case}: median {statistics.median(t) / 1000:.2f} µs over {len(t)} runs)")
notes = os.path.join(results, "notes")
if os.path.exists(notes):
    print(sorted(set(open(notes).read().splitlines()))[0])
PY
