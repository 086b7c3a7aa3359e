#!/usr/bin/env bash
# Installs everything Kai's build and tests need on a fresh Debian machine:
# sudo and nix-bin from Debian (OS-user isolation tests, Nix checks) and the
# pinned agent CLIs from npm into ./.tools. Idempotent: safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

CODEX_VERSION=0.169.0
CLAUDE_VERSION=2.1.328

need_apt=()
command -v sudo >/dev/null 2>&1 || need_apt+=(sudo)
command -v nix-instantiate >/dev/null 2>&1 || need_apt+=(nix-bin)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
# ps: the process listing kai uses where there is no /proc (tested here too).
command -v ps >/dev/null 2>&1 || need_apt+=(procps)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need ${need_apt[*]}; run as root or: sudo apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${need_apt[*]} (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

installed=$(./.tools/node_modules/.bin/codex --version 2>/dev/null || true)
if [ "$installed" != "codex-cli $CODEX_VERSION" ]; then
  echo "setup: installing @openai/codex@$CODEX_VERSION into .tools/"
  mkdir -p .tools
  npm install --silent --no-audit --no-fund --prefix .tools "@openai/codex@$CODEX_VERSION" >/dev/null
fi
./.tools/node_modules/.bin/codex --version

# The other codex versions the end-to-end tests run (catalog.json's
# `tested_versions`: what nixpkgs ships, the newest on npm), each in its own
# folder; scripts/codex-matrix.sh runs them.
for v in $(node -e 'console.log(require("./catalog.json").codex.tested_versions.join(" "))'); do
  [ "$v" != "$CODEX_VERSION" ] || continue
  dir=.tools/codex-$v
  installed=$("$dir/node_modules/.bin/codex" --version 2>/dev/null || true)
  if [ "$installed" != "codex-cli $v" ]; then
    echo "setup: installing @openai/codex@$v into $dir/"
    mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" "@openai/codex@$v" >/dev/null
  fi
  "$dir/node_modules/.bin/codex" --version
done

# Only the tests of the claude backend use it: the codex path never needs it.
installed=$(./.tools/node_modules/.bin/claude --version 2>/dev/null || true)
if [ "$installed" != "$CLAUDE_VERSION (Claude Code)" ]; then
  echo "setup: installing @anthropic-ai/claude-code@$CLAUDE_VERSION into .tools/"
  mkdir -p .tools
  npm install --silent --no-audit --no-fund --prefix .tools "@anthropic-ai/claude-code@$CLAUDE_VERSION" >/dev/null
fi
./.tools/node_modules/.bin/claude --version
echo "setup: done"
