# A Claude install that stays on Claude: no CODEX_BIN anywhere.
{
  backend = "claude";
  model = "opus";
  kaiBin = "/nix/store/0c6f7mq2qkxv8nyl4bs5zxyd4x3w8rcs-kai-0.1.0/bin/kai";
  claude.binary = "/nix/store/4wq1a2m4z8brbx5rjmj6p0v7x2y1k9gd-claude-code-2.1.328/bin/claude";
  users.alice = {
    telegramId = 1001;
    osUser = "alice";
  };
  osGroups.alice = "users";
}
