# settings may not override a typed option, name an unknown key, or turn
# memory on for codex.
{
  backend = "codex";
  kaiBin = "/nix/store/0c6f7mq2qkxv8nyl4bs5zxyd4x3w8rcs-kai-0.1.0/bin/kai";
  codex.binary = "/nix/store/9ffvh1djfz3q8l2hp6rgmlv3xn0hs1ib-codex-0.169.0/bin/codex";
  users.alice.telegramId = 1001;
  settings = {
    CODEX_BIN = "/usr/bin/codex";
    MEMORY_ENABLED = true;
    TELEGRAM_TOKEN = "x";
  };
}
