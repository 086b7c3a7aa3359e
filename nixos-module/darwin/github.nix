# nix-darwin: the launchd agent has no credentials mechanism for the GitHub
# secrets yet, so the listener is refused at evaluation rather than left to
# fail at start.
{ config, lib, ... }:
{
  config = lib.mkIf config.services.kai.enable {
    assertions = [
      {
        assertion = !config.services.kai.github.enable;
        message = "services.kai.github is not available on nix-darwin yet: run the GitHub reviews on a NixOS host.";
      }
    ];
  };
}
