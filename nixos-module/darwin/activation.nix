# Directories (no tmpfiles on macOS) and the codex login hints, at activation.
{ config, lib, ... }:
let
  cfg = config.services.kai;
  r = cfg.generated.rendered;
  q = lib.escapeShellArg;
  mkDir = d: ''
    mkdir -p ${q d.path}
    chown ${q d.user}${lib.optionalString (d.group != "-") ":${q d.group}"} ${q d.path}
    chmod ${d.mode} ${q d.path}
  '';
  hint = os: ''
    if [ ! -e ~${os}/.codex/auth.json ]; then
      echo "kai: OS user ${os} is not logged in to Codex; run: sudo -u ${os} -H ${cfg.codex.binary} login" >&2
    fi
  '';
in
{
  config = lib.mkIf cfg.enable {
    system.activationScripts.postActivation.text = lib.mkAfter ''
      echo "setting up Kai directories..." >&2
      ${lib.concatMapStrings mkDir r.directories}
      ${lib.concatMapStrings hint r.loginUsers}
    '';
  };
}
