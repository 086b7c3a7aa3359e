# services.kai.voice: voice notes and audio files transcribed through an
# OpenAI-compatible endpoint, the transcript sent to the agent
# (docs/design.md, "Voice notes"). lib.nix renders the TRANSCRIBE_* env
# keys; the key file is the service's (a systemd credential on NixOS, a
# path in launchd's environment on nix-darwin), never the env file's. The
# local whisper.cpp server is NixOS-only (nixos/voice.nix).
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.services.kai.voice = {
    url = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "https://api.openai.com/v1";
      description = ''
        Base URL of an OpenAI-compatible transcription API
        (`TRANSCRIBE_URL`); kai posts each recording to
        `<url>/audio/transcriptions`. `null` turns voice off: voice notes
        are then answered with how to turn it on. With
        `voice.local.enable` it defaults to the local server.
      '';
    };
    model = mkOption {
      type = types.str;
      default = "gpt-4o-mini-transcribe";
      example = "whisper-1";
      description = "Transcription model asked for (`TRANSCRIBE_MODEL`); a local whisper.cpp server ignores it.";
    };
    timeoutSeconds = mkOption {
      type = types.ints.between 1 86400;
      default = 60;
      description = "Limit for transcribing one recording (`TRANSCRIBE_TIMEOUT_SECONDS`).";
    };
    apiKeyFile = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "/run/secrets/kai-transcribe-key";
      description = ''
        Absolute path of a file holding the endpoint's API key, passed as
        the systemd credential `transcribe-api-key` (on nix-darwin as
        `TRANSCRIBE_API_KEY_FILE`). A string, never a store path; `null`
        for an endpoint that needs no key, such as the local server.
      '';
    };
  };
}
