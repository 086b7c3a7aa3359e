# services.kai for NixOS, one file per concern.
{
  imports = [
    ../options.nix
    ../github-options.nix
    ../conversation-options.nix
    ../voice-options.nix
    ../generated.nix
    ../assertions.nix
    ../etc.nix
    ./options.nix
    ./assertions.nix
    ./accounts.nix
    ./state.nix
    ./sudo.nix
    ./service.nix
    ./voice.nix
    ./login-hints.nix
  ];
}
