# /etc/kai/{env,users.json} and the sudoers rules, as on NixOS.
{ config, lib, ... }:
let
  cfg = config.services.kai;
in
{
  config = lib.mkIf cfg.enable {
    environment.etc."kai/env".source = cfg.generated.envSource;
    environment.etc."kai/users.json".source = cfg.generated.usersSource;
    security.sudo.extraConfig = cfg.generated.rendered.sudoers;
  };
}
