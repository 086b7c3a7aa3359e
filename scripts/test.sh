#!/usr/bin/env bash
# The whole test suite, as CI runs it: setup, formatting, lints, unit and
# integration tests (real codex and Claude Code CLIs against loopback fakes),
# the systemd unit booted in a container, a fuzz smoke run, Nix checks.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

# The isolation tests (as root) run the built kai and the codex CLI as other
# accounts, so every directory above the checkout must be traversable.
# In CI, grant that (o+x: enter, not list); elsewhere only say so.
if [ "$(id -u)" -eq 0 ]; then
  d=$PWD
  while [ "$d" != / ]; do
    if [ "$(stat -c %A "$d" | cut -c10)" = - ]; then
      if [ "${CI:-}" = true ]; then
        echo "test: making $d traversable (o+x) for the isolation test accounts"
        chmod o+x "$d"
      else
        echo "test: warning: $d is not traversable by other accounts; tests/isolation.rs will fail (chmod o+x $d)" >&2
      fi
    fi
    d=$(dirname "$d")
  done
fi
cargo fmt --all -- --check
# Every file the docs and comments name exists (docs/design.md among them).
bash scripts/check-refs.sh
cargo clippy --all-targets --locked -- -D warnings
# --no-fail-fast: one failing test binary must not hide the results of the rest.
cargo test --locked --all-targets --no-fail-fast
# The protocol tests again against the other codex versions kai supports.
bash scripts/codex-matrix.sh
# The NixOS module's unit under real systemd (a Debian container, as root):
# readiness, watchdog, LoadCredential, hardening with sudo, stop.
if [ "$(id -u)" -eq 0 ]; then
  bash tests/systemd/run.sh
elif [ "${CI:-}" = true ]; then
  echo "test: tests/systemd/run.sh needs root, and CI runs as root; refusing to skip it" >&2
  exit 1
else
  echo "test: skipping tests/systemd/run.sh (the unit under real systemd): it needs root"
fi
# A bounded smoke run of every cargo-fuzz target (seconds each): catches a
# parser change that breaks a fuzzed property, not a deep search.
bash scripts/fuzz.sh 10
if [ -x tests/nix/check.sh ] || [ -f tests/nix/check.sh ]; then
  bash tests/nix/check.sh
fi
