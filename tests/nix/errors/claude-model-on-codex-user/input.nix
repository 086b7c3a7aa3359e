# The global backend is claude, but bob moved to codex and kept his model.
{
  backend = "claude";
  kaiBin = "/nix/store/0c6f7mq2qkxv8nyl4bs5zxyd4x3w8rcs-kai-0.1.0/bin/kai";
  codex.binary = "/nix/store/9ffvh1djfz3q8l2hp6rgmlv3xn0hs1ib-codex-0.169.0/bin/codex";
  claude.binary = "/nix/store/4wq1a2m4z8brbx5rjmj6p0v7x2y1k9gd-claude-code-2.1.328/bin/claude";
  users.bob = {
    telegramId = 1002;
    osUser = "bob";
    backend = "codex";
    model = "sonnet";
  };
}
