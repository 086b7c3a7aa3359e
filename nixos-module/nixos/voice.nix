# services.kai.voice.local: whisper.cpp's server from nixpkgs on loopback,
# as its own hardened unit (lib/whisper.nix renders it), with kai's
# voice.url pointed at it (and kai's unit ordered after it, service.nix). The model file is the operator's to provide
# (`whisper-cpp-download-ggml-model base` fetches one): a module never
# downloads at evaluation or build time.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption mkEnableOption types;
  kaiLib = import ../lib.nix { };
  cfg = config.services.kai;
  local = cfg.voice.local;
in
{
  options.services.kai.voice.local = {
    enable = mkEnableOption "a local whisper.cpp transcription server (loopback only) for kai's voice notes";
    package = mkOption {
      type = types.package;
      default = pkgs.whisper-cpp;
      defaultText = lib.literalExpression "pkgs.whisper-cpp";
      description = "The whisper.cpp package; its `bin/whisper-server` is run.";
    };
    ffmpeg = mkOption {
      type = types.package;
      default = pkgs.ffmpeg-headless;
      defaultText = lib.literalExpression "pkgs.ffmpeg-headless";
      description = "ffmpeg for `whisper-server --convert`, which turns Telegram's OGG/Opus voice notes into the WAV whisper.cpp reads.";
    };
    modelFile = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "/var/lib/kai-whisper/ggml-base.bin";
      description = ''
        Absolute path of a ggml Whisper model (e.g. `ggml-base.bin`, fetched
        with `whisper-cpp-download-ggml-model base`). It must be readable by
        every account: the server runs as a dynamic user.
      '';
    };
    port = mkOption {
      type = types.port;
      default = 8178;
      description = "Loopback port of the server (127.0.0.1 only; never reachable from other hosts).";
    };
    threads = mkOption {
      type = types.ints.positive;
      default = 4;
      description = "CPU threads for one transcription.";
    };
    language = mkOption {
      type = types.str;
      default = "auto";
      example = "en";
      description = "Spoken language (a Whisper language code), or `auto` to detect it.";
    };
  };

  config = lib.mkIf (cfg.enable && local.enable) {
    assertions = [
      {
        assertion = local.modelFile != null && lib.hasPrefix "/" local.modelFile;
        message = ''
          services.kai.voice.local.modelFile must be the absolute path of a ggml Whisper model, e.g. modelFile = "/var/lib/kai-whisper/ggml-base.bin"; (fetch one with whisper-cpp-download-ggml-model base).'';
      }
    ];
    services.kai.voice.url = lib.mkDefault (kaiLib.localUrl local.port);
    systemd.services.kai-whisper = kaiLib.whisperService {
      server = "${local.package}/bin/whisper-server";
      ffmpeg = "${local.ffmpeg}";
      modelFile = toString local.modelFile;
      inherit (local) port threads language;
    };
  };
}
