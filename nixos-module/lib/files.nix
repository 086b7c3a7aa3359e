# The two files the runtime reads: /etc/kai/env (KEY="value" lines, the
# format src/config/envfile.rs parses) and /etc/kai/users.json (the shape
# src/config/users.rs parses). Both assume a valid input.
{
  catalog,
  util,
  inputs,
}:
let
  inherit (builtins)
    attrNames
    concatStringsSep
    filter
    listToAttrs
    isBool
    isInt
    isString
    map
    replaceStrings
    toJSON
    typeOf
    ;
  inherit (util)
    sortStrings
    optionalAttrs
    hasNewline
    ;
  inherit (inputs)
    normalize
    facts
    ;
in
rec {
  # Every key of /etc/kai/env (docs/design.md), sorted.
  envKeys = sortStrings [
    "AGENT_BACKEND"
    "AGENT_IDLE_SECONDS"
    "AGENT_TIMEOUT_SECONDS"
    "CLAUDE_BIN"
    "CODEX_BIN"
    "CODEX_VERSION"
    "DEFAULT_MODEL"
    "GITHUB_API_URL"
    "GITHUB_JOB_TIMEOUT_SECONDS"
    "GITHUB_WEBHOOK_LISTEN"
    "INBOX_RETENTION_DAYS"
    "KAI_DATA_DIR"
    "KAI_USERS_FILE"
    "TELEGRAM_API_URL"
    "TRANSCRIBE_MODEL"
    "TRANSCRIBE_TIMEOUT_SECONDS"
    "TRANSCRIBE_URL"
  ];

  envValue =
    v:
    if isBool v then
      (if v then "true" else "false")
    else if isInt v then
      toString v
    else if isString v then
      v
    else
      throw "kai: an env value must be a string, an integer or a boolean, not a ${typeOf v}";

  envLine =
    key: value:
    if hasNewline value then
      throw "kai: the value of ${key} contains a newline, which /etc/kai/env cannot carry"
    else
      "${key}=\"${replaceStrings [ "\\" "\"" ] [ "\\\\" "\\\"" ] value}\"\n";

  # KEY="value" lines, keys sorted (attrNames is sorted), file ends with "\n".
  renderEnvFile = vars: concatStringsSep "" (map (k: envLine k (envValue vars.${k})) (attrNames vars));

  envVars =
    cfg:
    let
      f = facts cfg;
    in
    {
      AGENT_BACKEND = cfg.backend;
      DEFAULT_MODEL = if cfg.model != null then cfg.model else catalog.${cfg.backend}.default;
      TELEGRAM_API_URL = cfg.telegram.apiUrl;
      KAI_USERS_FILE = cfg.usersFile;
      KAI_DATA_DIR = cfg.dataDir;
      AGENT_TIMEOUT_SECONDS = cfg.timeoutSeconds;
      AGENT_IDLE_SECONDS = cfg.agentIdleSeconds;
      INBOX_RETENTION_DAYS = cfg.inboxRetentionDays;
    }
    // (if f.usesCodex then { CODEX_BIN = cfg.codex.binary; } else { })
    // (if f.usesCodex && cfg.codex.version != null then { CODEX_VERSION = cfg.codex.version; } else { })
    // (if f.usesClaude then { CLAUDE_BIN = cfg.claude.binary; } else { })
    // (
      if cfg.github.enable then
        {
          GITHUB_WEBHOOK_LISTEN = cfg.github.listen;
          GITHUB_API_URL = cfg.github.apiUrl;
          GITHUB_JOB_TIMEOUT_SECONDS = cfg.github.jobTimeoutSeconds;
        }
      else
        { }
    )
    // (
      if cfg.voice.url != null then
        {
          TRANSCRIBE_URL = cfg.voice.url;
          TRANSCRIBE_MODEL = cfg.voice.model;
          TRANSCRIBE_TIMEOUT_SECONDS = cfg.voice.timeoutSeconds;
        }
      else
        { }
    );

  # `os_user` is resolved (agentUser filled in), so the runtime runs exactly
  # the account the sudoers rules name; null only in single-account mode.
  usersDocument =
    cfg:
    let
      f = facts cfg;
    in
    {
      users = map (
        u:
        {
          inherit (u) name backend model workspace;
          telegram_id = u.telegramId;
          os_user = if f.osUserOf u == cfg.user then null else f.osUserOf u;
        }
        # Only where set, so files without groups stay as they were.
        // optionalAttrs (u.chats != [ ]) { inherit (u) chats; }
        // optionalAttrs (u.projects != [ ]) { inherit (u) projects; }
        // optionalAttrs (u.maxAgents != null) { max_agents = u.maxAgents; }
        # Only where set, so files without GitHub stay as they were.
        // optionalAttrs (u.github != null) {
          github = {
            repos = u.github.repos or [ ];
            review = u.github.review or true;
            triage = u.github.triage or false;
            notify = u.github.notify or true;
          };
        }
      ) cfg.users;
    };

  # Both files for any input, valid or not, as the module would write them
  # (a null value, e.g. a missing binary, leaves its key out). `render`
  # writes these after validation; tests/nix/check.sh also renders them for
  # the refused inputs of tests/nix/errors, so tests/nix_golden.rs can show
  # that `kai check-config` refuses the same files.
  renderFiles =
    input:
    let
      cfg = normalize input;
      vars = envVars cfg;
      set = filter (k: vars.${k} != null) (attrNames vars);
    in
    {
      env = renderEnvFile (listToAttrs (map (name: { inherit name; value = vars.${name}; }) set));
      usersJson = toJSON (usersDocument cfg);
    };
}
