# services.kai.github and each user's `github`: pull request reviews and
# issue triage by the owning user's agent, and notices of what happens in the
# repositories in the owner's chat (docs/design.md, "GitHub automation"). lib.nix renders the
# env keys and the users file's `github` field; the NixOS service passes the
# two secrets as systemd credentials, like the bot token.
{ lib, ... }:
let
  inherit (lib) mkOption mkEnableOption types;

  repoModule = {
    options = {
      repos = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "acme/app" ];
        description = ''
          Repositories (`owner/name`) whose events this user's agent handles,
          as this user's OS account, backend and model; the summaries go to
          this user's chat. A repository belongs to one user.
        '';
      };
      review = mkOption {
        type = types.bool;
        default = true;
        example = false;
        description = "Review pull requests (opened, reopened, new pushes) with one comment each.";
      };
      triage = mkOption {
        type = types.bool;
        default = false;
        example = true;
        description = ''
          Triage new issues: one read-only agent turn proposes labels (only
          the repository's own, or bug, enhancement, documentation and
          question, created when missing), a priority, a possible duplicate
          and related issues; kai adds the labels and one comment starting
          `## Triage by Kai`. Issues are never closed or edited.
        '';
      };
      notify = mkOption {
        type = types.bool;
        default = true;
        example = false;
        description = ''
          Tell this user's Telegram chat about pull requests opened, closed,
          merged or reopened, issues opened, closed or reopened, comments
          (not kai's own), reviews that approve or request changes, and
          pushes to the default branch.
        '';
      };
    };
  };
in
{
  options.services.kai = {
    github = {
      enable = mkEnableOption "the GitHub webhook listener: pull request reviews, issue triage and notices";
      listen = mkOption {
        type = types.str;
        default = "127.0.0.1:8787";
        description = ''
          IP:port the webhook server binds (`GITHUB_WEBHOOK_LISTEN`), an
          address rather than a host name, e.g. "[::1]:8787". Keep it
          on loopback behind a TLS reverse proxy that forwards
          `/github/webhook`.
        '';
      };
      webhookSecretFile = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "/run/secrets/kai-github-webhook";
        description = ''
          Absolute path of a file holding the webhook secret (the one entered
          in the repository's webhook settings), passed as the systemd
          credential `github-webhook-secret`. A string, never a store path.
        '';
      };
      tokenFile = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "/run/secrets/kai-github-token";
        description = ''
          Absolute path of a file holding a GitHub token that may read the
          repositories' pull requests and issues, write issue comments and
          labels, and create labels, passed as the
          systemd credential `github-token`. A string, never a store path.
        '';
      };
      apiUrl = mkOption {
        type = types.str;
        default = "https://api.github.com";
        description = "GitHub REST API base URL (`GITHUB_API_URL`).";
      };
      jobTimeoutSeconds = mkOption {
        type = types.ints.between 1 86400;
        default = 900;
        description = "Limit for one review or triage (`GITHUB_JOB_TIMEOUT_SECONDS`).";
      };
    };

    users = mkOption {
      type = types.attrsOf (
        types.submodule {
          options.github = mkOption {
            type = types.nullOr (types.submodule repoModule);
            default = null;
            example = lib.literalExpression ''{ repos = [ "acme/app" ]; }'';
            description = "GitHub repositories this user owns (null: none).";
          };
        }
      );
    };
  };
}
