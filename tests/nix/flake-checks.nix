# Pure evaluation checks for `nix flake check` (every system): lib.nix golden
# files, lib.nix error messages, and the NixOS module's assertions (the
# "wrong model" VM-test item is an evaluation check, not a VM).
{
  pkgs,
  self,
  nixpkgs,
}:
let
  inherit (pkgs) lib;
  kaiLib = import ../../nixos-module/lib.nix { };
  dirsIn = dir: lib.attrNames (lib.filterAttrs (_: t: t == "directory") (builtins.readDir dir));
  # What tests/nix/check.sh compares too: env, users.json, sudoers,
  # derived.json, and kai.service + tmpfiles.conf where a case has a service.
  rendered = case: import ./eval.nix { case = ./cases + "/${case}"; };

  # Evaluation errors that a check must find, by substring.
  expectAll =
    what: haystack: needles:
    let
      missing = lib.filter (n: !lib.hasInfix n haystack) needles;
    in
    if missing == [ ] then
      true
    else
      throw "${what}: expected to find\n  ${lib.concatStringsSep "\n  " missing}\nin\n${haystack}";

  expectedLines =
    file: lib.filter (l: l != "") (lib.splitString "\n" (builtins.readFile file));

  errorCases = map (
    case:
    let
      input = import (./errors + "/${case}/input.nix");
      errors = lib.concatStringsSep "\n" (kaiLib.validate input);
      renderFails = !(builtins.tryEval (builtins.deepSeq (kaiLib.render input) true)).success;
    in
    assert expectAll "lib.nix error case ${case}" errors (
      expectedLines (./errors + "/${case}/expected")
    );
    assert lib.assertMsg renderFails "lib.nix error case ${case}: render did not fail";
    case
  ) (dirsIn ./errors);

  # The real NixOS module, evaluated (never built) for a Linux host.
  linuxSystem =
    if pkgs.stdenv.hostPlatform.isLinux then pkgs.stdenv.hostPlatform.system else "aarch64-linux";
  evalNixos =
    kai:
    nixpkgs.lib.nixosSystem {
      modules = [
        self.nixosModules.default
        {
          nixpkgs.hostPlatform = linuxSystem;
          boot.isContainer = true;
          system.stateVersion = "25.11";
          users.users.alice.isNormalUser = true;
          services.kai = {
            enable = true;
            backend = "codex";
            telegram.tokenFile = "/run/keys/kai-telegram-token";
            users.alice = {
              telegramId = 1001;
              osUser = "alice";
            };
          };
        }
        # A separate module, so the case merges with (not replaces) the above.
        { services.kai = kai; }
      ];
    };
  failedAssertions =
    sys: lib.concatStringsSep "\n" (map (a: a.message) (lib.filter (a: !a.assertion) sys.config.assertions));

  moduleCases = {
    wrong-model = {
      kai.model = "opus";
      expect = [
        ''services.kai.model = "opus": model `opus` is not a codex model (it is a claude model)''
        "valid codex models: gpt-5.5, gpt-5.6-luna"
      ];
    };
    duplicate-ids = {
      kai.users.bob.telegramId = 1001;
      expect = [ "Telegram id 1001 is given to alice, bob" ];
    };
    token-in-store = {
      kai.telegram.tokenFile = lib.mkForce "${builtins.storeDir}/0000000000000000000000000000000a-token";
      expect = [ "keep the bot token outside the store" ];
    };
    undeclared-os-user = {
      kai.users.carol = {
        telegramId = 1003;
        osUser = "carol";
      };
      expect = [ "users.users.carol is not declared: add users.users.carol = { isNormalUser = true; };" ];
    };
    claude-package-null = {
      kai.users.bob = {
        telegramId = 1002;
        backend = "claude";
      };
      expect = [ "write services.kai.claude.package = pkgs.claude-code;" ];
    };
  };

  moduleChecks = lib.mapAttrsToList (
    name: c:
    let
      sys = evalNixos c.kai;
      toplevelFails = !(builtins.tryEval sys.config.system.build.toplevel.drvPath).success;
    in
    assert expectAll "module case ${name}" (failedAssertions sys) c.expect;
    assert lib.assertMsg toplevelFails "module case ${name}: the system evaluated";
    name
  ) moduleCases;

  # A valid configuration has no failing Kai assertion and the expected unit.
  okSystem = evalNixos { };
  okChecks =
    let
      svc = okSystem.config.systemd.services.kai.serviceConfig;
      failed = failedAssertions okSystem;
    in
    assert lib.assertMsg (!lib.hasInfix "services.kai" failed) "valid config failed: ${failed}";
    assert svc.Type == "notify" && svc.WatchdogSec == "30s" && svc.NoNewPrivileges == false;
    assert lib.hasSuffix "/bin/kai run --env-file /etc/kai/env" svc.ExecStart;
    assert (lib.head okSystem.config.security.sudo.extraRules).runAs == "alice";
    true;
in
{
  lib-golden = pkgs.runCommand "kai-lib-golden" { } ''
    ${lib.concatMapStrings (
      case:
      lib.concatStrings (
        lib.mapAttrsToList (file: text: ''
          diff -u ${./cases + "/${case}/${file}"} ${pkgs.writeText "${case}-${file}" text}
        '') (rendered case)
      )
    ) (dirsIn ./cases)}
    touch $out
  '';

  lib-errors = pkgs.runCommand "kai-lib-errors" { } ''
    echo ${lib.escapeShellArg (lib.concatStringsSep " " errorCases)} > $out
  '';

  module-eval =
    assert okChecks;
    pkgs.runCommand "kai-module-eval" { } ''
      echo ${lib.escapeShellArg (lib.concatStringsSep " " moduleChecks)} > $out
    '';
}
