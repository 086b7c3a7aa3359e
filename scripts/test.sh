#!/usr/bin/env bash
# The whole test suite, as CI runs it: setup, formatting, lints, unit and
# integration tests (real codex CLI against loopback fakes), Nix checks.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked --all-targets 2>&1 | tee /tmp/kai-cargo-test.log
if [ -x tests/nix/check.sh ] || [ -f tests/nix/check.sh ]; then
  bash tests/nix/check.sh
fi
