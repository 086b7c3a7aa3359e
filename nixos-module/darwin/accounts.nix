# The service user and group, and the agent account of users without an
# osUser, when their ids are given. OS users of the Telegram users are
# ordinary macOS accounts and are not managed here.
{ config, lib, ... }:
let
  cfg = config.services.kai;
  agent = cfg.generated.agentUser;
in
{
  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      (lib.mkIf (cfg.gid != null) {
        users.knownGroups = [ cfg.group ];
        users.groups.${cfg.group} = {
          gid = cfg.gid;
          description = "Kai Telegram gateway";
        };
      })
      (lib.mkIf (cfg.uid != null) {
        users.knownUsers = [ cfg.user ];
        users.users.${cfg.user} = {
          uid = cfg.uid;
          gid = if cfg.gid != null then cfg.gid else 20; # 20 = staff
          home = cfg.dataDir;
          shell = "/usr/bin/false";
          isHidden = true;
          description = "Kai Telegram gateway";
        };
      })
      (lib.mkIf (cfg.agentUid != null && agent != null) {
        users.knownUsers = [ agent ];
        users.users.${agent} = {
          uid = cfg.agentUid;
          gid = 20; # staff
          home = "/var/lib/kai-agent";
          createHome = true;
          shell = "/usr/bin/false";
          isHidden = true;
          description = "Kai agents of users without their own account";
        };
      })
    ]
  );
}
