# The sudo rules: the service user may run, as each agent's OS user, exactly
# that user's agent binaries and the kai subcommands (`kaiSubcommands`, kept
# in lib.nix beside the runtime's list). Also who must run `codex login`.
{
  util,
  inputs,
  kaiSubcommands,
}:
let
  inherit (builtins)
    concatMap
    concatStringsSep
    filter
    map
    replaceStrings
    ;
  inherit (util)
    sortStrings
    unique
    optional
    showList
    ;
  inherit (inputs)
    facts
    ;
in
rec {
  # In a sudoers command, `,` `:` and `=` must be escaped (a backslash is
  # refused by `validBinary`).
  sudoersEscape =
    replaceStrings
      [ "," ":" "=" ]
      [ "\\," "\\:" "\\=" ];

  # Per OS user other than the service user: exactly the binaries its users
  # need. Codex and the kai subcommands share one rule; claude gets
  # its own with `CWD=*`, because Claude Code works in its process's
  # directory, which only the agent's account can enter (`sudo -D`). The
  # agent can change directory anyway; the option widens nothing it could
  # not already do, and it applies to the claude binary alone.
  sudoCommands =
    cfg: os:
    let
      f = facts cfg;
      mine = filter (u: f.osUserOf u == os) cfg.users;
      on = b: builtins.any (u: f.effBackend u == b) mine;
    in
    {
      plain =
        map sudoersEscape (optional (on "codex") cfg.codex.binary)
        ++ map (sub: "${sudoersEscape cfg.kaiBin} ${sub} *") kaiSubcommands;
      inWorkspace = map sudoersEscape (optional (on "claude") cfg.claude.binary);
    };

  # NixOS `extraRules`: its `options` are tags only, so the claude command,
  # which needs the `CWD=*` option before its tags, is given as a string
  # (rendered verbatim).
  sudoRules =
    cfg:
    concatMap (
      os:
      let
        c = sudoCommands cfg os;
      in
      [
        {
          users = [ cfg.user ];
          runAs = os;
          commands = map (command: {
            inherit command;
            options = [
              "NOPASSWD"
              "SETENV"
            ];
          }) c.plain;
        }
      ]
      ++ map (command: {
        users = [ cfg.user ];
        runAs = os;
        commands = [ "CWD=* NOPASSWD:SETENV: ${command}" ];
      }) c.inWorkspace
    ) (facts cfg).sudoOsUsers;

  sudoersText =
    cfg:
    "# Kai: the service user runs each agent as its OS user (nixos-module/lib.nix).\n"
    + concatStringsSep "" (
      map (
        os:
        let
          c = sudoCommands cfg os;
        in
        "${cfg.user} ALL=(${os}) NOPASSWD:SETENV: ${showList c.plain}\n"
        + concatStringsSep "" (map (b: "${cfg.user} ALL=(${os}) CWD=* NOPASSWD:SETENV: ${b}\n") c.inWorkspace)
      ) (facts cfg).sudoOsUsers
    );

  # OS users whose Telegram users are on codex: each runs `codex login` once.
  loginUsers =
    cfg:
    let
      f = facts cfg;
    in
    sortStrings (unique (map f.osUserOf (f.usersOn "codex")));
}
