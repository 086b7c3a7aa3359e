# (d) GitHub review on NixOS: services.kai.github with the secrets as
# systemd credentials, a fake GitHub in the VM (vm-tests/lib/fake_github.py),
# the real codex as alice's agent. A wrong signature is refused; a signed
# pull_request gets one `## Review by Kai` comment that shows the model saw
# the diff, alice's chat gets the summary and (notices are on by default)
# the notice that the pull request was opened, and a redelivery does
# nothing.
{ pkgs, self }:
let
  inherit (pkgs) lib;
  common = import ./lib/common.nix { inherit pkgs self; };
  githubPort = 8095;
  webhookPort = 8787;
  secretFile = "/var/lib/kai-secrets/github-webhook";
  githubTokenFile = "/var/lib/kai-secrets/github-token";
  fakeGithub = pkgs.writeShellScriptBin "fake-github" ''
    exec ${pkgs.python3.interpreter} ${./lib/fake_github.py} "$@"
  '';
in
pkgs.testers.runNixOSTest {
  name = "kai-github";

  nodes.machine = {
    imports = [
      common.base
      (common.osUser {
        name = "alice";
        codex = true;
      })
    ];
    environment.systemPackages = [ fakeGithub ];
    # Not in the store: tmpfiles writes them at boot (test-only content).
    systemd.tmpfiles.rules = [
      "f ${secretFile} 0400 root root - vm-test-webhook-secret"
      "f ${githubTokenFile} 0400 root root - ghp_vm_test_token"
    ];
    systemd.services.fake-github = {
      description = "Kai test: fake GitHub";
      wantedBy = [ "multi-user.target" ];
      before = [ "kai.service" ];
      serviceConfig = {
        Type = "notify";
        NotifyAccess = "main";
        ExecStart = "${lib.getExe fakeGithub} serve --port ${toString githubPort}";
        DynamicUser = true;
      };
    };
    systemd.services.kai = {
      wants = [ "fake-github.service" ];
      after = [ "fake-github.service" ];
    };
    services.kai = {
      backend = "codex";
      github = {
        enable = true;
        listen = "127.0.0.1:${toString webhookPort}";
        apiUrl = "http://127.0.0.1:${toString githubPort}";
        webhookSecretFile = secretFile;
        tokenFile = githubTokenFile;
      };
      users.alice = {
        telegramId = 1001;
        osUser = "alice";
        github.repos = [ "acme/app" ];
      };
    };
  };

  testScript = ''
    ${common.pythonHelpers}

    port = ${toString webhookPort}
    start_all()
    machine.wait_for_unit("fake-telegram.service")
    machine.wait_for_unit("fake-models.service")
    machine.wait_for_unit("fake-github.service")
    assert_ready_via_notify(machine)
    machine.wait_until_succeeds(f"fake-github healthz --port {port}")

    with subtest("the env names the listener, never a secret"):
        assert env_value(machine, "GITHUB_WEBHOOK_LISTEN") == f"127.0.0.1:{port}"
        assert env_value(machine, "GITHUB_API_URL") == "http://127.0.0.1:${toString githubPort}"
        machine.fail("grep -q vm-test-webhook-secret /etc/kai/env /etc/kai/users.json")
        machine.fail("grep -q ghp_vm_test_token /etc/kai/env /etc/kai/users.json")
        creds = machine.succeed("systemctl show kai -p LoadCredential")
        assert "github-webhook-secret:${secretFile}" in creds, creds
        assert "github-token:${githubTokenFile}" in creds, creds

    with subtest("a wrong signature is refused and nothing happens"):
        status = machine.succeed(
            f"fake-github deliver --port {port} --secret wrong --delivery 11111111-0000-4000-8000-000000000001"
        ).strip()
        assert status == "401", status

    with subtest("a signed pull_request gets one review comment and a summary"):
        status = machine.succeed(
            f"fake-github deliver --port {port} --secret-file ${secretFile} "
            "--delivery 11111111-0000-4000-8000-000000000002"
        ).strip()
        assert status == "202", status
        machine.wait_until_succeeds(
            "fake-github comments acme/app 1 --port ${toString githubPort} | grep -q 'Review by Kai'",
            timeout=180,
        )
        summary = wait_reply(machine, 1001, "Review posted")
        assert "acme/app#1" in summary, summary
        notice = wait_reply(machine, 1001, "Pull request acme/app#1 opened")
        assert "Review posted" not in notice, notice
        comments = json.loads(
            machine.succeed("fake-github comments acme/app 1 --port ${toString githubPort}")
        )
        assert len(comments) == 1, comments
        assert comments[0].startswith("## Review by Kai"), comments
        # The fake model echoes its prompt: it saw the diff.
        assert "vm-diff-marker" in comments[0], comments

    with subtest("the same delivery again is not reviewed twice"):
        status = machine.succeed(
            f"fake-github deliver --port {port} --secret-file ${secretFile} "
            "--delivery 11111111-0000-4000-8000-000000000002"
        ).strip()
        assert status == "200", status
        machine.sleep(5)
        comments = json.loads(
            machine.succeed("fake-github comments acme/app 1 --port ${toString githubPort}")
        )
        assert len(comments) == 1, comments
  '';
}
