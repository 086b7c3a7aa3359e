#!/usr/bin/env bash
# Bounded fuzz smoke run: builds every cargo-fuzz target in fuzz/ and runs
# each for SECONDS_PER_TARGET (default 20), starting from the committed seeds
# in fuzz/seeds/<target>/. Exits non-zero on any crash, timeout or
# out-of-memory input and prints where libFuzzer saved it.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]
#
# Stable Rust only: `--sanitizer none` keeps every rustc flag cargo-fuzz
# passes stable (the sanitizers need -Z flags). The code under test is safe
# Rust, so what the run looks for is panics: failed property assertions,
# overflow (debug assertions are on) and runaway allocation.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
case $seconds in
  '' | *[!0-9]* | 0) echo "fuzz: SECONDS_PER_TARGET must be a positive integer, not '$seconds'" >&2; exit 2 ;;
esac

# cargo-fuzz is a build tool, not a dependency: pinned, and installed into
# the git-ignored .tools/ so CI builds it from crates.io like everything else.
CARGO_FUZZ_VERSION=0.13.2
export PATH="$PWD/.tools/cargo/bin:$PATH"
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION into .tools/cargo"
  cargo install --quiet --locked --version "$CARGO_FUZZ_VERSION" --root .tools/cargo cargo-fuzz
fi

# The fuzz crate builds into its own git-ignored fuzz/target, whatever the
# caller uses for the main crate.
unset CARGO_TARGET_DIR
# Refuse a fuzz/Cargo.lock that no longer matches fuzz/Cargo.toml instead of
# silently resolving new versions (cargo fuzz has no --locked of its own).
host=$(rustc -vV | sed -n 's/^host: //p')
cargo fetch --quiet --locked --manifest-path fuzz/Cargo.toml --target "$host"

fuzz=(cargo fuzz)
# 16 codegen units: the build (all of kai's dependencies, instrumented)
# dominates a smoke run, so trade a little fuzzing speed for a faster one.
flags=(--sanitizer none --debug-assertions --codegen-units 16)
mapfile -t targets < <("${fuzz[@]}" list)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no targets found in fuzz/" >&2
  exit 1
fi
"${fuzz[@]}" build "${flags[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
summary=()
for target in "${targets[@]}"; do
  corpus="$work/corpus/$target"
  mkdir -p "$corpus" fuzz/artifacts/"$target"
  if [ -d fuzz/seeds/"$target" ]; then
    cp fuzz/seeds/"$target"/* "$corpus"/
  fi
  log="$work/$target.log"
  echo "fuzz: $target for ${seconds}s"
  status=0
  "${fuzz[@]}" run "${flags[@]}" "$target" "$corpus" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  # libFuzzer's own figures: edges covered at start (seeds) and at the end.
  inited=$(grep -m1 -o 'INITED cov: [0-9]*' "$log" | grep -o '[0-9]*$' || true)
  final=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | grep -o '[0-9]*$' || true)
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  summary+=("$(printf '%-12s runs %-9s coverage %s -> %s' "$target" "${runs:-?}" "${inited:-?}" "${final:-?}")")
  if [ "$status" -ne 0 ]; then
    sed -n '/panicked at\|ERROR: libFuzzer/,+8p' "$log" >&2
    crash=$(grep -o 'Test unit written to [^ ]*' "$log" | sed 's/^Test unit written to //' | tail -n1 || true)
    failed+=("$target: ${crash:-no input saved (exit $status)}")
  elif [ "${inited:-0}" -eq 0 ]; then
    # Zero edges means the build lost its coverage instrumentation: the
    # run would have been blind, which is a failure of this script.
    tail -n 20 "$log" >&2
    failed+=("$target: no coverage reported; is the target instrumented?")
  fi
done

printf 'fuzz: %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz: FAILED %s\n' "${failed[@]}" >&2
  echo "fuzz: reproduce with: PATH=\$PWD/.tools/cargo/bin:\$PATH ${fuzz[*]} run ${flags[*]} <target> <input>" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no crash"
