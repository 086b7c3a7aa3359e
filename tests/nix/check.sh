#!/usr/bin/env bash
# Checks the Nix side without nixpkgs (Debian's nix-bin is enough):
#   1. every .nix file parses;
#   2. lib.nix renders each golden case byte for byte, deterministically;
#   3. the rendered sudoers text passes `visudo -cf`;
#   4. invalid configurations fail with messages naming what to write, and
#      lib.nix still writes their env and users files (golden), which
#      tests/nix_golden.rs hands to `kai check-config`, refused there too;
#      the env keys lib.nix knows (golden tests/nix/env-keys);
#   5. the NixOS and nix-darwin modules evaluate (lib.evalModules, stub
#      platform options) and their assertions fire, with nixpkgs.lib from
#      NIXPKGS_LIB=/path/to/a/nixpkgs.lib/checkout or else from
#      ../shared/vendor/nixpkgs-lib-*.tar.gz beside the repository; with
#      neither, this part says it skipped.
# Run from the repository root: tests/nix/check.sh
# KAI_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
set -euo pipefail

cd "$(dirname "$0")/../.."
here=tests/nix
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
pass() {
  passed=$((passed + 1))
  echo "ok   $1"
}
fail() {
  failed=$((failed + 1))
  echo "FAIL $1" >&2
  if [ $# -gt 1 ]; then printf '%s\n' "$2" | sed 's/^/     /' >&2; fi
}
skip() { echo "skip $1"; }

command -v nix-instantiate >/dev/null || {
  echo "nix-instantiate not found (Debian: apt-get install nix-bin)" >&2
  exit 1
}
command -v jq >/dev/null || {
  echo "jq not found" >&2
  exit 1
}
eval_json() { nix-instantiate --eval --strict --json "$@"; }
# golden RENDERED GOLDEN LABEL: the rendered file equals the golden one
# (KAI_UPDATE_GOLDEN=1 writes it first).
golden() {
  if [ "${KAI_UPDATE_GOLDEN:-}" = 1 ]; then
    cp "$1" "$2"
  fi
  if [ ! -e "$2" ]; then
    fail "$3" "missing; run with KAI_UPDATE_GOLDEN=1 and review"
  elif cmp -s "$1" "$2"; then
    pass "$3"
  else
    fail "$3" "$(diff -u "$2" "$1" || true)"
  fi
}

# 1. Every tracked or untracked (not ignored) .nix file parses.
while IFS= read -r f; do
  if out=$(nix-instantiate --parse "$f" 2>&1 >/dev/null); then
    pass "parse $f"
  else
    fail "parse $f" "$out"
  fi
done < <(git ls-files --cached --others --exclude-standard -- '*.nix' | sort)

# 2. Golden files and determinism.
# Every file eval.nix renders for a case is a golden file: env, users.json,
# sudoers, derived.json, and kai.service + tmpfiles.conf where the case
# configures the service.
for dir in "$here"/cases/*/; do
  dir=${dir%/}
  case=$(basename "$dir")
  if ! eval_json "$here/eval.nix" --arg case "./$dir" >"$work/$case.1.json" 2>"$work/err" ||
    ! eval_json "$here/eval.nix" --arg case "./$dir" >"$work/$case.2.json" 2>>"$work/err"; then
    fail "render $case" "$(cat "$work/err")"
    continue
  fi
  if cmp -s "$work/$case.1.json" "$work/$case.2.json"; then
    pass "deterministic $case"
  else
    fail "deterministic $case" "two evaluations differ"
  fi
  mapfile -t golden_files < <(jq -r 'keys[]' "$work/$case.1.json")
  for file in "${golden_files[@]}"; do
    jq -j --arg k "$file" '.[$k]' "$work/$case.1.json" >"$work/$case.$file"
    golden "$work/$case.$file" "$dir/$file" "golden $case/$file"
  done
done

# 3. sudoers syntax.
visudo=$(command -v visudo || true)
[ -n "$visudo" ] || [ ! -x /usr/sbin/visudo ] || visudo=/usr/sbin/visudo
if [ -z "$visudo" ]; then
  skip "visudo -cf: visudo not installed (Debian: apt-get install sudo)"
else
  for dir in "$here"/cases/*/; do
    case=$(basename "$dir")
    if out=$("$visudo" -cf "$work/$case.sudoers" 2>&1); then
      pass "visudo $case"
    else
      fail "visudo $case" "$out"
    fi
  done
fi

# 4. Invalid configurations: validate lists the message, render refuses.
for dir in "$here"/errors/*/; do
  dir=${dir%/}
  case=$(basename "$dir")
  expr="(import ./nixos-module/lib.nix { }).validate (import ./$dir/input.nix)"
  if ! errors=$(eval_json -E "$expr" 2>&1); then
    fail "validate $case" "$errors"
    continue
  fi
  errors=$(jq -r '.[]' <<<"$errors")
  rendered_ok=0
  stderr=$(eval_json -E "(import ./nixos-module/lib.nix { }).render (import ./$dir/input.nix)" 2>&1 >/dev/null) ||
    rendered_ok=$?
  missing=""
  while IFS= read -r want; do
    [ -n "$want" ] || continue
    grep -qF -- "$want" <<<"$errors" || missing+="validate lacks: $want"$'\n'
    grep -qF -- "$want" <<<"$stderr" || missing+="render error lacks: $want"$'\n'
  done <"$dir/expected"
  if [ "$rendered_ok" = 0 ]; then
    fail "error $case" "render succeeded"
  elif [ -n "$missing" ]; then
    fail "error $case" "$missing--- got:"$'\n'"$errors"
  else
    pass "error $case"
  fi
  # The files lib.nix would write for this input, had it not refused it:
  # tests/nix_golden.rs shows that `kai check-config` refuses them too (the
  # lines of `check-config`), unless only Nix can know (`nix-only` says why).
  if [ -e "$dir/nix-only" ]; then
    if [ ! -s "$dir/nix-only" ]; then
      fail "nix-only $case" "empty: say why kai check-config cannot see this"
    elif [ -e "$dir/env" ] || [ -e "$dir/users.json" ] || [ -e "$dir/check-config" ]; then
      fail "nix-only $case" "a Nix-only case has no files for check-config"
    else
      pass "nix-only $case"
    fi
  elif ! eval_json -E "(import ./nixos-module/lib.nix { }).renderFiles (import ./$dir/input.nix)" \
    >"$work/$case.files.json" 2>"$work/err"; then
    fail "files $case" "$(cat "$work/err")"$'\n'"(if the files cannot be written at all, mark the case nix-only)"
  else
    jq -j .env "$work/$case.files.json" >"$work/$case.env"
    jq -j .usersJson "$work/$case.files.json" >"$work/$case.users.json"
    golden "$work/$case.env" "$dir/env" "golden errors/$case/env"
    golden "$work/$case.users.json" "$dir/users.json" "golden errors/$case/users.json"
    [ -s "$dir/check-config" ] || fail "check-config $case" "missing: the lines kai check-config's refusal must contain"
  fi
done
# The keys lib.nix may write into the env file; tests/nix_golden.rs compares
# them with the runtime's list (src/config/mod.rs, KEYS) and with --help.
eval_json -E '(import ./nixos-module/lib.nix { }).envKeys' | jq -r '.[]' >"$work/env-keys"
golden "$work/env-keys" "$here/env-keys" "golden env-keys"
# The env renderer itself refuses a newline (defence in depth).
if out=$(eval_json -E '(import ./nixos-module/lib.nix { }).renderEnvFile { A = "x\ny"; }' 2>&1); then
  fail "env newline refused" "rendered: $out"
elif grep -qF "the value of A contains a newline" <<<"$out"; then
  pass "env newline refused"
else
  fail "env newline refused" "$out"
fi

# 5. The modules, with nixpkgs' lib: NIXPKGS_LIB if set, else the vendored
# tarball beside the repository (../shared/vendor, see its README), unpacked
# into the temporary directory and never into the checkout.
vendored=$(ls -1 ../shared/vendor/nixpkgs-lib-*.tar.gz 2>/dev/null | sort | tail -n 1 || true)
if [ -z "${NIXPKGS_LIB:-}" ] && [ -n "$vendored" ]; then
  mkdir "$work/nixpkgs-lib"
  if tar -xzf "$vendored" -C "$work/nixpkgs-lib"; then
    NIXPKGS_LIB=$work/nixpkgs-lib
    echo "module evaluation: nixpkgs.lib from $vendored"
  else
    fail "unpack $vendored"
  fi
fi
if [ -z "${NIXPKGS_LIB:-}" ] || [ ! -e "${NIXPKGS_LIB}/lib/default.nix" ]; then
  skip "module evaluation: no ../shared/vendor/nixpkgs-lib-*.tar.gz; set NIXPKGS_LIB to a nixpkgs.lib checkout (a directory with lib/default.nix)"
else
  if ! eval_json "$here/module-eval.nix" --arg nixpkgsLib "$NIXPKGS_LIB" >"$work/module.json" 2>"$work/err"; then
    fail "module evaluation" "$(cat "$work/err")"
  else
    while IFS='|' read -r name test; do
      [ -n "$name" ] || continue
      if jq -e "$test" "$work/module.json" >/dev/null; then
        pass "module $name"
      else
        fail "module $name" "jq: $test"
      fi
    done <<'EOF'
valid NixOS config has no failed assertion|.nixos.failed == []
systemd Type=notify, NotifyAccess=main|.nixos.Type == "notify" and .nixos.NotifyAccess == "main"
WatchdogSec 30s, Restart=on-failure|.nixos.WatchdogSec == "30s" and .nixos.Restart == "on-failure"
ExecStart runs the unwrapped kai with /etc/kai/env|.nixos.ExecStart | test("^/nix/store/[^ ]+/bin/kai run --env-file /etc/kai/env$")
token via LoadCredential|.nixos.LoadCredential == ["telegram-bot-token:/run/keys/kai-telegram-token"]
NoNewPrivileges off for sudo, ProtectSystem strict|.nixos.NoNewPrivileges == false and .nixos.ProtectSystem == "strict"
data dir writable|.nixos.ReadWritePaths | index("/var/lib/kai") != null
KillMode=mixed: systemctl stop lets kai reap its agents|.nixos.KillMode == "mixed"
no restart loop on a configuration error (EX_CONFIG 78)|(.nixos.RestartPreventExitStatus | tostring | test("78"))
LimitNOFILE 8192: the webhook listener's cap leaves descriptors for the agents|.nixos.LimitNOFILE == 8192
/run read-only, UMask 0077|(.nixos.ReadOnlyPaths | index("/run") != null) and .nixos.UMask == "0077"
sudo found through /run/wrappers|.nixos.path == ["/run/wrappers"]
/etc/kai files are the checked ones|.nixos.etc["kai/env"] | endswith("-kai-config/env")
env from the module equals lib.nix for the same options|.nixos.env | contains("CODEX_BIN=\"/nix/store/00000000000000000000000000000000-codex-0.169.0/bin/codex\"\n")
sudo rule: kai as alice, exactly codex and the kai subcommands|.nixos.sudoRules == [{"users":["kai"],"runAs":"alice","commands":[{"command":"/nix/store/00000000000000000000000000000000-codex-0.169.0/bin/codex","options":["NOPASSWD","SETENV"]},{"command":"/nix/store/00000000000000000000000000000000-kai-0.1.0/bin/kai reap *","options":["NOPASSWD","SETENV"]},{"command":"/nix/store/00000000000000000000000000000000-kai-0.1.0/bin/kai inbox-put *","options":["NOPASSWD","SETENV"]},{"command":"/nix/store/00000000000000000000000000000000-kai-0.1.0/bin/kai workspace-read *","options":["NOPASSWD","SETENV"]},{"command":"/nix/store/00000000000000000000000000000000-kai-0.1.0/bin/kai workspace-ls *","options":["NOPASSWD","SETENV"]},{"command":"/nix/store/00000000000000000000000000000000-kai-0.1.0/bin/kai project-dir *","options":["NOPASSWD","SETENV"]},{"command":"/nix/store/00000000000000000000000000000000-kai-0.1.0/bin/kai inbox-clean *","options":["NOPASSWD","SETENV"]}]}]
tmpfiles: workspace owned by alice 0700|.nixos.tmpfiles["/var/lib/kai/home/alice"].d == {"user":"alice","group":"users","mode":"0700"}
login hint names the configured codex|.nixos.loginHints | contains("sudo -u alice -H /nix/store/00000000000000000000000000000000-codex-0.169.0/bin/codex login")
service user home is the data dir|.nixos.serviceUser.home == "/var/lib/kai" and .nixos.serviceUser.isSystemUser
codex-only config has no CLAUDE_BIN|.nixos.env | contains("CLAUDE_BIN") | not
mixed: CLAUDE_BIN present, bob (no osUser) gets a claude rule as kai-agent|(.mixed.env | contains("CLAUDE_BIN=")) and ([.mixed.sudoRules[].runAs] == ["alice","kai-agent","kai-agent"]) and .mixed.failed == []
no sudo rule ever runs anything as the service user|[.nixos.sudoRules[].runAs, .mixed.sudoRules[].runAs] | index("kai") == null
agent account created, unprivileged, home of its own|.mixed.agentAccount.isSystemUser and .mixed.agentAccount.group == "kai-agent" and .mixed.agentAccount.home == "/var/lib/kai-agent"
agent account's workspace and tmp are its own|.mixed.tmpfiles["/var/lib/kai/home/bob"].d.user == "kai-agent" and .mixed.tmpfiles["/var/lib/kai/tmp/kai-agent"].d.mode == "0700"
agent account's home is writable under ProtectSystem|.mixed.ReadWritePaths | index("-/var/lib/kai-agent") != null
no agent account when every user has one|.noAgentAccount
voice: hosted endpoint and local server evaluate without failed assertions|.voice.hostedFailed == [] and .voice.localFailed == []
voice off: no TRANSCRIBE_ key in the env file|.voice.offEnv | contains("TRANSCRIBE_") | not
voice: the hosted endpoint reaches the env file, the key does not|(.voice.hostedEnv | contains("TRANSCRIBE_URL=\"https://api.openai.com/v1\"\n") and contains("TRANSCRIBE_MODEL=\"gpt-4o-mini-transcribe\"\n") and contains("TRANSCRIBE_TIMEOUT_SECONDS=\"60\"\n")) and (.voice.hostedEnv | contains("kai-transcribe") | not)
voice: the key as the credential transcribe-api-key|.voice.hostedCredentials == ["telegram-bot-token:/run/keys/kai-telegram-token","transcribe-api-key:/run/keys/kai-transcribe"]
voice: a key inside the store is refused|.voice.keyInStore | any(contains("services.kai.voice.apiKeyFile") and contains("outside /nix/store"))
voice: a URL that is not http(s) is refused|.voice.badUrl | any(contains("services.kai.voice.url = \"api.openai.com\" must be an http(s) URL"))
voice local: kai points at the loopback server, needs no key|(.voice.localEnv | contains("TRANSCRIBE_URL=\"http://127.0.0.1:8178/v1\"\n")) and .voice.localCredentials == ["telegram-bot-token:/run/keys/kai-telegram-token"]
voice local: whisper-server on 127.0.0.1 at the OpenAI path, converting with ffmpeg|(.voice.whisper.ExecStart | test("^/nix/store/[^ ]+-whisper-cpp-1.7.5/bin/whisper-server --host 127.0.0.1 --port 8178 --model /var/lib/kai-whisper/ggml-base.bin --inference-path /v1/audio/transcriptions .*--convert$")) and (.voice.whisperPath | any(test("ffmpeg-headless")))
voice local: loopback only (IPAddressDeny any, allow localhost)|.voice.whisper.IPAddressDeny == ["any"] and .voice.whisper.IPAddressAllow == ["localhost"]
voice local: hardened (dynamic user, no privileges, strict, no capabilities, syscall filter)|.voice.whisper.DynamicUser and .voice.whisper.NoNewPrivileges and .voice.whisper.ProtectSystem == "strict" and .voice.whisper.ProtectHome and .voice.whisper.PrivateDevices and .voice.whisper.CapabilityBoundingSet == [""] and (.voice.whisper.SystemCallFilter | index("@system-service") != null) and .voice.whisper.RestrictNamespaces and .voice.whisper.MemoryDenyWriteExecute == null
voice local: kai starts after the server|.voice.kaiAfter | index("kai-whisper.service") != null
voice local: a missing model file is refused|.voice.noModelFile | any(contains("services.kai.voice.local.modelFile"))
darwin: the transcription key by path in launchd's environment|.voice.darwinKeyEnv == "/run/keys/kai-transcribe"
github: a valid config has no failed assertion|.github.failed == []
github: both secrets through LoadCredential|.github.LoadCredential == ["telegram-bot-token:/run/keys/kai-telegram-token","github-webhook-secret:/run/keys/kai-github-webhook","github-token:/run/keys/kai-github-token"]
github: the listener and the repos reach the generated files|(.github.env | contains("GITHUB_WEBHOOK_LISTEN=\"127.0.0.1:8787\"")) and (.github.usersJson | contains("\"repos\":[\"acme/app\"]"))
conversations: chats, projects, maxAgents reach the users file and tmpfiles|.conversations.failed == [] and (.conversations.usersJson | contains("\"chats\":[-1001]") and contains("\"projects\":[\"api\"]") and contains("\"max_agents\":2")) and (.conversations.tmpfiles["/var/lib/kai/home/alice/api"].d.user == "alice")
github: the module defaults reach the users file (review, notify on; triage off)|.github.usersJson | (contains("\"notify\":true") and contains("\"review\":true") and contains("\"triage\":false"))
github: a secret inside the store is refused|.githubFailures["secret-in-store"] | any(contains("outside /nix/store"))
github: a repository owned twice is refused|.githubFailures["repo-owned-twice"] | any(contains("acme/app is listed by alice, bob"))
tested codex version: no warning|.warnings.tested == []
untested codex version: a warning naming the tested ones|.warnings.untested | any(contains("0.150.1") and contains("0.148.0, 0.169.0, 0.171.0"))
assertion: osUser = service user beside sudo users|.failures["service-account-os-user"] | any(contains("carol would run their agents as the service account `kai`"))
assertion: single-account mode beside an osUser|.failures["single-account-beside-sudo"] | any(contains("bob would run their agents as the service account"))
assertion: undeclared agentUser|.failures["undeclared-agent-user"] | any(contains("users.users.agents is not declared"))
darwin: launchd Umask 0077|.darwin.umask == 63
darwin: agentUid creates the agent account|.darwin.agentUid == 533 and (.darwin.agentKnown | index("kai-agent") != null)
assertion: wrong global model lists the codex models|.failures["wrong-model"] | any(contains("services.kai.model = \"opus\"") and contains("valid codex models: gpt-5.5, gpt-5.6-luna"))
assertion: wrong user model|.failures["wrong-user-model"] | any(contains("services.kai.users.alice.model = \"sonnet\"") and contains("valid codex models"))
assertion: duplicate Telegram ids|.failures["duplicate-ids"] | any(contains("Telegram id 1001 is given to alice, bob"))
assertion: token file inside the store|.failures["token-in-store"] | any(contains("keep the bot token outside the store"))
assertion: undeclared osUser|.failures["undeclared-os-user"] | any(contains("users.users.carol is not declared"))
assertion: claude user without claude.package|.failures["claude-package-null"] | any(contains("services.kai.claude.package = pkgs.claude-code;"))
darwin: valid config has no failed assertion|.darwin.failed == []
darwin: launchd runs kai run --env-file /etc/kai/env|.darwin.programArguments[1:] == ["run","--env-file","/etc/kai/env"]
darwin: token through TELEGRAM_BOT_TOKEN_FILE|.darwin.tokenEnv == "/run/keys/kai-telegram-token"
darwin: sudoers text is lib.nix's|.darwin.sudoers == .darwin.renderedSudoers and (.darwin.sudoers | contains("kai ALL=(alice) NOPASSWD:SETENV: "))
darwin: activation creates the workspace|.darwin.activation | contains("chmod 0700 /var/lib/kai/home/alice")
darwin: wrong model fails|.darwinFailures["wrong-model"] | any(contains("valid codex models"))
EOF
  fi
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
