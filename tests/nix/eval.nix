# Renders one golden case with lib.nix, for tests/nix/check.sh:
#   nix-instantiate --eval --strict --json tests/nix/eval.nix --arg case ./tests/nix/cases/mixed
{ case }:
let
  kaiLib = import ../../nixos-module/lib.nix { };
  r = kaiLib.render (import (case + "/input.nix"));
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
