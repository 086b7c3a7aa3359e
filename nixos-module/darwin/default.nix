# services.kai for nix-darwin: the same options and generated files as on
# NixOS, run by launchd; sudoers from the same lib.nix text.
{
  imports = [
    ../options.nix
    ../github-options.nix
    ../conversation-options.nix
    ../voice-options.nix
    ./github.nix
    ../generated.nix
    ../assertions.nix
    ../etc.nix
    ./options.nix
    ./accounts.nix
    ./sudo.nix
    ./launchd.nix
    ./activation.nix
  ];
}
