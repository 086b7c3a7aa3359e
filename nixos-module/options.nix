# `services.kai` options shared by the NixOS and the nix-darwin module.
# Platform-only options live next to their module (nixos/options.nix,
# darwin/options.nix).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types literalExpression;
  kaiLib = import ./lib.nix { };
  cfg = config.services.kai;
  backendType = types.enum kaiLib.backends;

  userModule =
    { name, ... }:
    {
      options = {
        telegramId = mkOption {
          type = types.ints.positive;
          example = 123456789;
          description = ''
            Numeric Telegram user id of `${name}`; only listed ids may talk to
            the bot. Every user needs their own id.
          '';
        };
        osUser = mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "alice";
          description = ''
            OS account the agent of this user runs as (through sudo). It must
            be declared in `users.users` on NixOS, and must not be the service
            user. `null` runs the agent as {option}`services.kai.agentUser`.
          '';
        };
        backend = mkOption {
          type = types.nullOr backendType;
          default = null;
          example = "claude";
          description = ''
            Backend of this user; `null` means {option}`services.kai.backend`.
            The sudoers rule of the OS user names only the binaries its users
            need.
          '';
        };
        model = mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "gpt-6.1-sol";
          description = ''
            Model of this user, which must belong to the user's backend
            (`catalog.json`). `null` means the global model when the backends
            match, else the catalog default of the user's backend.
          '';
        };
        workspace = mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "/home/alice/src";
          description = ''
            Absolute path of the agent's working directory; created owned by
            the OS user with mode 0700. `null` means
            `''${services.kai.dataDir}/home/${name}`.
          '';
        };
      };
    };
in
{
  # MEMORY_ENABLED, its only key, was accepted and ignored; every other
  # key has a typed option.
  imports = [
    (lib.mkRemovedOptionModule [ "services" "kai" "settings" ] ''
      Every /etc/kai/env key has a typed option under services.kai; MEMORY_ENABLED, the only
      key `settings` took, did nothing and is gone.
    '')
  ];

  options.services.kai = {
    enable = lib.mkEnableOption "Kai, the Telegram gateway to coding agents" // {
      example = true;
    };

    package = mkOption {
      type = types.package;
      defaultText = literalExpression "kai.packages.\${pkgs.stdenv.hostPlatform.system}.kai";
      example = literalExpression "inputs.kai.packages.x86_64-linux.kai";
      description = ''
        The `kai` package. The flake's module sets it to the flake's own
        package for the host system. Its `bin/kai` is named in the sudoers
        rules (for `kai reap` and the file moves), so it is never wrapped.
      '';
    };

    backend = mkOption {
      type = backendType;
      example = "codex";
      description = ''
        Default backend (`AGENT_BACKEND`). Deliberately without a default:
        the choice decides which vendor's CLI ends up in the system closure,
        so the operator states it.
      '';
    };

    model = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "gpt-6.1-sol";
      description = ''
        Model of the default backend (`DEFAULT_MODEL`); it must be in the
        backend's list in `catalog.json`, checked at evaluation time. `null`
        uses the catalog default of the backend, so switching the backend
        never carries a stale model over.
      '';
    };

    codex = {
      package = mkOption {
        type = types.package;
        default = pkgs.codex;
        defaultText = literalExpression "pkgs.codex";
        example = literalExpression "pkgs.codex";
        description = ''
          The Codex CLI. Only referenced (and so only in the closure) when
          some user is on codex.
        '';
      };
      binary = mkOption {
        type = types.str;
        default = lib.getExe cfg.codex.package;
        defaultText = literalExpression "lib.getExe config.services.kai.codex.package";
        example = "/opt/homebrew/bin/codex";
        description = ''
          Absolute path of the codex executable. This one value is both
          `CODEX_BIN` in /etc/kai/env and the command in the sudoers rules.
        '';
      };
      version = mkOption {
        type = types.nullOr types.str;
        default = cfg.codex.package.version or null;
        defaultText = literalExpression "config.services.kai.codex.package.version";
        example = "0.169.0";
        description = ''
          Version of the codex CLI the install was built against
          (`CODEX_VERSION`, the runtime's schema-drift guard).
        '';
      };
    };

    claude = {
      package = mkOption {
        type = types.nullOr types.package;
        default = null;
        example = literalExpression "pkgs.claude-code";
        description = ''
          The Claude Code CLI. `null` by default so that a codex-only system
          has no Anthropic package in its closure; required (assertion) as
          soon as some user is on claude. `pkgs.claude-code` is unfree.
        '';
      };
      binary = mkOption {
        type = types.nullOr types.str;
        default = if cfg.claude.package == null then null else lib.getExe cfg.claude.package;
        defaultText = literalExpression "lib.getExe config.services.kai.claude.package";
        example = "/usr/local/bin/claude";
        description = ''
          Absolute path of the claude executable: `CLAUDE_BIN` and the
          command in the sudoers rules.
        '';
      };
    };

    users = mkOption {
      type = types.attrsOf (types.submodule userModule);
      default = { };
      example = literalExpression ''
        {
          alice = { telegramId = 1001; osUser = "alice"; };
          bob = { telegramId = 1002; osUser = "bob"; backend = "claude"; model = "sonnet"; };
        }
      '';
      description = ''
        Telegram users allowed to talk to the bot, by name (1-32 characters
        of a-z, 0-9, `-`, `_`; the name of their default workspace). Written
        to /etc/kai/users.json.
      '';
    };

    telegram = {
      tokenFile = mkOption {
        type = types.str;
        example = "/run/secrets/kai-telegram-token";
        description = ''
          Absolute path of a file holding the bot token, read at start
          (systemd `LoadCredential` on NixOS, `TELEGRAM_BOT_TOKEN_FILE` on
          nix-darwin). A string, not a Nix path, so the secret is never
          copied into the store; a path inside /nix/store is refused.
        '';
      };
      apiUrl = mkOption {
        type = types.str;
        default = "https://api.telegram.org";
        example = "http://127.0.0.1:8081";
        description = "Bot API base URL (`TELEGRAM_API_URL`).";
      };
    };

    user = mkOption {
      type = types.str;
      default = "kai";
      example = "kai";
      description = ''
        Service user running the daemon. It is created when left at `kai`;
        otherwise declare it yourself.
      '';
    };

    group = mkOption {
      type = types.str;
      default = "kai";
      example = "kai";
      description = "Primary group of the service user; created when left at `kai`.";
    };

    agentUser = mkOption {
      type = types.nullOr types.str;
      default = "kai-agent";
      example = null;
      description = ''
        OS account of the users without an `osUser`: an unprivileged account
        of its own, so no agent ever runs as the service user, which can read
        the bot token and holds the sudo rules for every agent account. Left
        at `kai-agent`, NixOS creates it (a system user with its home in
        /var/lib/kai-agent, where its `~/.codex` lives); on nix-darwin set
        {option}`services.kai.agentUid` or create it yourself. The users that
        share it share one account: their agents can read each other's
        workspaces; give people who must not see each other an `osUser` each.

        `null` selects single-account mode: every agent runs as the service
        user and no sudo rule is rendered. Then no user may have an `osUser`,
        and an agent can read the bot token; use it only when the bot serves
        one person who also administers the host.
      '';
    };

    dataDir = mkOption {
      type = types.str;
      default = "/var/lib/kai";
      example = "/srv/kai";
      description = ''
        State directory (`KAI_DATA_DIR`), owned by the service user, mode
        0711 so OS users can reach their workspace and tmp directories inside
        it without listing it. Also the service user's home.
      '';
    };

    timeoutSeconds = mkOption {
      type = types.ints.positive;
      default = 120;
      example = 300;
      description = "Agent silence after which a turn fails (`AGENT_TIMEOUT_SECONDS`).";
    };

    agentIdleSeconds = mkOption {
      type = types.ints.between 1 86400;
      default = 900;
      example = 3600;
      description = ''
        An agent idle this long is stopped, and its conversation resumes on
        the next message (`AGENT_IDLE_SECONDS`): memory follows active chats,
        not configured users (an idle `codex app-server` holds about
        127 MiB).
      '';
    };

    inboxRetentionDays = mkOption {
      type = types.ints.between 0 3650;
      default = 30;
      example = 7;
      description = ''
        Files users sent are removed from the inboxes (`<workspace>/inbox/`
        and each project's `inbox/`) this many days after they last changed
        (`INBOX_RETENTION_DAYS`), as the user's account, when kai starts and
        once a day. Only regular files directly in an inbox; symlinks and
        folders there are left alone. `0` never removes anything.
      '';
    };

    checkConfig = mkOption {
      type = types.bool;
      default = true;
      example = false;
      description = ''
        Run `kai check-config --build-time` on the generated files at build
        time. Turn off only when a binary path is outside the store (the
        build sandbox cannot see it) or when cross-compiling.
      '';
    };

    generated = mkOption {
      type = types.lazyAttrsOf types.unspecified;
      internal = true;
      readOnly = true;
      example = literalExpression "{ env = \"AGENT_BACKEND=\\\"codex\\\"\\n...\"; }";
      description = ''
        What lib.nix rendered from these options, plus the store files built
        from it (set by nixos-module/generated.nix; read by the platform
        modules and tests).
      '';
    };
  };
}
