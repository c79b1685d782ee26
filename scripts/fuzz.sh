#!/usr/bin/env bash
# Fuzzes each cargo-fuzz target under fuzz/ for a while, one after the other, and prints how many
# inputs each one executed.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default: 60 seconds, every target)
#
# cargo-fuzz is installed with `cargo install cargo-fuzz --locked` when missing. Its build needs
# nightly-only -Z flags: an installed nightly toolchain is used; without one, installing it is
# tried once, and when that fails the stable toolchain runs with RUSTC_BOOTSTRAP=1, which allows
# the same flags. FUZZ_TOOLCHAIN=nightly|stable chooses.
#
# Each target starts from its committed seeds (fuzz/seeds/<target>) and the corpus earlier runs
# grew (fuzz/corpus/<target>, not committed), with its dictionary (fuzz/dicts/<target>.dict).
# A target that crashes leaves the input in fuzz/artifacts/<target>/; the other targets still
# run, and the script exits 1. Logs: fuzz/target/logs/<target>.log.
#
# FUZZ_SANITIZER: none (default; the parsers are safe Rust, and AddressSanitizer halves the
# executions) or address. Debug assertions and overflow checks are always on.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
case $seconds in '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;; esac
sanitizer=${FUZZ_SANITIZER:-none}
# cargo-fuzz finds its binaries under fuzz/target.
unset CARGO_TARGET_DIR

if ! command -v cargo-fuzz > /dev/null; then
  echo "installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

toolchain=${FUZZ_TOOLCHAIN:-}
if [ -z "$toolchain" ]; then
  if ! command -v rustup > /dev/null; then
    toolchain=stable
  elif rustup toolchain list | grep -q '^nightly'; then
    toolchain=nightly
  elif timeout 600 rustup toolchain install nightly --profile minimal >&2; then
    toolchain=nightly
  else
    echo "no nightly toolchain to be had: stable with RUSTC_BOOTSTRAP=1" >&2
    toolchain=stable
  fi
fi
case $toolchain in
  nightly) cargo=(cargo +nightly) ;;
  stable)
    cargo=(cargo)
    command -v rustup > /dev/null && cargo=(cargo +stable)
    export RUSTC_BOOTSTRAP=1
    ;;
  *) echo "FUZZ_TOOLCHAIN must be nightly or stable" >&2; exit 2 ;;
esac
echo "toolchain: $("${cargo[@]}" --version)$([ "$toolchain" = stable ] && echo ' with RUSTC_BOOTSTRAP=1')" >&2

flags=(--fuzz-dir fuzz --sanitizer "$sanitizer" --debug-assertions)
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <("${cargo[@]}" fuzz list --fuzz-dir fuzz)
fi
# One build for every target (or just the one asked for); each run below finds it up to date.
if [ ${#targets[@]} -eq 1 ]; then
  "${cargo[@]}" fuzz build "${flags[@]}" "${targets[0]}" >&2
else
  "${cargo[@]}" fuzz build "${flags[@]}" >&2
fi

mkdir -p fuzz/target/logs
failed=()
summary=()
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target" "fuzz/seeds/$target"
  log=fuzz/target/logs/$target.log
  options=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048)
  [ -f "fuzz/dicts/$target.dict" ] && options+=(-dict="fuzz/dicts/$target.dict")
  echo "fuzzing $target for ${seconds}s" >&2
  status=ok
  "${cargo[@]}" fuzz run "${flags[@]}" "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- "${options[@]}" \
    > "$log" 2>&1 || status=FAILED
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
  corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
  if [ "$status" != ok ]; then
    failed+=("$target")
    artifact=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | tail -1)
    status="FAILED${artifact:+ ($artifact)}"
    grep -m1 -A3 "panicked at" "$log" >&2 || tail -20 "$log" >&2
  fi
  summary+=("$(printf '%-24s %12s executions in %ss, corpus %5s inputs: %s' "$target" "${runs:-?}" "$seconds" "$corpus" "$status")")
  echo "${summary[-1]}"
done

echo
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashed: ${failed[*]} (inputs in fuzz/artifacts/; logs in fuzz/target/logs/)" >&2
  exit 1
fi
