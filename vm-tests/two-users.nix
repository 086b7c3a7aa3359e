# (b) Two Telegram users, two OS accounts: each agent runs under its own uid.
{ pkgs, self }:
let
  common = import ./lib/common.nix { inherit pkgs self; };
in
pkgs.testers.runNixOSTest {
  name = "kai-two-users";

  nodes.machine = {
    imports = [
      common.base
      (common.osUser {
        name = "alice";
        codex = true;
      })
      (common.osUser {
        name = "bob";
        codex = true;
      })
    ];
    services.kai = {
      backend = "codex";
      users = {
        alice = {
          telegramId = 1001;
          osUser = "alice";
        };
        bob = {
          telegramId = 1002;
          osUser = "bob";
          model = "gpt-6-luna";
        };
      };
    };
  };

  testScript = ''
    ${common.pythonHelpers}

    start_all()
    assert_ready_via_notify(machine)

    with subtest("sudoers: one rule per OS user"):
        codex_bin = env_value(machine, "CODEX_BIN")
        for user in ["alice", "bob"]:
            assert codex_bin in sudo_commands(machine, user), user

    with subtest("while both replies are slow, each agent runs as its own user"):
        inject(machine, 1001, "alice is slow today")
        inject(machine, 1002, "bob is slow too")
        machine.wait_until_succeeds("pgrep -u alice -f app-server", timeout=60)
        machine.wait_until_succeeds("pgrep -u bob -f app-server", timeout=60)
        machine.fail("pgrep -u kai -f app-server")
        # (sudo itself, the agents' parent, runs with euid 0: not checked.)
        uids = machine.succeed("ps -o uid= -p $(pgrep -d, -f app-server)").split()
        alice = machine.succeed("id -u alice").strip()
        bob = machine.succeed("id -u bob").strip()
        assert alice in uids and bob in uids, (uids, alice, bob)

    with subtest("both replies arrive, each with the user's own model"):
        assert "alice is slow today" in wait_reply(machine, 1001, "PONG responses gpt-6.1-sol")
        assert "bob is slow too" in wait_reply(machine, 1002, "PONG responses gpt-6-luna")
  '';
}
