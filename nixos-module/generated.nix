# Resolves the options into lib.nix's input, renders the files once, and
# builds them into the store, checked by `kai check-config` at build time.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  kaiLib = import ./lib.nix { };
  cfg = config.services.kai;

  # The resolved form lib.nix takes. Binary paths are only forced when some
  # user needs that backend, so an unused CLI never enters the closure.
  input = {
    inherit (cfg)
      backend
      model
      user
      group
      agentUser
      dataDir
      timeoutSeconds
      agentIdleSeconds
      inboxRetentionDays
      ;
    kaiBin = "${cfg.package}/bin/kai";
    codex = {
      inherit (cfg.codex) binary version;
    };
    claude = {
      inherit (cfg.claude) binary;
    };
    telegram.apiUrl = cfg.telegram.apiUrl;
    github = {
      inherit (cfg.github)
        enable
        listen
        apiUrl
        jobTimeoutSeconds
        ;
    };
    voice = {
      inherit (cfg.voice) url model timeoutSeconds;
    };
    usersFile = "/etc/kai/users.json";
    users = lib.mapAttrs (_: u: {
      inherit (u)
        telegramId
        osUser
        backend
        model
        workspace
        github
        chats
        projects
        maxAgents
        ;
    }) cfg.users;
    # Group of each OS account, for the directories it owns.
    osGroups = lib.mapAttrs (_: u: u.group or "-") (
      lib.filterAttrs (_: u: (u.group or "") != "") (config.users.users or { })
    );
  };

  errors = kaiLib.validate input;
  agentUser = kaiLib.agentAccount input;
  rendered = kaiLib.render input;

  envFile = pkgs.writeText "kai-env" rendered.env;
  usersFile = pkgs.writeText "kai-users.json" rendered.usersJson;

  canRunKai = pkgs.stdenv.buildPlatform.canExecute pkgs.stdenv.hostPlatform;

  # Like attic's check-config: the generated files must load in the real
  # runtime before the system can be built. The env file's context makes the
  # codex/claude binaries inputs, so "exists and is executable" is checked too.
  # The token is a runtime secret and is not available here (--build-time).
  checked =
    pkgs.runCommand "kai-config"
      {
        preferLocalBuild = true;
      }
      ''
        KAI_USERS_FILE=${usersFile} ${cfg.package}/bin/kai check-config \
          --env-file ${envFile} --build-time
        mkdir -p $out
        ln -s ${envFile} $out/env
        ln -s ${usersFile} $out/users.json
      '';

  useCheck = cfg.checkConfig && canRunKai;
in
{
  config = lib.mkIf cfg.enable {
    services.kai.generated = {
      inherit
        input
        errors
        agentUser
        rendered
        envFile
        usersFile
        ;
      # What /etc/kai/{env,users.json} point at.
      envSource = if useCheck then "${checked}/env" else envFile;
      usersSource = if useCheck then "${checked}/users.json" else usersFile;
    };
  };
}
