# Conversations per topic: alice is served in two groups too, has two
# projects made at activation (owned by her account, in her workspace) and
# a cap of two agents; bob keeps the defaults (private chat only, 3 agents).
{
  backend = "codex";
  kaiBin = "/nix/store/0c6f7mq2qkxv8nyl4bs5zxyd4x3w8rcs-kai-0.1.0/bin/kai";
  codex.binary = "/nix/store/9ffvh1djfz3q8l2hp6rgmlv3xn0hs1ib-codex-0.169.0/bin/codex";
  users = {
    alice = {
      telegramId = 1001;
      osUser = "alice";
      chats = [
        (-1001234567890)
        (-42)
      ];
      projects = [
        "api"
        "web.v2"
      ];
      maxAgents = 2;
    };
    bob = {
      telegramId = 1002;
      osUser = "bob";
    };
  };
  osGroups.alice = "users";
}
