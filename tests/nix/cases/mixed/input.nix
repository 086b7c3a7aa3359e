# A team in transition: codex by default, two users still on claude; alice's
# account needs both binaries, bob's only claude, carol (no osUser) runs as the
# dedicated agent account kai-agent.
{
  backend = "codex";
  kaiBin = "/nix/store/0c6f7mq2qkxv8nyl4bs5zxyd4x3w8rcs-kai-0.1.0/bin/kai";
  codex = {
    binary = "/nix/store/9ffvh1djfz3q8l2hp6rgmlv3xn0hs1ib-codex-0.169.0/bin/codex";
    version = "0.169.0";
  };
  claude.binary = "/nix/store/4wq1a2m4z8brbx5rjmj6p0v7x2y1k9gd-claude-code-2.1.328/bin/claude";
  users = {
    alice = {
      telegramId = 1001;
      osUser = "alice";
    };
    bob = {
      telegramId = 1002;
      osUser = "bob";
      backend = "claude";
      model = "haiku";
    };
    carol.telegramId = 1003;
    dave = {
      telegramId = 1004;
      osUser = "alice";
      backend = "claude";
      workspace = "/home/alice/claude-work";
    };
  };
  osGroups = {
    alice = "users";
    bob = "staff";
  };
}
