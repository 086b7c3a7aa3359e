# The sudoers rules, as text: the same lines NixOS gets as extraRules.
{ config, lib, ... }:
let
  cfg = config.services.kai;
in
{
  config = lib.mkIf cfg.enable {
    security.sudo.extraConfig = cfg.generated.rendered.sudoers;
  };
}
