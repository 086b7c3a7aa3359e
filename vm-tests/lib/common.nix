# Shared pieces of the VM tests: the fakes as services, the bot token, and
# per-OS-user agent configuration pointing at the fake model APIs. The pure
# parts (ports, units, codex config) live in fakes.nix and the scenario
# helpers in helpers.py, which tests/systemd/ uses too.
{ pkgs, self }:
let
  inherit (pkgs) lib;
  fakes = import ./fakes.nix;
  inherit (fakes) telegramPort modelsPort;

  fakeTelegram = pkgs.writeShellScriptBin "fake-telegram" ''
    exec ${pkgs.python3.interpreter} ${./fake_telegram.py} "$@"
  '';
  fakeModels = pkgs.writeShellScriptBin "fake-models" ''
    exec ${pkgs.python3.interpreter} ${./fake_models.py} "$@"
  '';

  # The real codex, offline: a model provider at the fake Responses API.
  codexConfig = pkgs.writeText "codex-config.toml" fakes.codexConfig;

  # The real claude, offline. sudo passes the agent only the variables the
  # runtime names, so the endpoint and key live in the user's settings.
  claudeSettings = pkgs.writeText "claude-settings.json" (
    builtins.toJSON {
      env = {
        ANTHROPIC_BASE_URL = "http://127.0.0.1:${toString modelsPort}";
        ANTHROPIC_API_KEY = "sk-ant-test-not-a-secret";
        DISABLE_TELEMETRY = "1";
        DISABLE_ERROR_REPORTING = "1";
        DISABLE_AUTOUPDATER = "1";
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1";
      };
      apiKeyHelper = "echo sk-ant-test-not-a-secret";
    }
  );

  inherit (fakes) tokenFile token;

  fakeService = server: port: fakes.service "Kai test: ${server.name}" (lib.getExe server) port;
in
{
  inherit
    telegramPort
    modelsPort
    token
    ;

  # A NixOS module: Kai enabled against the fakes. Tests add backend/users.
  base =
    { ... }:
    {
      imports = [ self.nixosModules.default ];

      virtualisation.memorySize = 2048;
      virtualisation.cores = 2;

      environment.systemPackages = [
        fakeTelegram
        fakeModels
        pkgs.procps
      ];

      # Not in the store: tmpfiles writes it at boot (test-only content).
      systemd.tmpfiles.rules = [
        "d /var/lib/kai-secrets 0700 root root -"
        "f ${tokenFile} 0400 root root - ${token}"
      ];

      systemd.services.fake-telegram = fakeService fakeTelegram telegramPort;
      systemd.services.fake-models = fakeService fakeModels modelsPort;
      systemd.services.kai = {
        wants = [
          "fake-telegram.service"
          "fake-models.service"
        ];
        after = [
          "fake-telegram.service"
          "fake-models.service"
        ];
      };

      services.kai = {
        enable = true;
        telegram = {
          inherit tokenFile;
          apiUrl = "http://127.0.0.1:${toString telegramPort}";
        };
        timeoutSeconds = 90;
      };
    };

  # A normal account whose agents are configured for the fakes.
  osUser =
    {
      name,
      codex ? false,
      claude ? false,
    }:
    { config, ... }:
    let
      home = config.users.users.${name}.home;
    in
    {
      users.users.${name}.isNormalUser = true;
      systemd.tmpfiles.rules =
        lib.optionals codex [
          "d ${home}/.codex 0700 ${name} users -"
          "L+ ${home}/.codex/config.toml - - - - ${codexConfig}"
        ]
        ++ lib.optionals claude [
          "d ${home}/.claude 0700 ${name} users -"
          "L+ ${home}/.claude/settings.json - - - - ${claudeSettings}"
        ];
    };

  # Python for the test scripts: inject a message, wait for the reply, …
  pythonHelpers = builtins.readFile ./helpers.py;
}
