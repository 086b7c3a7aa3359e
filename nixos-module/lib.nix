# Pure renderers and validation shared by the NixOS and nix-darwin modules.
#
# Builtins only (no nixpkgs, no import-from-derivation), so everything here can
# be evaluated with a bare `nix-instantiate --eval --strict --json`; see
# tests/nix/check.sh. The same input always renders byte-identical files.
#
# Entry points:
#   validate input -> [ "error message" ... ]   (never throws on well-typed input)
#   render input   -> { env usersJson sudoers sudoRules loginUsers directories tmpfiles ... }
#                     (throws with every validation error when there are any)
#   service input  -> { description wantedBy wants after serviceConfig }: the
#                     systemd service (NixOS options; needs telegram.tokenFile)
#   unitFile svc   -> that service as a unit file (INI text)
#
# `input` is the resolved form of the `services.kai` options (see `normalize`).
{
  catalog ? builtins.fromJSON (builtins.readFile ../catalog.json),
}:
let
  inherit (builtins)
    attrNames
    concatLists
    concatMap
    concatStringsSep
    elem
    filter
    foldl'
    head
    isBool
    isInt
    isString
    length
    map
    match
    replaceStrings
    sort
    stringLength
    substring
    toJSON
    typeOf
    ;

  sortStrings = sort builtins.lessThan;
  unique = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];
  hasPrefix = prefix: s: substring 0 (stringLength prefix) s == prefix;
  optional = cond: x: if cond then [ x ] else [ ];
  optionals = cond: xs: if cond then xs else [ ];
  optionalAttrs = cond: as: if cond then as else { };
  quote = s: "`${s}`";
  showList = xs: concatStringsSep ", " xs;
  nixString = s: toJSON s; # a Nix string literal for messages ("..." with escapes)

  upper = [ "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" ];
  lower = [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" ];
  toLower = replaceStrings upper lower;

  hasNewline = s: match "[^\n\r]*" s == null;
  isAbsolute = s: isString s && hasPrefix "/" s && !hasNewline s;

  backends = sortStrings (attrNames catalog);

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
    "KAI_DATA_DIR"
    "KAI_USERS_FILE"
    "TELEGRAM_API_URL"
  ];


  # Mirrors src/config/users.rs: names become directory names, OS user names
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

  # Fills defaults, so callers (and golden inputs) may omit what they do not set.
  normalize =
    input:
    let
      codex = {
        binary = null;
        version = null;
      }
      // (input.codex or { });
      claude = {
        binary = null;
      }
      // (input.claude or { });
      telegram = {
        apiUrl = "https://api.telegram.org";
      }
      // (input.telegram or { });
      # The webhook listener and the API; the secrets are the service's
      # (LoadCredential), not the env file's.
      github = {
        enable = false;
        listen = "127.0.0.1:8787";
        apiUrl = "https://api.github.com";
        jobTimeoutSeconds = 900;
      }
      // (input.github or { });
      normUser =
        name: u:
        {
          osUser = null;
          backend = null;
          model = null;
          workspace = null;
          github = null;
        }
        // u
        // {
          inherit name;
        };
    in
    {
      backend = input.backend or null;
      model = input.model or null;
      user = input.user or "kai";
      group = input.group or "kai";
      # The account of users without an osUser; null = single-account mode
      # (every agent runs as the service user itself, no sudo at all).
      agentUser = input.agentUser or "kai-agent";
      kaiBin = input.kaiBin or null;
      dataDir = input.dataDir or "/var/lib/kai";
      usersFile = input.usersFile or "/etc/kai/users.json";
      timeoutSeconds = input.timeoutSeconds or 120;
      agentIdleSeconds = input.agentIdleSeconds or 900;
      osGroups = input.osGroups or { };
      users = map (n: normUser n input.users.${n}) (sortStrings (attrNames (input.users or { })));
      inherit
        codex
        claude
        telegram
        github
        ;
    };

  # Derived facts about a normalized input.
  facts =
    cfg:
    let
      backendOk = isString cfg.backend && elem cfg.backend backends;
      effBackend = u: if u.backend != null then u.backend else cfg.backend;
      osUserOf =
        u:
        if u.osUser != null then
          u.osUser
        else if cfg.agentUser != null then
          cfg.agentUser
        else
          cfg.user;
      usersOn = backend: filter (u: effBackend u == backend) cfg.users;
      uses = backend: usersOn backend != [ ];
      osUsers = sortStrings (unique (map osUserOf cfg.users));
      sudoOsUsers = filter (o: o != cfg.user) osUsers;
      workspaceOf =
        u: if u.workspace != null then u.workspace else "${cfg.dataDir}/home/${u.name}";
      # Users whose agent would run as the service account itself.
      onServiceAccount = filter (u: osUserOf u == cfg.user) cfg.users;
    in
    {
      inherit
        onServiceAccount
        backendOk
        effBackend
        osUserOf
        usersOn
        uses
        osUsers
        sudoOsUsers
        workspaceOf
        ;
      usesCodex = uses "codex";
      usesClaude = uses "claude";
    };

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
        ) "${userPath u}.workspace = ${toJSON u.workspace} must be an absolute path without newlines";

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
          !isInt cfg.timeoutSeconds || cfg.timeoutSeconds <= 0
        ) "services.kai.timeoutSeconds must be a positive integer"
        ++ optional (
          !isInt cfg.agentIdleSeconds || cfg.agentIdleSeconds <= 0 || cfg.agentIdleSeconds > 86400
        ) "services.kai.agentIdleSeconds must be a whole number of seconds from 1 to 86400"
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
    ++ globalModelErrors
    ++ concatLists (map userErrors cfg.users)
    ++ serviceAccountErrors
    ++ duplicateIdErrors
    ++ duplicateWorkspaceErrors
    ++ binaryErrors
    ++ miscErrors;

  # Mirrors src/config/github.rs: repos written owner/name, each owned by
  # one user, and repos only with the listener on.
  validRepo = r: isString r && match "[A-Za-z0-9._-]{1,100}/[A-Za-z0-9._-]{1,100}" r != null;
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
        !isString gh.listen || match "[^[:space:]]+:[0-9]{1,5}" gh.listen == null
      ) "services.kai.github.listen = ${toJSON gh.listen} must be host:port, e.g. \"127.0.0.1:8787\""
      ++ optional (
        !isString gh.apiUrl || match "https?://[^[:space:]/][^[:space:]]*" gh.apiUrl == null
      ) "services.kai.github.apiUrl = ${toJSON gh.apiUrl} must be an http(s) URL"
      ++ optional (
        !isInt gh.jobTimeoutSeconds || gh.jobTimeoutSeconds <= 0 || gh.jobTimeoutSeconds > 86400
      ) "services.kai.github.jobTimeoutSeconds must be a whole number of seconds from 1 to 86400"
    );

  # --- renderers (assume a valid input) -------------------------------------

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

  # In a sudoers command, `,` `:` and `=` must be escaped (a backslash is
  # refused by `validBinary`).
  sudoersEscape =
    replaceStrings
      [ "," ":" "=" ]
      [ "\\," "\\:" "\\=" ];

  # The kai subcommands the service account runs as an agent's account,
  # each named (`<kai> reap *`), never the bare binary: `reap` stops an
  # agent; `inbox-put`, `workspace-read` and `workspace-ls` move files in
  # and out of the workspace, which only that account can enter. The `*`
  # stands for their arguments (a pid, a workspace and a path); the
  # subcommand fixes what they can do. Kept equal to
  # `agent::process::SUDO_SUBCOMMANDS`.
  kaiSubcommands = [
    "reap"
    "inbox-put"
    "workspace-read"
    "workspace-ls"
  ];

  # Per OS user other than the service user: exactly the binaries its users
  # need. Codex and the kai subcommands share one rule; claude gets
  # its own with `CWD=*`, because Claude Code works in its process's
  # directory, which only the agent's account can enter (`sudo -D`). The
  # agent can change directory anyway; the option widens nothing it could
  # not already do, and it applies to the claude binary alone.
  sudoCommands =
    cfg: os:
    let
      f = facts cfg;
      mine = filter (u: f.osUserOf u == os) cfg.users;
      on = b: builtins.any (u: f.effBackend u == b) mine;
    in
    {
      plain =
        map sudoersEscape (optional (on "codex") cfg.codex.binary)
        ++ map (sub: "${sudoersEscape cfg.kaiBin} ${sub} *") kaiSubcommands;
      inWorkspace = map sudoersEscape (optional (on "claude") cfg.claude.binary);
    };

  # NixOS `extraRules`: its `options` are tags only, so the claude command,
  # which needs the `CWD=*` option before its tags, is given as a string
  # (rendered verbatim).
  sudoRules =
    cfg:
    concatMap (
      os:
      let
        c = sudoCommands cfg os;
      in
      [
        {
          users = [ cfg.user ];
          runAs = os;
          commands = map (command: {
            inherit command;
            options = [
              "NOPASSWD"
              "SETENV"
            ];
          }) c.plain;
        }
      ]
      ++ map (command: {
        users = [ cfg.user ];
        runAs = os;
        commands = [ "CWD=* NOPASSWD:SETENV: ${command}" ];
      }) c.inWorkspace
    ) (facts cfg).sudoOsUsers;

  sudoersText =
    cfg:
    "# Kai: the service user runs each agent as its OS user (nixos-module/lib.nix).\n"
    + concatStringsSep "" (
      map (
        os:
        let
          c = sudoCommands cfg os;
        in
        "${cfg.user} ALL=(${os}) NOPASSWD:SETENV: ${showList c.plain}\n"
        + concatStringsSep "" (map (b: "${cfg.user} ALL=(${os}) CWD=* NOPASSWD:SETENV: ${b}\n") c.inWorkspace)
      ) (facts cfg).sudoOsUsers
    );

  # OS users whose Telegram users are on codex: each runs `codex login` once.
  loginUsers =
    cfg:
    let
      f = facts cfg;
    in
    sortStrings (unique (map f.osUserOf (f.usersOn "codex")));

  # Directories the modules create (tmpfiles on NixOS, activation on darwin),
  # sorted by path. The data dir is 0711 so OS users can traverse to their
  # workspace and tmp dir inside it without being able to list it.
  directories =
    cfg:
    let
      f = facts cfg;
      groupOf = os: if os == cfg.user then cfg.group else cfg.osGroups.${os} or "-";
      dir = path: user: group: mode: { inherit path user group mode; };
      serviceDir = path: dir path cfg.user cfg.group "0711";
      ownDir = os: path: dir path os (groupOf os) "0700";
      workspaces = map (u: ownDir (f.osUserOf u) (f.workspaceOf u)) cfg.users;
      tmps = map (os: ownDir os "${cfg.dataDir}/tmp/${os}") f.osUsers;
      all = [
        (serviceDir cfg.dataDir)
        (serviceDir "${cfg.dataDir}/home")
        (serviceDir "${cfg.dataDir}/tmp")
      ]
      ++ workspaces
      ++ tmps;
      paths = sortStrings (unique (map (d: d.path) all));
    in
    map (p: head (filter (d: d.path == p) all)) paths;

  # tmpfiles.d lines for `directories` (what NixOS writes from
  # systemd.tmpfiles.settings, and what tests/systemd applies with
  # `systemd-tmpfiles --create`). Paths are quoted: a workspace may hold a space.
  tmpfilesText =
    dirs:
    concatStringsSep "" (
      map (d: "d ${toJSON d.path} ${d.mode} ${d.user} ${d.group} -\n") dirs
    );

  # `kai run` exits with this (EX_CONFIG) on an invalid configuration
  # (src/main.rs), so the unit does not restart it every RestartSec forever.
  exitConfig = 78;

  # The systemd service, one source for the NixOS module (service.nix sets
  # these options) and for `unitFile` (tests/systemd boots the result under
  # real systemd). Besides lib.nix's usual input it reads:
  #   telegram.tokenFile  required: the LoadCredential source
  #   watchdogSec         30; 0 = no watchdog
  #   envFile             "/etc/kai/env"
  #   github.webhookSecretFile, github.tokenFile
  #                       required with github.enable: LoadCredential sources
  #   osHomes             { <os user> = <home>; }: homes the agents write
  #                       (~/.codex, ~/.claude); an account missing here gets
  #                       no ReadWritePaths entry for its home
  service =
    input:
    let
      cfg = normalize input;
      f = facts cfg;
      tokenFile =
        input.telegram.tokenFile
          or (throw "kai: the service needs telegram.tokenFile (the bot token's LoadCredential source)");
      githubFile =
        k:
        let
          v = input.github.${k} or null;
        in
        if v == null then throw "kai: the service needs github.${k} with github.enable" else v;
      watchdogSec = input.watchdogSec or 30;
      envFile = input.envFile or "/etc/kai/env";
      osHomes = input.osHomes or { };
      kaiBin = if cfg.kaiBin != null then cfg.kaiBin else throw "kai: the service needs kaiBin";
      homes = map (u: osHomes.${u}) (filter (u: osHomes ? ${u}) f.osUsers);
      # "-": a missing directory is not an error.
      writable = unique (
        [ cfg.dataDir ] ++ map (p: "-${p}") (sortStrings (unique (map f.workspaceOf cfg.users)) ++ homes)
      );
    in
    {
      description = "Kai: Telegram gateway to coding agents";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [
        "network-online.target"
        "systemd-tmpfiles-setup.service"
      ];
      serviceConfig = {
        Type = "notify";
        NotifyAccess = "main";
        Restart = "on-failure";
        RestartSec = "5s";
        # A configuration error stays one failure, not a restart every 5 s.
        RestartPreventExitStatus = [ exitConfig ];
        # `systemctl stop` sends SIGTERM to kai alone, which stops every agent
        # through `sudo … kai reap`; only what is left after that is killed.
        # With the default (control-group) the agents and kai's own reap
        # helpers got SIGTERM at once, and kai logged false sudoers errors.
        KillMode = "mixed";
        ExecStart = "${kaiBin} run --env-file ${envFile}";
        User = cfg.user;
        Group = cfg.group;
        WorkingDirectory = cfg.dataDir;
        # Read by the runtime from $CREDENTIALS_DIRECTORY/telegram-bot-token;
        # the token never enters the store or the environment.
        LoadCredential = [
          "telegram-bot-token:${tokenFile}"
        ]
        # The same for the GitHub webhook secret and token
        # ($CREDENTIALS_DIRECTORY/github-webhook-secret, …/github-token).
        ++ optionals cfg.github.enable [
          "github-webhook-secret:${githubFile "webhookSecretFile"}"
          "github-token:${githubFile "tokenFile"}"
        ];
        # State the daemon writes is private to the service user. The agents
        # inherit it through sudo: what they create in their workspaces is
        # private to their account too (0600 files, 0700 directories).
        UMask = "0077";
        # The webhook listener holds at most 256 connections (a quarter of
        # the soft limit when that is lower) and everything else kai opens
        # (agents' pipes, state files, Telegram) comes out of the rest: a
        # flood of connections can never leave an agent without a descriptor.
        # systemd's default soft limit is 1024; agents inherit this one.
        LimitNOFILE = 8192;

        # --- hardening that sudo tolerates ---
        # Agents run inside this unit's mount namespace (sudo does not leave
        # it), so this applies to them too: they may write the data dir, their
        # workspaces and the homes of their OS users, nothing else.
        ProtectSystem = "strict";
        ReadWritePaths = writable;
        # ProtectControlGroups implies MountAPIVFS, which leaves /run writable
        # under ProtectSystem=strict; neither sudo nor `kai reap` writes it.
        ReadOnlyPaths = [ "/run" ];
        PrivateTmp = true;
        ProtectControlGroups = true;
        RemoveIPC = true;

        # --- relaxations, each needed by sudo or by the agents ---
        # sudo is setuid root: NoNewPrivileges would make it fail ("effective
        # uid is not 0"). For the same reason nothing that implies
        # NoNewPrivileges for a non-root service may be set: SystemCallFilter,
        # SystemCallArchitectures, RestrictAddressFamilies, RestrictNamespaces,
        # PrivateDevices, ProtectKernelTunables/Modules/Logs, ProtectClock,
        # MemoryDenyWriteExecute, RestrictRealtime, LockPersonality,
        # RestrictSUIDSGID (which would also strip the setuid bit's effect).
        NoNewPrivileges = false;
        # sudo changes uid/gid, writes audit records and sets rlimits through
        # PAM, so the capability bounding set stays the default.
        # No PrivateUsers: a user namespace would make every other OS user
        # unmapped, so sudo -u <os_user> could not switch to them.
        PrivateUsers = false;
        # `kai reap` walks /proc to find an agent's process tree, and the
        # agents (node, codex) read /proc themselves: no ProtectProc=invisible
        # and no ProcSubset=pid.
        ProtectProc = "default";
        # Agents work in their OS users' homes (~/.codex, ~/.claude, a
        # workspace under /home): ProtectHome would hide them.
        ProtectHome = false;
      }
      // (if watchdogSec > 0 then { WatchdogSec = "${toString watchdogSec}s"; } else { });
    };

  # A unit file in systemd's INI syntax, written the way NixOS writes one:
  # keys sorted, a list as one line per element, booleans as true/false;
  # the [Unit] dependency lists and WantedBy space-separated on one line.
  iniValue =
    key: v:
    let
      s =
        if v == true then
          "true"
        else if v == false then
          "false"
        else if isString v || isInt v then
          toString v
        else
          throw "kai: unit key ${key} must be a string, an integer or a boolean, not a ${typeOf v}";
    in
    if hasNewline s then throw "kai: the value of unit key ${key} contains a newline" else s;
  iniSection =
    name: attrs:
    "[${name}]\n"
    + concatStringsSep "" (
      concatMap (
        k:
        let
          v = attrs.${k};
        in
        map (x: "${k}=${iniValue k x}\n") (if builtins.isList v then v else [ v ])
      ) (attrNames attrs)
    );
  unitFile =
    svc:
    let
      joined = k: l: if l == [ ] then { } else { ${k} = concatStringsSep " " l; };
      unit =
        optionalAttrs (svc ? description) { Description = svc.description; }
        // joined "After" (svc.after or [ ])
        // joined "Before" (svc.before or [ ])
        // joined "Wants" (svc.wants or [ ]);
      install = joined "WantedBy" (svc.wantedBy or [ ]);
    in
    iniSection "Unit" unit
    + "\n"
    + iniSection "Service" svc.serviceConfig
    + (if install == { } then "" else "\n" + iniSection "Install" install);

  # The dedicated agent account, when some user's agent runs as it. Needs no
  # valid input (the modules create the account even while an assertion
  # fails elsewhere), so it never throws.
  agentAccount =
    input:
    let
      cfg = normalize input;
    in
    if cfg.agentUser != null && elem cfg.agentUser (facts cfg).osUsers then cfg.agentUser else null;

  render =
    input:
    let
      errors = validate input;
      cfg = normalize input;
      f = facts cfg;
    in
    if errors != [ ] then
      throw ("kai configuration is invalid:\n- " + concatStringsSep "\n- " errors)
    else
      {
        env = renderEnvFile (envVars cfg);
        usersJson = toJSON (usersDocument cfg);
        sudoers = sudoersText cfg;
        sudoRules = sudoRules cfg;
        loginUsers = loginUsers cfg;
        directories = directories cfg;
        tmpfiles = tmpfilesText (directories cfg);
        inherit (f) osUsers sudoOsUsers;
        agentUser = agentAccount input;
        workspaces = sort builtins.lessThan (unique (map f.workspaceOf cfg.users));
        backendsInUse = filter f.uses backends;
      };
in
{
  inherit
    catalog
    backends
    envKeys
    modelError
    normalize
    validate
    render
    agentAccount
    service
    unitFile
    exitConfig
    renderEnvFile
    sudoersEscape
    ;
}
