# The data dir and, per user, the workspace and TMPDIR owned by the OS user
# (mode 0700), as lib.nix lists them (its `tmpfiles` renders the same as
# tmpfiles.d lines, which tests/systemd applies with systemd-tmpfiles).
{ config, lib, ... }:
let
  cfg = config.services.kai;
in
{
  config = lib.mkIf cfg.enable {
    systemd.tmpfiles.settings."10-kai" = lib.listToAttrs (
      map (
        d:
        lib.nameValuePair d.path {
          d = {
            inherit (d) user group mode;
          };
        }
      ) cfg.generated.rendered.directories
    );
  };
}
