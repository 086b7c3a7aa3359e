# systemd.services.kai: Type=notify with a watchdog, configuration from
# /etc/kai/env, the bot token as a systemd credential, and as much hardening
# as running agents through sudo allows.
{ config, lib, ... }:
let
  cfg = config.services.kai;
  g = cfg.generated;

  # Agents run inside this unit's mount namespace (sudo does not leave it), so
  # ProtectSystem=strict applies to them too: they may write the data dir,
  # their workspaces and the homes of their OS users (~/.codex, ~/.claude).
  # "-" prefix: a missing directory is not an error.
  osUsers = g.rendered.osUsers;
  homes = lib.unique (
    map (u: config.users.users.${u}.home) (lib.filter (u: config.users.users ? ${u}) osUsers)
  );
  writable = lib.unique ([ cfg.dataDir ] ++ map (p: "-${p}") (g.rendered.workspaces ++ homes));
in
{
  config = lib.mkIf cfg.enable {
    systemd.services.kai = {
      description = "Kai: Telegram gateway to coding agents";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [
        "network-online.target"
        "systemd-tmpfiles-setup.service"
      ];
      # A changed env or users file restarts the daemon on switch.
      restartTriggers = [
        g.envSource
        g.usersSource
      ];
      # The runtime runs `sudo` from PATH: the setuid wrapper lives here.
      path = [ "/run/wrappers" ];

      serviceConfig = {
        Type = "notify";
        NotifyAccess = "main";
        Restart = "on-failure";
        RestartSec = "5s";
        ExecStart = "${cfg.package}/bin/kai run --env-file /etc/kai/env";
        User = cfg.user;
        Group = cfg.group;
        WorkingDirectory = cfg.dataDir;
        # Read by the runtime from $CREDENTIALS_DIRECTORY/telegram-bot-token;
        # the token never enters the store or the environment.
        LoadCredential = [ "telegram-bot-token:${cfg.telegram.tokenFile}" ];
        # State the daemon writes is private to the service user.
        UMask = "0077";

        # --- hardening that sudo tolerates ---
        ProtectSystem = "strict";
        ReadWritePaths = writable;
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
      // lib.optionalAttrs (cfg.watchdogSec > 0) {
        WatchdogSec = "${toString cfg.watchdogSec}s";
      };
    };
  };
}
