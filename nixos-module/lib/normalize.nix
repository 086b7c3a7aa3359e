# The resolved form of the `services.kai` options that every part of
# nixos-module/lib.nix reads: `normalize` fills the defaults, `facts` derives
# who runs as which account on which backend.
{ catalog, util }:
let
  inherit (builtins)
    attrNames
    elem
    filter
    isString
    map
    ;
  inherit (util)
    sortStrings
    unique
    ;
in
rec {
  backends = sortStrings (attrNames catalog);

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
      # Transcription of voice notes: off while url is null. The API key is
      # the service's (LoadCredential), not the env file's.
      voice = {
        url = null;
        model = "gpt-4o-mini-transcribe";
        timeoutSeconds = 60;
      }
      // (input.voice or { });
      normUser =
        name: u:
        {
          osUser = null;
          backend = null;
          model = null;
          workspace = null;
          github = null;
          chats = [ ];
          projects = [ ];
          maxAgents = null;
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
      inboxRetentionDays = input.inboxRetentionDays or 30;
      osGroups = input.osGroups or { };
      users = map (n: normUser n input.users.${n}) (sortStrings (attrNames (input.users or { })));
      inherit
        codex
        claude
        telegram
        github
        voice
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
}
