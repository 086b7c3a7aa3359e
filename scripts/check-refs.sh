#!/usr/bin/env bash
# Every file the repository's prose points at exists: paths named in
# Markdown and in comments (`//`, `#`, `--`) of the tracked sources, and
# every Markdown file mentioned by name in them. Paths git ignores (build
# output, fuzz corpora) and patterns (`*`, `<name>`, `{a,b}`) are skipped,
# and so are the names of other tools' files (codex's AGENTS.md, Claude
# Code's CLAUDE.md).
# Run from anywhere; prints each dangling reference and exits 1 if any.
set -euo pipefail
cd "$(dirname "$0")/.."

roots='src|tests|docs|scripts|nixos-module|vm-tests|examples|benches|fuzz|\.ci'
missing=0
while IFS= read -r file; do
  case "$file" in
    *.md) text=$(cat "$file") ;;
    *.rs | *.nix | *.sh | *.py | *.toml | .ci/*)
      # Comment lines only: code holds paths that are data, not references.
      text=$(grep -E '^[[:space:]]*(//|#|--)' "$file" || true) ;;
    *) continue ;;
  esac
  refs=$(grep -oE "(^|[^A-Za-z0-9_./-])(($roots)/[A-Za-z0-9_./*<>{}-]*|[A-Za-z0-9_-]+\.md)" <<<"$text" |
    sed -E 's/^[^A-Za-z0-9_.]//; s/[.,:;]+$//' | sort -u || true)
  while IFS= read -r ref; do
    [ -n "$ref" ] || continue
    case "$ref" in *'*'* | *'<'* | *'{'* | AGENTS.md | CLAUDE.md) continue ;; esac
    if [[ "$ref" == *.md && "$ref" != */* ]]; then
      # A bare document name: at the top or in docs/.
      [ -e "$ref" ] || [ -e "docs/$ref" ] || { echo "$file: names $ref, which the repository lacks"; missing=1; }
      continue
    fi
    [ -e "$ref" ] && continue
    git check-ignore -q "$ref" && continue
    echo "$file: names $ref, which the repository lacks"
    missing=1
  done <<<"$refs"
done < <(git ls-files --cached --others --exclude-standard | grep -vE '(^|/)(Cargo\.lock|flake\.lock)$|^fuzz/seeds/')
if [ "$missing" = 0 ]; then
  echo "check-refs: every referenced file exists"
fi
exit "$missing"
