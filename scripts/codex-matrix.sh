#!/usr/bin/env bash
# The end-to-end tests that pin down the codex protocol as kai uses it —
# a two-turn round trip, /stop, restart-and-resume, the login hint — run
# against every codex version in catalog.json's `tested_versions` other
# than the pinned one (the full suite runs that): what the flake's nixpkgs
# ships and the newest on npm, installed by scripts/setup.sh into
# .tools/codex-<version>. Prints which versions passed; exits 1 if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."

pinned=$(sed -n 's/^CODEX_VERSION=//p' scripts/setup.sh)
tests=(
  --test codex_e2e --test sessions --test login --test files_e2e --
  two_messages_are_answered_and_a_slow_reply_streams
  a_photo_reaches_the_model_as_an_image_and_get_sends_files_back
  stop_ends_a_slow_reply_and_the_next_message_works
  a_conversation_survives_a_daemon_restart
  a_logged_out_account_gets_the_login_command_not_a_failed_turn
)
passed=()
failed=()
for v in $(node -e 'console.log(require("./catalog.json").codex.tested_versions.join(" "))'); do
  [ "$v" != "$pinned" ] || continue
  bin=$PWD/.tools/codex-$v/node_modules/.bin/codex
  if [ ! -x "$bin" ]; then
    echo "codex-matrix: $bin is missing: run bash scripts/setup.sh" >&2
    failed+=("$v")
    continue
  fi
  echo "codex-matrix: codex $v"
  if KAI_TEST_CODEX_BIN=$bin cargo test --locked "${tests[@]}"; then
    passed+=("$v")
  else
    failed+=("$v")
  fi
done
echo "codex-matrix: pinned $pinned (the whole suite); passed: ${passed[*]:-none}; failed: ${failed[*]:-none}"
[ ${#failed[@]} -eq 0 ]
