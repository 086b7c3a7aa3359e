# NixOS-only checks: every osUser must be an account NixOS manages, so the
# sudoers rule and the directories it owns refer to a real user.
{ config, lib, ... }:
let
  cfg = config.services.kai;
  osUsers = lib.unique (lib.filter (u: u != null) (lib.mapAttrsToList (_: u: u.osUser) cfg.users));
  undeclared = lib.filter (u: !(config.users.users ? ${u})) osUsers;
  usersOf = os: lib.attrNames (lib.filterAttrs (_: u: u.osUser == os) cfg.users);
  agent = cfg.generated.agentUser;
in
{
  config = lib.mkIf cfg.enable {
    assertions =
      map (os: {
        assertion = false;
        message = ''
          services.kai.users.${lib.head (usersOf os)}.osUser = "${os}", but users.users.${os} is not declared: add users.users.${os} = { isNormalUser = true; }; (or set osUser = null to run as services.kai.agentUser).'';
      }) undeclared
      ++ lib.optional (agent != null && !(config.users.users ? ${agent})) {
        assertion = false;
        message = ''
          services.kai.agentUser = "${agent}" runs the agents of users without an osUser, but users.users.${agent} is not declared: declare it (an unprivileged account with its own home), or leave agentUser = "kai-agent", which the module creates.'';
      };
  };
}
