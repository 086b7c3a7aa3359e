# What lib.nix refuses at evaluation time, each message naming the option to
# change, so `nixos-rebuild` fails before anything is built. `kai
# check-config` owns what a setting means (src/config/); these checks say
# the same in option paths, and every case of tests/nix/errors/ is refused
# by both (tests/nix/check.sh for this side, tests/nix_golden.rs for the
# runtime's), or says why only Nix can tell (`nix-only`).
{
  catalog,
  util,
  inputs,
}:
let
  inherit (builtins)
    concatLists
    concatMap
    elem
    elemAt
    filter
    head
    isInt
    isString
    length
    map
    match
    toJSON
    ;
  inherit (util)
    unique
    hasPrefix
    optional
    optionals
    quote
    showList
    nixString
    toLower
    hasNewline
    isAbsolute
    ;
  inherit (inputs)
    backends
    normalize
    facts
    ;

  # The rules of src/config/users.rs: names become directory names, OS user names
  # are POSIX-portable so they can never smuggle sudoers syntax.
  validName = n: match "[a-z0-9_-]{1,32}" n != null;
  validOsUser = n: match "[a-z_][a-z0-9_-]{0,31}" n != null;
  # A command in sudoers is split at whitespace and cannot contain a
  # backslash at all (visudo: "expected a fully-qualified path name"); `,` `:`
  # and `=` are escaped by `sudoersEscape`.
  validBinary = p: isAbsolute p && match ".*[[:space:]\\].*" p == null;

  isCatalogModel = backend: model: elem model catalog.${backend}.models;
  looksLikeClaude =
    model:
    let
      m = toLower model;
    in
    hasPrefix "claude" m || match ".*(opus|sonnet|haiku).*" m != null;

  # What the runtime's Checker accepts (src/config/mod.rs): a whole number
  # of seconds up to a day, and an http(s) URL without whitespace.
  isSeconds = n: isInt n && n > 0 && n <= 86400;
  isUrl = u: isString u && match "https?://[^[:space:]/][^[:space:]]*" u != null;
  # A socket address as Rust's SocketAddr parses it (GITHUB_WEBHOOK_LISTEN):
  # IPv4 octets without leading zeros, or a bracketed IPv6 address, and a
  # port up to 65535. The IPv6 form is only roughly checked here.
  octet = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
  ipv4 = "${octet}\\.${octet}\\.${octet}\\.${octet}";
  port = "0*([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";

  # Same wording as catalog::validate in the runtime.
  modelError =
    backend: model:
    if isCatalogModel backend model then
      null
    else
      let
        owners = filter (b: b != backend && isCatalogModel b model) backends;
        owner =
          if owners != [ ] then
            head owners
          else if backend == "codex" && looksLikeClaude model then
            "claude"
          else
            null;
        hint = if owner == null then "" else " (it is a ${owner} model)";
      in
      "model ${quote model} is not a ${backend} model${hint}; valid ${backend} models: ${showList catalog.${backend}.models}";

  validate =
    input:
    let
      cfg = normalize input;
      f = facts cfg;
      userPath = u: "services.kai.users.${u.name}";

      backendErrors =
        if f.backendOk then
          [ ]
        else
          [
            "services.kai.backend = ${toJSON cfg.backend} is not a backend; write one of: ${
              showList (map nixString backends)
            }"
          ];

      globalModelErrors = optionals (f.backendOk && cfg.model != null) (
        let
          e = modelError cfg.backend cfg.model;
        in
        optional (e != null)
          "services.kai.model = ${nixString cfg.model}: ${e}. Write one of them, or model = null for the ${cfg.backend} default (${
            catalog.${cfg.backend}.default
          })."
      );

      userErrors =
        u:
        let
          b = f.effBackend u;
          bOk = isString b && elem b backends;
          modelErr = if bOk && u.model != null then modelError b u.model else null;
          backendNote =
            if u.backend != null then "the user's backend is ${b}" else "the user's backend is ${b}, from services.kai.backend";
        in
        optional (!validName u.name)
          "${userPath u}: the name ${quote u.name} must be 1-32 characters of a-z, 0-9, `-` or `_` (it names a directory)"
        ++ optional (!isInt u.telegramId || u.telegramId <= 0)
          "${userPath u}.telegramId must be a positive integer (the user's numeric Telegram id)"
        ++ optional (
          u.osUser != null && !validOsUser u.osUser
        ) "${userPath u}.osUser = ${nixString u.osUser} is not a valid account name (a-z, 0-9, `-`, `_`)"
        ++ optional (
          u.backend != null && !bOk
        ) "${userPath u}.backend = ${toJSON u.backend} is not a backend; write one of: ${showList (map nixString backends)}, or null for services.kai.backend"
        ++ optional (modelErr != null)
          "${userPath u}.model = ${nixString u.model}: ${modelErr} (${backendNote}). Write one of them, or model = null for the ${b} default."
        ++ optional (
          u.workspace != null && !isAbsolute u.workspace
        ) "${userPath u}.workspace = ${toJSON u.workspace} must be an absolute path without newlines"
        ++ map (
          c:
          "${userPath u}.chats: ${toJSON c} is not a group chat id (the ids of groups and supergroups are negative)"
        ) (filter (c: !isInt c || c >= 0) u.chats)
        ++ map (
          p:
          "${userPath u}.projects: ${toJSON p} is not a project name: 1-64 characters of A-Z, a-z, 0-9, `.`, `_` or `-`, not starting with `.`"
        ) (filter (p: !isString p || match "[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}" p == null) u.projects)
        ++ optional (u.maxAgents != null && (!isInt u.maxAgents || u.maxAgents < 1))
          "${userPath u}.maxAgents = ${toJSON u.maxAgents} must be a positive integer (or null for 3): the most agents of this user that run at once";

      # An agent on the service account could read the bot token and use the
      # service account's sudo rules to run agents as every other account:
      # either no agent runs as the service account, or every agent does
      # (single-account mode, no sudo rules at all).
      serviceAccountErrors =
        let
          shared = map (u: u.name) f.onServiceAccount;
          others = map (u: "${u.name} (${f.osUserOf u})") (
            filter (u: f.osUserOf u != cfg.user) cfg.users
          );
        in
        optional (shared != [ ] && others != [ ])
          "services.kai.users: ${showList shared} would run their agents as the service account ${quote cfg.user}, which holds the sudo rules that run the agents of ${showList others}; give them an osUser other than ${quote cfg.user} (or leave it null, which means services.kai.agentUser)";

      duplicateIdErrors =
        let
          ids = unique (map (u: u.telegramId) cfg.users);
          holders = id: map (u: u.name) (filter (u: u.telegramId == id) cfg.users);
          dups = filter (id: length (holders id) > 1) ids;
        in
        map (
          id:
          "services.kai.users: Telegram id ${toJSON id} is given to ${showList (holders id)}; every user needs their own id"
        ) dups;

      duplicateWorkspaceErrors =
        let
          wss = unique (map f.workspaceOf cfg.users);
          holders = ws: filter (u: f.workspaceOf u == ws) cfg.users;
          clashing = filter (ws: length (unique (map f.osUserOf (holders ws))) > 1) wss;
        in
        map (
          ws:
          "services.kai.users: workspace ${nixString ws} is shared by ${
            showList (map (u: "${u.name} (OS user ${f.osUserOf u})") (holders ws))
          }; a workspace belongs to one OS user, give each its own workspace"
        ) clashing;

      binaryErrors =
        optionals (f.backendOk && f.usesCodex) (
          optional (!(isString cfg.codex.binary && validBinary cfg.codex.binary))
            "services.kai.codex.binary must be an absolute path without whitespace or backslashes when a user is on codex (${
              showList (map (u: u.name) (f.usersOn "codex"))
            }); set services.kai.codex.package = pkgs.codex; or codex.binary = \"/absolute/path/to/codex\";"
        )
        ++ optionals (f.backendOk && f.usesClaude) (
          optional (!(isString cfg.claude.binary && validBinary cfg.claude.binary))
            "services.kai.claude.package is null but some users are on claude (${
              showList (map (u: u.name) (f.usersOn "claude"))
            }); write services.kai.claude.package = pkgs.claude-code; (or claude.binary = \"/absolute/path/to/claude\";)"
        )
        ++ optional (
          f.sudoOsUsers != [ ] && !(isString cfg.kaiBin && validBinary cfg.kaiBin)
        ) "the kai binary path must be absolute without whitespace or backslashes (it is named in the sudoers rules)";

      miscErrors =
        optional (cfg.users == [ ])
          "services.kai.users is empty: declare at least one Telegram user, e.g. services.kai.users.alice.telegramId = 123456789;"
        ++ optional (!isAbsolute cfg.dataDir) "services.kai.dataDir must be an absolute path without newlines"
        ++ optional (!isAbsolute cfg.usersFile) "the users file path must be absolute"
        ++ optional (
          !isString cfg.telegram.apiUrl || hasNewline cfg.telegram.apiUrl
        ) "services.kai.telegram.apiUrl must be a string without newlines"
        ++ optional (
          isString cfg.telegram.apiUrl && !hasNewline cfg.telegram.apiUrl && !isUrl cfg.telegram.apiUrl
        ) "services.kai.telegram.apiUrl = ${toJSON cfg.telegram.apiUrl} must be an http(s) URL"
        ++ optional (
          !isSeconds cfg.timeoutSeconds
        ) "services.kai.timeoutSeconds must be a whole number of seconds from 1 to 86400"
        ++ optional (
          !isInt cfg.agentIdleSeconds || cfg.agentIdleSeconds <= 0 || cfg.agentIdleSeconds > 86400
        ) "services.kai.agentIdleSeconds must be a whole number of seconds from 1 to 86400"
        ++ optional (
          !isInt cfg.inboxRetentionDays || cfg.inboxRetentionDays < 0 || cfg.inboxRetentionDays > 3650
        ) "services.kai.inboxRetentionDays must be a whole number of days from 0 (never) to 3650"
        ++ optional (!validOsUser cfg.user) "services.kai.user = ${nixString cfg.user} is not a valid account name"
        ++ optional (
          cfg.agentUser != null && !(isString cfg.agentUser && validOsUser cfg.agentUser)
        ) "services.kai.agentUser = ${toJSON cfg.agentUser} is not a valid account name (a-z, 0-9, `-`, `_`), or null for single-account mode"
        ++ optional (
          cfg.codex.version != null && (!isString cfg.codex.version || hasNewline cfg.codex.version)
        ) "services.kai.codex.version must be a string without newlines";
    in
    backendErrors
    ++ githubErrors cfg
    ++ voiceErrors cfg
    ++ globalModelErrors
    ++ concatLists (map userErrors cfg.users)
    ++ serviceAccountErrors
    ++ duplicateIdErrors
    ++ duplicateWorkspaceErrors
    ++ binaryErrors
    ++ miscErrors;

  # The rules of src/config/users.rs: repos written owner/name, each owned by
  # one user, and repos only with the listener on.
  # Each half 1-100 of GitHub's characters, and neither `.` nor `..`.
  repoPart = p: match "[A-Za-z0-9._-]{1,100}" p != null && p != "." && p != "..";
  validRepo =
    r:
    let
      parts = if isString r then match "([^/]*)/([^/]*)" r else null;
    in
    parts != null && repoPart (elemAt parts 0) && repoPart (elemAt parts 1);
  githubErrors =
    cfg:
    let
      gh = cfg.github;
      owners = filter (u: u.github != null) cfg.users;
      reposOf = u: u.github.repos or [ ];
      userPath = u: "services.kai.users.${u.name}.github";
      allRepos = unique (concatMap (u: map toLower (filter validRepo (reposOf u))) owners);
      holders = r: map (u: u.name) (filter (u: elem r (map toLower (reposOf u))) owners);
      perUser =
        u:
        map (r: "${userPath u}.repos: ${nixString r} is not a repository written owner/name") (
          filter (r: !validRepo r) (reposOf u)
        )
        ++ optional (reposOf u == [ ]) "${userPath u}.repos is empty: list owner/name repositories, or set github = null"
        ++ optional (!gh.enable) "${userPath u} lists repositories, but services.kai.github.enable is false, so no webhook would reach kai; set services.kai.github.enable = true";
    in
    concatMap perUser owners
    ++ map (r: "services.kai.users: the repository ${r} is listed by ${showList (holders r)}; a repository belongs to one user") (
      filter (r: length (holders r) > 1) allRepos
    )
    ++ optionals gh.enable (
      optional (
        !isString gh.listen || match "(${ipv4}|\\[[0-9A-Fa-f:.]+(%[0-9A-Za-z]+)?])(:${port})" gh.listen == null
      ) "services.kai.github.listen = ${toJSON gh.listen} must be IP:port (an address, not a host name), e.g. \"127.0.0.1:8787\" or \"[::1]:8787\""
      ++ optional (
        !isUrl gh.apiUrl
      ) "services.kai.github.apiUrl = ${toJSON gh.apiUrl} must be an http(s) URL"
      ++ optional (
        !isSeconds gh.jobTimeoutSeconds
      ) "services.kai.github.jobTimeoutSeconds must be a whole number of seconds from 1 to 86400"
    );

  # The rules of src/config/voice.rs: an http(s) base URL when voice is on,
  # a model name without spaces, a timeout in range.
  voiceErrors =
    cfg:
    let
      v = cfg.voice;
    in
    optionals (v.url != null) (
      optional (!isUrl v.url) "services.kai.voice.url = ${toJSON v.url} must be an http(s) URL (the base, e.g. \"https://api.openai.com/v1\"; kai appends /audio/transcriptions)"
      ++ optional (
        !isString v.model || v.model == "" || match ".*[[:space:]].*" v.model != null
      ) "services.kai.voice.model = ${toJSON v.model} is not a model name (empty, or with spaces)"
      ++ optional (
        !isSeconds v.timeoutSeconds
      ) "services.kai.voice.timeoutSeconds must be a whole number of seconds from 1 to 86400"
    );
in
{
  inherit modelError validate;
}
