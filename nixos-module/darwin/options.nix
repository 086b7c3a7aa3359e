# nix-darwin-only options: macOS accounts need explicit ids to be managed.
{ lib, ... }:
{
  options.services.kai = {
    uid = lib.mkOption {
      type = lib.types.nullOr lib.types.int;
      default = null;
      example = 532;
      description = ''
        When set, nix-darwin creates the service user
        ({option}`services.kai.user`) with this uid. `null`: the account
        already exists (created in System Settings or elsewhere).
      '';
    };
    gid = lib.mkOption {
      type = lib.types.nullOr lib.types.int;
      default = null;
      example = 532;
      description = ''
        When set, nix-darwin creates the group ({option}`services.kai.group`)
        with this gid.
      '';
    };
  };
}
