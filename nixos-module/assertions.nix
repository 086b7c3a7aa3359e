# Evaluation-time checks shared by NixOS and nix-darwin. Each message says
# what to write. lib.nix's validation covers models, backends, ids, binaries
# and settings; the token file is checked here.
{ config, lib, ... }:
let
  cfg = config.services.kai;
  token = cfg.telegram.tokenFile;
  # The GitHub secrets, checked like the bot token when the listener is on.
  githubSecret =
    name:
    let
      v = cfg.github.${name};
      at = "services.kai.github.${name}";
    in
    [
      {
        assertion = v != null;
        message = ''
          ${at} is required with services.kai.github.enable: write the absolute path of a file holding it as a string, e.g. ${name} = "/run/secrets/kai-github-${if name == "tokenFile" then "token" else "webhook"}";'';
      }
      {
        assertion = v == null || (lib.hasPrefix "/" v && !(lib.hasPrefix builtins.storeDir v));
        message = ''
          ${at} = "${toString v}" must be an absolute path outside ${builtins.storeDir} (which is world-readable): keep GitHub secrets out of the store and write the path as a string.'';
      }
    ];
  kaiLib = import ./lib.nix { };
  tested = kaiLib.catalog.codex.tested_versions;
  codexUsed = lib.any (u: (if u.backend != null then u.backend else cfg.backend) == "codex") (
    lib.attrValues cfg.users
  );
in
{
  config = lib.mkIf cfg.enable {
    # The codex versions kai's end-to-end tests run (catalog.json, which the
    # runtime's start-up check reads too): another one may speak a protocol
    # kai has not seen. A warning, not an error: it may well work.
    warnings = lib.optional (codexUsed && cfg.codex.version != null && !(lib.elem cfg.codex.version tested)) ''
      services.kai.codex.version is ${cfg.codex.version}, which kai's end-to-end tests have not run (they run codex ${lib.concatStringsSep ", " tested}); /status will say "untested". Pin services.kai.codex.package to a tested version if anything misbehaves.'';

    assertions =
      map (message: {
        assertion = false;
        inherit message;
      }) cfg.generated.errors
      ++ [
        {
          assertion = lib.hasPrefix "/" token;
          message = ''
            services.kai.telegram.tokenFile = "${token}" must be an absolute path, e.g. "/run/secrets/kai-telegram-token".'';
        }
        {
          assertion = !(lib.hasPrefix builtins.storeDir token);
          message = ''
            services.kai.telegram.tokenFile = "${token}" is inside ${builtins.storeDir}, which is world-readable: keep the bot token outside the store (agenix, sops-nix, or a root-owned file) and write its absolute path as a string, e.g. tokenFile = "/run/secrets/kai-telegram-token";'';
        }
      ]
      ++ lib.optionals cfg.github.enable (githubSecret "webhookSecretFile" ++ githubSecret "tokenFile")
      ++ [
        {
          assertion =
            cfg.voice.apiKeyFile == null
            || (lib.hasPrefix "/" cfg.voice.apiKeyFile && !(lib.hasPrefix builtins.storeDir cfg.voice.apiKeyFile));
          message = ''
            services.kai.voice.apiKeyFile = "${toString cfg.voice.apiKeyFile}" must be an absolute path outside ${builtins.storeDir} (which is world-readable): keep the transcription key out of the store and write the path as a string, e.g. apiKeyFile = "/run/secrets/kai-transcribe-key";'';
        }
      ];
  };
}
