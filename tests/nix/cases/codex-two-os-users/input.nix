# Two OS accounts plus one user without osUser, who runs as the dedicated
# agent account (kai-agent), never as the service user.
{
  backend = "codex";
  model = "gpt-5.6-sol";
  kaiBin = "/nix/store/0c6f7mq2qkxv8nyl4bs5zxyd4x3w8rcs-kai-0.1.0/bin/kai";
  codex = {
    binary = "/nix/store/9ffvh1djfz3q8l2hp6rgmlv3xn0hs1ib-codex-0.169.0/bin/codex";
    version = "0.169.0";
  };
  timeoutSeconds = 300;
  agentIdleSeconds = 3600;
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
    carol.telegramId = 1003;
  };
  osGroups = {
    alice = "users";
    bob = "users";
  };
}
