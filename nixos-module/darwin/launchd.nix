# The daemon under launchd: restarted when it exits unsuccessfully. There is
# no LoadCredential on macOS: the runtime reads TELEGRAM_BOT_TOKEN_FILE, which
# must be readable by the service user only.
{ config, lib, ... }:
let
  cfg = config.services.kai;
in
{
  config = lib.mkIf cfg.enable {
    launchd.daemons.kai = {
      serviceConfig = {
        Label = "org.kai.daemon";
        ProgramArguments = [
          "${cfg.package}/bin/kai"
          "run"
          "--env-file"
          "/etc/kai/env"
        ];
        UserName = cfg.user;
        GroupName = cfg.group;
        WorkingDirectory = cfg.dataDir;
        RunAtLoad = true;
        KeepAlive.SuccessfulExit = false;
        ThrottleInterval = 5;
        # 0077: what the daemon writes is private to the service user even
        # where it does not set the mode itself (systemd's UMask on NixOS).
        Umask = 63;
        EnvironmentVariables = {
          TELEGRAM_BOT_TOKEN_FILE = cfg.telegram.tokenFile;
          # sudo is /usr/bin/sudo on macOS.
          PATH = "/usr/bin:/bin:/usr/sbin:/sbin";
        }
        # The transcription key, like the token, by path (no credentials here).
        // lib.optionalAttrs (cfg.voice.apiKeyFile != null) {
          TRANSCRIBE_API_KEY_FILE = cfg.voice.apiKeyFile;
        };
        StandardOutPath = "${cfg.dataDir}/kai.log";
        StandardErrorPath = "${cfg.dataDir}/kai.log";
      };
    };
  };
}
