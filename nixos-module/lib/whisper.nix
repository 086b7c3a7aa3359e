# The local transcription server of `services.kai.voice.local`: whisper.cpp's
# `whisper-server` (nixpkgs `whisper-cpp`, which installs it under that name)
# on loopback, answering the OpenAI-compatible path kai posts to. A unit of
# its own, as locked down as a CPU-bound server that reads one model file
# and talks to nobody but this host can be: it needs none of the
# relaxations kai's own unit makes for sudo.
_:
rec {
  # The path kai appends to its base URL (src/transcribe.rs).
  inferencePath = "/v1/audio/transcriptions";

  # The base URL kai's TRANSCRIBE_URL gets for a server on `port`.
  localUrl = port: "http://127.0.0.1:${toString port}/v1";

  # The systemd service. Input:
  #   server     absolute path of the whisper-server binary
  #   ffmpeg     absolute path of a directory holding ffmpeg (`--convert`
  #              turns Telegram's OGG/Opus into the WAV whisper.cpp reads)
  #   modelFile  a ggml model file (e.g. ggml-base.bin), readable by anyone:
  #              the unit runs as a dynamic user
  #   port, threads, language
  whisperService =
    {
      server,
      ffmpeg,
      modelFile,
      port,
      threads,
      language,
    }:
    {
      description = "whisper.cpp transcription server for Kai (loopback only)";
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" ];
      path = [ ffmpeg ];
      serviceConfig = {
        ExecStart = builtins.concatStringsSep " " [
          server
          "--host 127.0.0.1"
          "--port ${toString port}"
          "--model ${modelFile}"
          "--inference-path ${inferencePath}"
          "--threads ${toString threads}"
          "--language ${language}"
          "--convert"
        ];
        Restart = "on-failure";
        RestartSec = "5s";
        # No account to manage; the converted audio lands in the working
        # directory, a private runtime directory gone at stop.
        DynamicUser = true;
        RuntimeDirectory = "kai-whisper";
        WorkingDirectory = "/run/kai-whisper";
        UMask = "0077";
        # Reachable from this host only, whatever address it binds.
        IPAddressAllow = [ "localhost" ];
        IPAddressDeny = [ "any" ];
        RestrictAddressFamilies = [
          "AF_INET"
          "AF_INET6"
          "AF_UNIX"
        ];
        NoNewPrivileges = true;
        CapabilityBoundingSet = [ "" ];
        AmbientCapabilities = [ "" ];
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        PrivateDevices = true;
        PrivateUsers = true;
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectKernelLogs = true;
        ProtectControlGroups = true;
        ProtectClock = true;
        ProtectHostname = true;
        ProtectProc = "invisible";
        ProcSubset = "pid";
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        LockPersonality = true;
        RemoveIPC = true;
        SystemCallArchitectures = "native";
        SystemCallFilter = [
          "@system-service"
          "~@privileged"
          "~@resources"
        ];
        # No MemoryDenyWriteExecute: GPU builds of whisper.cpp load code at
        # run time; the CPU build does not need it either way.
      };
    };
}
