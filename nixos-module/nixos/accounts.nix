# The service user and group, created only when left at their default name.
# Its home is the data dir, so an agent run as the service user itself
# (osUser = null) keeps ~/.codex there.
{ config, lib, ... }:
let
  cfg = config.services.kai;
in
{
  config = lib.mkIf cfg.enable {
    users.users = lib.mkIf (cfg.user == "kai") {
      kai = {
        isSystemUser = true;
        group = cfg.group;
        home = cfg.dataDir;
        description = "Kai Telegram gateway";
      };
    };
    users.groups = lib.mkIf (cfg.group == "kai") { kai = { }; };
  };
}
