# Values that need escaping: quotes, backslashes and `=` in the env file (the
# data dir, the Bot API URL) and in users.json (the workspace), and sudoers
# special characters in a binary path.
{
  backend = "codex";
  kaiBin = "/nix/store/0c6f7mq2qkxv8nyl4bs5zxyd4x3w8rcs-kai-0.1.0/bin/kai";
  codex = {
    binary = "/opt/codex,v=1:x/bin/codex";
    version = "0.169.0";
  };
  dataDir = "/var/lib/kai=\"q\"\\x";
  telegram.apiUrl = "http://127.0.0.1:8081/tg=api";
  users.alice = {
    telegramId = 1001;
    osUser = "alice";
    workspace = "/srv/work/o'brien \"q\" \\x=y";
  };
}
