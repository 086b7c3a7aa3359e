# systemd.services.kai, as lib.nix's `service` renders it: Type=notify with a
# watchdog, configuration from /etc/kai/env, the bot token as a systemd
# credential, and as much hardening as running agents through sudo allows
# (every setting and relaxation is explained there). The same attrset is
# written as a unit file and booted under real systemd by tests/systemd/.
{ config, lib, ... }:
let
  kaiLib = import ../lib.nix { };
  cfg = config.services.kai;
  g = cfg.generated;

  # Homes of the agents' OS users (~/.codex, ~/.claude), writable under
  # ProtectSystem=strict.
  osHomes = lib.listToAttrs (
    map (u: lib.nameValuePair u config.users.users.${u}.home) (
      lib.filter (u: config.users.users ? ${u}) g.rendered.osUsers
    )
  );

  # The local transcription server (voice.nix), when on: started first, so
  # voice notes that arrive right after boot find it up.
  whisper = lib.optional cfg.voice.local.enable "kai-whisper.service";

  svc = kaiLib.service (
    g.input
    // {
      telegram = g.input.telegram // {
        inherit (cfg.telegram) tokenFile;
      };
      github = g.input.github // {
        inherit (cfg.github) webhookSecretFile tokenFile;
      };
      voice = g.input.voice // {
        inherit (cfg.voice) apiKeyFile;
      };
      inherit (cfg) watchdogSec;
      inherit osHomes;
    }
  );
in
{
  config = lib.mkIf cfg.enable {
    systemd.services.kai = {
      inherit (svc)
        description
        wantedBy
        serviceConfig
        ;
      wants = svc.wants ++ whisper;
      after = svc.after ++ whisper;
      # A changed env or users file restarts the daemon on switch.
      restartTriggers = [
        g.envSource
        g.usersSource
      ];
      # The runtime runs `sudo` from PATH: the setuid wrapper lives here.
      path = [ "/run/wrappers" ];
    };
  };
}
