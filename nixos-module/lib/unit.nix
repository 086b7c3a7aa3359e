# The systemd service of the NixOS module and its unit-file rendering (what
# tests/systemd boots under real systemd).
{ util, inputs }:
let
  inherit (builtins)
    attrNames
    concatMap
    concatStringsSep
    filter
    isInt
    isString
    map
    typeOf
    ;
  inherit (util)
    sortStrings
    unique
    optionals
    optionalAttrs
    hasNewline
    ;
  inherit (inputs)
    normalize
    facts
    ;
in
rec {
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
  #   voice.apiKeyFile    null, or the transcription key's LoadCredential source
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
        ]
        # The transcription endpoint's key, when it needs one
        # ($CREDENTIALS_DIRECTORY/transcribe-api-key).
        ++ optionals ((input.voice.apiKeyFile or null) != null) [
          "transcribe-api-key:${input.voice.apiKeyFile}"
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
}
