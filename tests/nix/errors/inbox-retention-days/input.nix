# A retention of ten thousand days is a typo, not a wish (0 is "never").
{
  backend = "codex";
  inboxRetentionDays = 10000;
  kaiBin = "/nix/store/0c6f7mq2qkxv8nyl4bs5zxyd4x3w8rcs-kai-0.1.0/bin/kai";
  codex.binary = "/nix/store/9ffvh1djfz3q8l2hp6rgmlv3xn0hs1ib-codex-0.169.0/bin/codex";
  users.alice.telegramId = 1001;
}
