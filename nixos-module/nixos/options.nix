# NixOS-only options.
{ lib, ... }:
{
  options.services.kai.watchdogSec = lib.mkOption {
    type = lib.types.ints.unsigned;
    default = 30;
    example = 60;
    description = ''
      systemd `WatchdogSec` of the service, in seconds: the daemon pings the
      watchdog and systemd restarts it when the pings stop. 0 disables it.
    '';
  };
}
