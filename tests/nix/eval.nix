# Renders one golden case with lib.nix, for tests/nix/check.sh:
#   nix-instantiate --eval --strict --json tests/nix/eval.nix --arg case ./tests/nix/cases/mixed
# A case whose input names telegram.tokenFile also renders the systemd unit
# and its tmpfiles lines (kai.service, tmpfiles.conf).
{ case }:
let
  kaiLib = import ../../nixos-module/lib.nix { };
  input = import (case + "/input.nix");
  r = kaiLib.render input;
in
{
  env = r.env;
  "users.json" = r.usersJson;
  sudoers = r.sudoers;
  "derived.json" =
    builtins.toJSON {
      inherit (r)
        sudoRules
        loginUsers
        directories
        osUsers
        sudoOsUsers
        workspaces
        backendsInUse
        agentUser
        ;
    }
    + "\n";
}
// (
  if (input.telegram or { }) ? tokenFile then
    {
      "kai.service" = kaiLib.unitFile (kaiLib.service input);
      "tmpfiles.conf" = r.tmpfiles;
    }
  else
    { }
)
