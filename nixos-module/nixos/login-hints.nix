# Activation prints how to log in to Codex, only for the OS users whose
# ~/.codex/auth.json is missing. Informational: it never fails activation.
{ config, lib, ... }:
let
  cfg = config.services.kai;
  hint = os: ''
    if [ ! -e ~${os}/.codex/auth.json ]; then
      echo "kai: OS user ${os} is not logged in to Codex; run: sudo -u ${os} -H ${cfg.codex.binary} login" >&2
    fi
  '';
in
{
  config = lib.mkIf cfg.enable {
    system.activationScripts.kai-login-hints = {
      # OS user names are validated ([a-z_][a-z0-9_-]*), so ~name is safe.
      text = lib.concatMapStrings hint cfg.generated.rendered.loginUsers + "true\n";
    };
  };
}
