# For each OS user other than the service user: the service user may run
# exactly the agent binaries that user's Telegram users need, and the kai
# binary (`kai reap`), as that user, with NOPASSWD and SETENV. No wildcards.
{ config, lib, ... }:
let
  cfg = config.services.kai;
in
{
  config = lib.mkIf cfg.enable {
    security.sudo.extraRules = cfg.generated.rendered.sudoRules;
  };
}
