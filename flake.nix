{
  description = "Kai: a Telegram gateway to coding agents (Codex CLI, Claude Code), each user under their own OS account";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;

      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "aarch64-darwin"
      ];

      pkgsFor =
        system:
        import nixpkgs {
          inherit system;
          overlays = [ self.overlays.default ];
          # claude-code is unfree; only the claude VM test uses it.
          config.allowUnfreePredicate = pkg: lib.getName pkg == "claude-code";
        };

      forAllSystems = f: lib.genAttrs systems (system: f (pkgsFor system));

      # Every vm-tests/<name>.nix is a check `vm-<name>` on Linux; helpers
      # live in vm-tests/lib/.
      vmTests =
        pkgs:
        lib.mapAttrs' (
          file: _:
          lib.nameValuePair "vm-${lib.removeSuffix ".nix" file}" (
            import (./vm-tests + "/${file}") { inherit pkgs self; }
          )
        ) (lib.filterAttrs (n: t: t == "regular" && lib.hasSuffix ".nix" n) (builtins.readDir ./vm-tests));
    in
    {
      overlays.default = final: _prev: {
        kai = final.callPackage ./nixos-module/package.nix { };
      };

      packages = forAllSystems (pkgs: {
        inherit (pkgs) kai;
        default = pkgs.kai;
      });

      nixosModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ ./nixos-module/nixos ];
          services.kai.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.kai;
        };
      nixosModules.kai = self.nixosModules.default;

      darwinModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ ./nixos-module/darwin ];
          services.kai.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.kai;
        };
      darwinModules.kai = self.darwinModules.default;

      # Pure renderers, for other flakes that want the same files.
      lib = import ./nixos-module/lib.nix { };

      checks = forAllSystems (
        pkgs:
        {
          package = pkgs.kai;
        }
        // import ./tests/nix/flake-checks.nix { inherit pkgs self nixpkgs; }
        // lib.optionalAttrs pkgs.stdenv.hostPlatform.isLinux (vmTests pkgs)
      );

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ pkgs.kai ];
          packages = [
            pkgs.clippy
            pkgs.rustfmt
            pkgs.rust-analyzer
            pkgs.nixfmt-tree
            pkgs.jq
          ];
        };
      });

      formatter = forAllSystems (pkgs: pkgs.nixfmt-tree);
    };
}
