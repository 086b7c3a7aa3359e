# The configuration tests/systemd/run.sh boots under real systemd in a
# Debian container: two accounts of their own, one user on the dedicated
# agent account (kai-agent), the real codex from ./.tools (bind-mounted at
# /opt/kai-tools), the built kai at /opt/kai-test/bin/kai, the loopback fakes
# of vm-tests/lib/ on their VM-test ports. Its unit and tmpfiles lines are
# golden files like the rest, so the file the test boots is the one checked.
{
  backend = "codex";
  # codex 0.169.0 offers its shell tool (exec_command) as a plain function
  # for this model, which the fake model calls to run commands as the agent.
  model = "gpt-5.5";
  kaiBin = "/opt/kai-test/bin/kai";
  codex = {
    binary = "/opt/kai-tools/node_modules/.bin/codex";
    version = "0.169.0";
  };
  telegram = {
    apiUrl = "http://127.0.0.1:8081";
    tokenFile = "/var/lib/kai-secrets/telegram-token";
  };
  # Short, so the watchdog scenario waits seconds, not half a minute; long
  # enough for a busy machine: kai pings every third of it, and its start-up
  # codex version check (up to 10 s) runs between READY=1 and the first ping.
  watchdogSec = 15;
  timeoutSeconds = 60;
  users = {
    alice = {
      telegramId = 1001;
      osUser = "alice";
    };
    bob = {
      telegramId = 1002;
      osUser = "bob";
    };
    carol.telegramId = 1003;
  };
  osGroups = {
    alice = "alice";
    bob = "bob";
    kai-agent = "kai-agent";
  };
  osHomes = {
    alice = "/home/alice";
    bob = "/home/bob";
    kai-agent = "/var/lib/kai-agent";
  };
}
