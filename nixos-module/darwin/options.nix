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
    agentUid = lib.mkOption {
      type = lib.types.nullOr lib.types.int;
      default = null;
      example = 533;
      description = ''
        When set, nix-darwin creates the agent account
        ({option}`services.kai.agentUser`, for users without an `osUser`)
        with this uid, in the group `staff`, with its home in
        /var/lib/kai-agent. `null`: create that account yourself.
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
