# /etc/kai/env and /etc/kai/users.json: the generated, build-time-checked
# files, the same on NixOS and nix-darwin.
{ config, lib, ... }:
let
  cfg = config.services.kai;
in
{
  config = lib.mkIf cfg.enable {
    environment.etc."kai/env".source = cfg.generated.envSource;
    environment.etc."kai/users.json".source = cfg.generated.usersSource;
  };
}
