# Evaluates the NixOS and nix-darwin modules with nixpkgs' `lib.evalModules`
# against stub platform options and a stub `pkgs`, without nixpkgs itself:
#   nix-instantiate --eval --strict --json tests/nix/module-eval.nix \
#     --arg nixpkgsLib /path/to/nixpkgs.lib/checkout
# Used by tests/nix/check.sh when such a checkout is available. Files are
# never built: the stub pkgs returns fake store paths.
{ nixpkgsLib }:
let
  lib = import (nixpkgsLib + "/lib");
  inherit (lib) mkOption types;

  fakeStore = name: "${builtins.storeDir}/00000000000000000000000000000000-${name}";
  fakePackage = pname: version: mainProgram: {
    type = "derivation";
    name = "${pname}-${version}";
    inherit pname version;
    outPath = fakeStore "${pname}-${version}";
    outputs = [ "out" ];
    meta = {
      inherit mainProgram;
    };
  };

  pkgs = {
    codex = fakePackage "codex" "0.169.0" "codex";
    claude-code = fakePackage "claude-code" "2.1.328" "claude";
    kai = fakePackage "kai" "0.1.0" "kai";
    whisper-cpp = fakePackage "whisper-cpp" "1.7.5" "whisper-cli";
    ffmpeg-headless = fakePackage "ffmpeg-headless" "7.1" "ffmpeg";
    writeText = name: _text: fakeStore name;
    runCommand =
      name: _env: _script:
      fakeStore name;
    stdenv = {
      buildPlatform.canExecute = _: true;
      hostPlatform = { };
    };
  };

  anything = mkOption {
    type = types.anything;
    default = { };
  };

  # The few platform options the modules define into.
  commonStubs = {
    options = {
      assertions = mkOption {
        type = types.listOf types.unspecified;
        default = [ ];
      };
      warnings = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      environment.etc = anything;
      users.groups = anything;
      users.users = mkOption {
        type = types.attrsOf (
          types.submodule {
            freeformType = types.attrsOf types.anything;
            options.home = mkOption {
              type = types.str;
              default = "/var/empty";
            };
          }
        );
        default = { };
      };
    };
  };
  nixosStubs = {
    options = {
      systemd.services = anything;
      systemd.tmpfiles.settings = anything;
      security.sudo.extraRules = mkOption {
        type = types.listOf types.unspecified;
        default = [ ];
      };
      system.activationScripts = anything;
    };
  };
  darwinStubs = {
    options = {
      launchd.daemons = anything;
      security.sudo.extraConfig = mkOption {
        type = types.lines;
        default = "";
      };
      system.activationScripts.postActivation.text = mkOption {
        type = types.lines;
        default = "";
      };
      users.knownUsers = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
      users.knownGroups = mkOption {
        type = types.listOf types.str;
        default = [ ];
      };
    };
  };

  base = {
    services.kai = {
      enable = true;
      package = pkgs.kai;
      backend = "codex";
      telegram.tokenFile = "/run/keys/kai-telegram-token";
      users.alice = {
        telegramId = 1001;
        osUser = "alice";
      };
    };
    users.users.alice = {
      group = "users";
      home = "/home/alice";
    };
  };

  evalWith =
    platform: stubs: extra:
    lib.evalModules {
      modules = [
        platform
        commonStubs
        stubs
        base
        extra
        { _module.args.pkgs = pkgs; }
      ];
    };
  evalNixos = evalWith ../../nixos-module/nixos nixosStubs;
  evalDarwin = evalWith ../../nixos-module/darwin darwinStubs;

  failed = cfg: map (a: a.message) (lib.filter (a: !a.assertion) cfg.assertions);

  cases = {
    wrong-model = {
      services.kai.model = "opus";
    };
    wrong-user-model = {
      services.kai.users.alice.model = "sonnet";
    };
    duplicate-ids = {
      services.kai.users.bob.telegramId = 1001;
    };
    token-in-store = {
      services.kai.telegram.tokenFile = lib.mkForce "${builtins.storeDir}/00000000000000000000000000000000-token";
    };
    undeclared-os-user = {
      services.kai.users.carol = {
        telegramId = 1003;
        osUser = "carol";
      };
    };
    service-account-os-user = {
      services.kai.users.carol = {
        telegramId = 1003;
        osUser = "kai";
      };
    };
    single-account-beside-sudo = {
      services.kai.agentUser = null;
      services.kai.users.bob.telegramId = 1002;
    };
    undeclared-agent-user = {
      services.kai.agentUser = "agents";
      services.kai.users.bob.telegramId = 1002;
    };
    claude-package-null = {
      services.kai.users.bob = {
        telegramId = 1002;
        backend = "claude";
      };
    };
  };

  ok = (evalNixos { }).config;
  okMixed =
    (evalNixos {
      services.kai.claude.package = pkgs.claude-code;
      services.kai.users.bob = {
        telegramId = 1002;
        backend = "claude";
      };
    }).config;
  okDarwin = (evalDarwin { services.kai.uid = 532; }).config;
  githubBase = {
    services.kai.github = {
      enable = true;
      webhookSecretFile = "/run/keys/kai-github-webhook";
      tokenFile = "/run/keys/kai-github-token";
    };
    services.kai.users.alice.github.repos = [ "acme/app" ];
  };
  okGithub = (evalNixos githubBase).config;
  # A user's conversation options reach the users file and the directories.
  okConversations =
    (evalNixos {
      services.kai.users.alice = {
        chats = [ (-1001) ];
        projects = [ "api" ];
        maxAgents = 2;
      };
    }).config;
  # A hosted endpoint with a key; and the local server, which needs none.
  okVoiceHosted =
    (evalNixos {
      services.kai.voice = {
        url = "https://api.openai.com/v1";
        apiKeyFile = "/run/keys/kai-transcribe";
      };
    }).config;
  okVoiceLocal =
    (evalNixos {
      services.kai.voice.local = {
        enable = true;
        modelFile = "/var/lib/kai-whisper/ggml-base.bin";
      };
    }).config;
  whisperUnit = okVoiceLocal.systemd.services.kai-whisper;
  untestedCodex =
    (evalNixos {
      services.kai.codex.package = fakePackage "codex" "0.150.1" "codex";
    }).config;
  okDarwinAgent =
    (evalDarwin {
      services.kai.agentUid = 533;
      services.kai.users.bob.telegramId = 1002;
    }).config;
  svc = ok.systemd.services.kai;
in
{
  failures = lib.mapAttrs (_: extra: failed (evalNixos extra).config) cases;
  darwinFailures = {
    wrong-model = failed (evalDarwin { services.kai.model = "opus"; }).config;
  };
  nixos = {
    failed = failed ok;
    inherit (svc.serviceConfig)
      Type
      NotifyAccess
      WatchdogSec
      Restart
      ExecStart
      LoadCredential
      NoNewPrivileges
      ProtectSystem
      ReadWritePaths
      User
      KillMode
      RestartPreventExitStatus
      ReadOnlyPaths
      UMask
      LimitNOFILE
      ;
    path = svc.path;
    sudoRules = ok.security.sudo.extraRules;
    tmpfiles = ok.systemd.tmpfiles.settings."10-kai";
    etc = lib.mapAttrs (_: e: e.source) ok.environment.etc;
    env = ok.services.kai.generated.rendered.env;
    loginHints = ok.system.activationScripts.kai-login-hints.text;
    serviceUser = ok.users.users.kai;
  };
  mixed = {
    failed = failed okMixed;
    env = okMixed.services.kai.generated.rendered.env;
    sudoRules = okMixed.security.sudo.extraRules;
    agentAccount = okMixed.users.users.kai-agent or null;
    tmpfiles = okMixed.systemd.tmpfiles.settings."10-kai";
    ReadWritePaths = okMixed.systemd.services.kai.serviceConfig.ReadWritePaths;
  };
  conversations = {
    failed = failed okConversations;
    usersJson = okConversations.services.kai.generated.rendered.usersJson;
    tmpfiles = okConversations.systemd.tmpfiles.settings."10-kai";
  };
  github = {
    failed = failed okGithub;
    LoadCredential = okGithub.systemd.services.kai.serviceConfig.LoadCredential;
    env = okGithub.services.kai.generated.rendered.env;
    usersJson = okGithub.services.kai.generated.rendered.usersJson;
  };
  voice = {
    hostedFailed = failed okVoiceHosted;
    hostedEnv = okVoiceHosted.services.kai.generated.rendered.env;
    hostedCredentials = okVoiceHosted.systemd.services.kai.serviceConfig.LoadCredential;
    localFailed = failed okVoiceLocal;
    localEnv = okVoiceLocal.services.kai.generated.rendered.env;
    localCredentials = okVoiceLocal.systemd.services.kai.serviceConfig.LoadCredential;
    kaiAfter = okVoiceLocal.systemd.services.kai.after;
    whisper = whisperUnit.serviceConfig;
    whisperPath = whisperUnit.path;
    offEnv = ok.services.kai.generated.rendered.env;
    keyInStore = failed
      (evalNixos {
        services.kai.voice = {
          url = "https://api.openai.com/v1";
          apiKeyFile = "${builtins.storeDir}/00000000000000000000000000000000-key";
        };
      }).config;
    badUrl = failed (evalNixos { services.kai.voice.url = "api.openai.com"; }).config;
    noModelFile = failed (evalNixos { services.kai.voice.local.enable = true; }).config;
    darwinKeyEnv =
      (evalDarwin {
        services.kai.uid = 532;
        services.kai.voice = {
          url = "https://api.openai.com/v1";
          apiKeyFile = "/run/keys/kai-transcribe";
        };
      }).config.launchd.daemons.kai.serviceConfig.EnvironmentVariables.TRANSCRIBE_API_KEY_FILE;
  };
  githubFailures = {
    secret-in-store = failed
      (evalNixos (
        lib.recursiveUpdate githubBase {
          services.kai.github.tokenFile = "${builtins.storeDir}/00000000000000000000000000000000-token";
        }
      )).config;
    repo-owned-twice = failed
      (evalNixos (
        lib.recursiveUpdate githubBase {
          services.kai.users.bob = {
            telegramId = 1002;
            osUser = "alice";
            github.repos = [ "acme/app" ];
          };
        }
      )).config;
  };
  warnings = {
    tested = ok.warnings;
    untested = untestedCodex.warnings;
  };
  # alice alone has her own account: nothing needs kai-agent.
  noAgentAccount = !(ok.users.users ? kai-agent);
  darwin = {
    failed = failed okDarwin;
    programArguments = okDarwin.launchd.daemons.kai.serviceConfig.ProgramArguments;
    tokenEnv = okDarwin.launchd.daemons.kai.serviceConfig.EnvironmentVariables.TELEGRAM_BOT_TOKEN_FILE;
    sudoers = okDarwin.security.sudo.extraConfig;
    renderedSudoers = okDarwin.services.kai.generated.rendered.sudoers;
    activation = okDarwin.system.activationScripts.postActivation.text;
    knownUsers = okDarwin.users.knownUsers;
    umask = okDarwin.launchd.daemons.kai.serviceConfig.Umask;
    agentUid = okDarwinAgent.users.users.kai-agent.uid;
    agentKnown = okDarwinAgent.users.knownUsers;
  };
}
