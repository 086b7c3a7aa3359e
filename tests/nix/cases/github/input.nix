# GitHub on: alice (codex) owns two repositories with review and triage,
# bob (claude) one, reviewed but without notices; the listener is on loopback behind a TLS proxy, the two secrets come in as
# systemd credentials next to the bot token.
{
  backend = "codex";
  kaiBin = "/nix/store/0c6f7mq2qkxv8nyl4bs5zxyd4x3w8rcs-kai-0.1.0/bin/kai";
  codex = {
    binary = "/nix/store/9ffvh1djfz3q8l2hp6rgmlv3xn0hs1ib-codex-0.169.0/bin/codex";
    version = "0.169.0";
  };
  claude.binary = "/nix/store/4wq1a2m4z8brbx5rjmj6p0v7x2y1k9gd-claude-code-2.1.328/bin/claude";
  telegram.tokenFile = "/run/secrets/kai-telegram-token";
  github = {
    enable = true;
    listen = "127.0.0.1:8787";
    apiUrl = "https://api.github.com";
    webhookSecretFile = "/run/secrets/kai-github-webhook";
    tokenFile = "/run/secrets/kai-github-token";
  };
  users = {
    alice = {
      telegramId = 1001;
      osUser = "alice";
      github = {
        repos = [
          "acme/app"
          "acme/lib"
        ];
        review = true;
        triage = true;
      };
    };
    bob = {
      telegramId = 1002;
      osUser = "bob";
      backend = "claude";
      github = {
        repos = [ "bob/dotfiles" ];
        notify = false;
      };
    };
    carol.telegramId = 1003;
  };
}
