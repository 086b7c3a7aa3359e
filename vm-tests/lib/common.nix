# Shared pieces of the VM tests: the fakes as services, the bot token, and
# per-OS-user agent configuration pointing at the fake model APIs.
{ pkgs, self }:
let
  inherit (pkgs) lib;
  telegramPort = 8081;
  modelsPort = 8090;

  fakeTelegram = pkgs.writeShellScriptBin "fake-telegram" ''
    exec ${pkgs.python3.interpreter} ${./fake_telegram.py} "$@"
  '';
  fakeModels = pkgs.writeShellScriptBin "fake-models" ''
    exec ${pkgs.python3.interpreter} ${./fake_models.py} "$@"
  '';

  # The real codex, offline: a model provider at the fake Responses API.
  codexConfig = pkgs.writeText "codex-config.toml" ''
    model = "gpt-6.1-sol"
    model_provider = "fake"

    [model_providers.fake]
    name = "fake"
    base_url = "http://127.0.0.1:${toString modelsPort}/v1"
    wire_api = "responses"
  '';

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

  tokenFile = "/var/lib/kai-secrets/telegram-token";
  token = "123456:TEST-TOKEN";

  # A fake server as a unit that reports READY=1 once it listens, started
  # before kai so its first getMe and model request find it.
  fakeService = server: port: {
    wantedBy = [ "multi-user.target" ];
    before = [ "kai.service" ];
    serviceConfig = {
      Type = "notify";
      NotifyAccess = "main";
      ExecStart = "${lib.getExe server} serve --port ${toString port}";
      DynamicUser = true;
    };
  };
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

  # Python for the test scripts: inject a message, wait for the reply.
  pythonHelpers = ''
    import json
    import re
    import shlex

    def inject(machine, user_id, text):
        machine.succeed(f"fake-telegram inject {user_id} {shlex.quote(text)}")

    def wait_reply(machine, chat_id, needle, timeout=180):
        return machine.wait_until_succeeds(
            f"fake-telegram wait-reply {chat_id} {shlex.quote(needle)}", timeout=timeout
        )

    def env_value(machine, key):
        out = machine.succeed(f"sed -n 's/^{key}=\"\\(.*\\)\"$/\\1/p' /etc/kai/env").strip()
        assert out, f"{key} missing from /etc/kai/env"
        return out

    def assert_ready_via_notify(machine):
        machine.wait_for_unit("kai.service")
        show = machine.succeed("systemctl show kai -p Type -p ActiveState -p SubState -p NRestarts")
        props = dict(line.split("=", 1) for line in show.strip().splitlines())
        # A Type=notify unit is "activating" until the daemon sends READY=1.
        assert props["Type"] == "notify", props
        assert props["ActiveState"] == "active" and props["SubState"] == "running", props
        assert props["NRestarts"] == "0", props

    def sudo_commands(machine, os_user):
        out = machine.succeed("sudo -l -U kai")
        cmds = []
        for line in out.splitlines():
            m = re.match(rf"\s*\({re.escape(os_user)}\)\s+(.*)$", line)
            if m:
                # Drop tags (`NOPASSWD:`) and options (`CWD=*`).
                rest = re.sub(r"\b[A-Z_]+(:|=\S+)\s*", "", m.group(1))
                cmds += [c.strip() for c in rest.split(",") if c.strip()]
        return sorted(cmds)
  '';
}
