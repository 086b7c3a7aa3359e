# (c) A Claude install stays on Claude: backend claude with pkgs.claude-code
# (unfree, allowed for this package in the flake's checks), talking to a fake
# Messages API configured in the OS user's ~/.claude/settings.json.
{ pkgs, self }:
let
  common = import ./lib/common.nix { inherit pkgs self; };
in
pkgs.testers.runNixOSTest {
  name = "kai-claude";

  nodes.machine = {
    imports = [
      common.base
      (common.osUser {
        name = "alice";
        claude = true;
      })
    ];
    services.kai = {
      backend = "claude";
      model = "sonnet";
      claude.package = pkgs.claude-code;
      users.alice = {
        telegramId = 1001;
        osUser = "alice";
      };
    };
  };

  testScript =
    { nodes, ... }:
    ''
      ${common.pythonHelpers}

      start_all()
      assert_ready_via_notify(machine)

      with subtest("the env names claude only"):
          claude_bin = env_value(machine, "CLAUDE_BIN")
          assert claude_bin == "${nodes.machine.services.kai.claude.binary}", claude_bin
          machine.fail("grep -q CODEX_BIN /etc/kai/env")
          assert sudo_commands(machine, "alice") == sorted(
              [claude_bin] + kai_commands("${nodes.machine.services.kai.package}/bin/kai")
          )
          # Claude Code works in its process's directory: only its rule
          # lets the service user pick the directory (sudo -D).
          machine.succeed(f"sudo -l -U kai | grep -F 'CWD=*' | grep -F '{claude_bin}'")
          machine.fail("sudo -l -U kai | grep -F 'CWD=*' | grep -F '/bin/kai'")

      with subtest("a message round trip through the real claude"):
          inject(machine, 1001, "hello claude")
          reply = wait_reply(machine, 1001, "PONG messages")
          assert "hello claude" in reply, reply
          machine.succeed("pgrep -u alice -f claude")
    '';
}
