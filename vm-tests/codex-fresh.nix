# (a) A fresh codex install with no Claude anywhere: the real pkgs.codex,
# talking to a fake Responses API, behind a fake Telegram, both in the VM.
{ pkgs, self }:
let
  common = import ./lib/common.nix { inherit pkgs self; };
in
pkgs.testers.runNixOSTest {
  name = "kai-codex-fresh";

  nodes.machine = {
    imports = [
      common.base
      (common.osUser {
        name = "alice";
        codex = true;
      })
    ];
    services.kai = {
      backend = "codex";
      users.alice = {
        telegramId = 1001;
        osUser = "alice";
      };
    };
  };

  testScript =
    { nodes, ... }:
    let
      kaiBin = "${nodes.machine.services.kai.package}/bin/kai";
    in
    ''
      ${common.pythonHelpers}

      start_all()
      machine.wait_for_unit("fake-telegram.service")
      machine.wait_for_unit("fake-models.service")

      with subtest("the unit reached active through READY=1"):
          assert_ready_via_notify(machine)
          machine.wait_until_succeeds("fake-telegram tokens | grep -qF '${common.token}'")

      with subtest("the generated env names codex only"):
          codex_bin = env_value(machine, "CODEX_BIN")
          assert env_value(machine, "AGENT_BACKEND") == "codex"
          assert env_value(machine, "DEFAULT_MODEL") == "gpt-6.1-sol"
          assert env_value(machine, "AGENT_IDLE_SECONDS") == "900"
          machine.fail("grep -q CLAUDE_BIN /etc/kai/env")
          machine.succeed(f"test -x {codex_bin}")

      with subtest("sudo allows exactly CODEX_BIN and kai's helper subcommands, as alice"):
          assert sudo_commands(machine, "alice") == sorted([codex_bin] + kai_commands("${kaiBin}")), \
              sudo_commands(machine, "alice")
          # No ALL in any rule of the service user, and no wildcard but the
          # kai subcommands' arguments.
          machine.fail("sudo -l -U kai | grep -E '^[[:space:]]+[(]' | grep -E 'ALL'")
          assert all(c in kai_commands("${kaiBin}") for c in sudo_commands(machine, "alice") if "*" in c)

      with subtest("no claude for anyone, nor in the system closure"):
          for user in ["root", "kai", "alice"]:
              machine.fail(f"su -s /bin/sh -l {user} -c 'command -v claude'")
          machine.fail("nix-store -qR /run/current-system | grep -i claude")

      with subtest("workspace and tmp belong to alice"):
          machine.succeed("test $(stat -c %U:%a /var/lib/kai/home/alice) = alice:700")
          machine.succeed("test $(stat -c %U:%a /var/lib/kai/tmp/alice) = alice:700")
          machine.succeed("test $(stat -c %U:%a /var/lib/kai) = kai:711")

      with subtest("a message round trip through the real codex"):
          inject(machine, 1001, "hello codex")
          reply = wait_reply(machine, 1001, "PONG responses")
          assert "hello codex" in reply, reply
          machine.succeed("pgrep -u alice -f 'app-server'")
          machine.fail("pgrep -u kai -f 'app-server'")

      with subtest("an unknown Telegram user gets no agent"):
          inject(machine, 9999, "let me in")
          machine.sleep(5)
          machine.fail("fake-telegram wait-reply 9999 PONG")
    '';
}
