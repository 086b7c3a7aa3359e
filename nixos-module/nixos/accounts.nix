# The service user and group, created only when left at their default name,
# and the dedicated agent account (services.kai.agentUser) of the users
# without an osUser, created when left at `kai-agent` and some user needs it.
# The agent account is unprivileged: no sudo rule names it as a user, and its
# home (~/.codex, ~/.claude) is its own, not the data dir.
{ config, lib, ... }:
let
  cfg = config.services.kai;
  agent = cfg.generated.agentUser;
in
{
  config = lib.mkIf cfg.enable {
    users.users = lib.mkMerge [
      (lib.mkIf (cfg.user == "kai") {
        kai = {
          isSystemUser = true;
          group = cfg.group;
          home = cfg.dataDir;
          description = "Kai Telegram gateway";
        };
      })
      (lib.mkIf (agent == "kai-agent") {
        kai-agent = {
          isSystemUser = true;
          group = "kai-agent";
          home = "/var/lib/kai-agent";
          createHome = true;
          description = "Kai agents of users without their own account";
        };
      })
    ];
    users.groups = lib.mkMerge [
      (lib.mkIf (cfg.group == "kai") { kai = { }; })
      (lib.mkIf (agent == "kai-agent") { kai-agent = { }; })
    ];
  };
}
