# The loopback fakes as the tests run them, without pkgs: ports, the token,
# a fake server's unit, the agents' codex configuration. Shared by the NixOS
# VM tests (common.nix) and tests/systemd/ (a Debian container booted under
# real systemd, where lib.nix's unitFile writes these units), so both run the
# same fakes the same way.
rec {
  telegramPort = 8081;
  modelsPort = 8090;
  token = "123456:TEST-TOKEN";
  tokenFile = "/var/lib/kai-secrets/telegram-token";

  # A fake server as a unit that reports READY=1 once it listens, started
  # before kai so its first getMe and model request find it. `exec` is the
  # command that runs fake_telegram.py or fake_models.py.
  service = description: exec: port: {
    inherit description;
    wantedBy = [ "multi-user.target" ];
    before = [ "kai.service" ];
    serviceConfig = {
      Type = "notify";
      NotifyAccess = "main";
      ExecStart = "${exec} serve --port ${toString port}";
      DynamicUser = true;
    };
  };

  # ~/.codex/config.toml of every agent account: the real codex, offline,
  # with a model provider at the fake Responses API. No outbound attempts
  # (plugin sync, update check) and no login-shell snapshot.
  codexConfig = ''
    model = "gpt-6.1-sol"
    model_provider = "fake"
    check_for_update_on_startup = false

    [analytics]
    enabled = false

    [features]
    plugins = false
    shell_snapshot = false

    [model_providers.fake]
    name = "fake"
    base_url = "http://127.0.0.1:${toString modelsPort}/v1"
    wire_api = "responses"
    request_max_retries = 0
    stream_max_retries = 0
  '';
}
