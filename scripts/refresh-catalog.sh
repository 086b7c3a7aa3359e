#!/usr/bin/env bash
# Regenerates catalog.json's codex models and default from what a codex
# binary answers to `model/list` (offline: a throwaway CODEX_HOME, no
# login needed). Usage: scripts/refresh-catalog.sh [path/to/codex]
# (default: the pinned one in ./.tools). Review the diff, then run the
# tests: the Nix assertions and the runtime read this file.
set -euo pipefail
cd "$(dirname "$0")/.."

codex=${1:-.tools/node_modules/.bin/codex}
version=$("$codex" --version | awk '{print $NF}')
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
answer=$(
  {
    printf '%s\n' \
      '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"clientInfo":{"name":"kai-refresh-catalog","version":"1"}}}' \
      '{"jsonrpc":"2.0","method":"initialized"}' \
      '{"jsonrpc":"2.0","id":2,"method":"model/list","params":{}}'
    sleep 5
  } | CODEX_HOME="$home" timeout 30 "$codex" app-server 2>/dev/null | grep '"id":2' || true
)
if [ -z "$answer" ]; then
  echo "refresh-catalog: $codex did not answer model/list" >&2
  exit 1
fi
ANSWER=$answer VERSION=$version node -e '
  const fs = require("fs");
  const answer = JSON.parse(process.env.ANSWER);
  if (!answer.result) { console.error("refresh-catalog: " + JSON.stringify(answer.error)); process.exit(1); }
  const shown = answer.result.data.filter((m) => !m.hidden);
  const models = shown.map((m) => m.model || m.id).sort();
  const def = (shown.find((m) => m.isDefault) || {}).model || models[0];
  const catalog = JSON.parse(fs.readFileSync("catalog.json", "utf8"));
  catalog.codex.models = models;
  catalog.codex.default = def;
  catalog.codex.source = `codex-cli ${process.env.VERSION} \`model/list\` (offline answer of the app-server)`;
  fs.writeFileSync("catalog.json", JSON.stringify(catalog, null, 2) + "\n");
  console.log(`refresh-catalog: ${models.length} codex models from codex-cli ${process.env.VERSION}, default ${def}`);
'
