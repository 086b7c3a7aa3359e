# Pure renderers and validation shared by the NixOS and nix-darwin modules.
#
# Builtins only (no nixpkgs, no import-from-derivation), so everything here can
# be evaluated with a bare `nix-instantiate --eval --strict --json`; see
# tests/nix/check.sh. The same input always renders byte-identical files.
#
# Each concern has its file under nixos-module/lib/: util.nix (helpers),
# normalize.nix (defaults, derived facts), validate.nix (what is refused),
# files.nix (env and users.json), sudoers.nix, directories.nix and unit.nix
# (the systemd service), whisper.nix (the local transcription server). This
# file ties them together.
#
# Entry points:
#   validate input -> [ "error message" ... ]   (never throws on well-typed input)
#   render input   -> { env usersJson sudoers sudoRules loginUsers directories tmpfiles ... }
#                     (throws with every validation error when there are any)
#   renderFiles input -> { env usersJson }, unvalidated (for the parity tests)
#   service input  -> { description wantedBy wants after serviceConfig }: the
#                     systemd service (NixOS options; needs telegram.tokenFile)
#   unitFile svc   -> that service as a unit file (INI text)
#   whisperService {server ffmpeg modelFile port threads language}
#                  -> the local whisper.cpp server's systemd service;
#                     localUrl port -> kai's TRANSCRIBE_URL for it
#
# `input` is the resolved form of the `services.kai` options (see `normalize`).
{
  catalog ? builtins.fromJSON (builtins.readFile ../catalog.json),
}:
let
  inherit (builtins)
    concatStringsSep
    elem
    filter
    map
    sort
    ;
  util = import ./lib/util.nix;
  inherit (util) unique;
  inputs = import ./lib/normalize.nix { inherit catalog util; };
  inherit (inputs) backends normalize facts;
  checks = import ./lib/validate.nix { inherit catalog util inputs; };
  inherit (checks) modelError validate;
  files = import ./lib/files.nix { inherit catalog util inputs; };
  inherit (files) envKeys renderEnvFile renderFiles;
  sudo = import ./lib/sudoers.nix { inherit util inputs kaiSubcommands; };
  inherit (sudo) sudoersEscape;
  dirs = import ./lib/directories.nix { inherit util inputs; };
  unit = import ./lib/unit.nix { inherit util inputs; };
  inherit (unit) exitConfig service unitFile;
  whisper = import ./lib/whisper.nix { };

  # The kai subcommands the service account runs as an agent's account,
  # each named (`<kai> reap *`), never the bare binary: `reap` stops an
  # agent; `inbox-put`, `workspace-read` and `workspace-ls` move files in
  # and out of the workspace, which only that account can enter;
  # `project-dir` makes and lists projects; `inbox-clean` removes the
  # inboxes' files older than INBOX_RETENTION_DAYS. The `*`
  # stands for their arguments (a pid, a workspace and a path); the
  # subcommand fixes what they can do. Kept equal to
  # `agent::process::SUDO_SUBCOMMANDS`.
  kaiSubcommands = [
    "reap"
    "inbox-put"
    "workspace-read"
    "workspace-ls"
    "project-dir"
    "inbox-clean"
  ];

  # The dedicated agent account, when some user's agent runs as it. Needs no
  # valid input (the modules create the account even while an assertion
  # fails elsewhere), so it never throws.
  agentAccount =
    input:
    let
      cfg = normalize input;
    in
    if cfg.agentUser != null && elem cfg.agentUser (facts cfg).osUsers then cfg.agentUser else null;

  render =
    input:
    let
      errors = validate input;
      cfg = normalize input;
      f = facts cfg;
    in
    if errors != [ ] then
      throw ("kai configuration is invalid:\n- " + concatStringsSep "\n- " errors)
    else
      renderFiles input
      // {
        sudoers = sudo.sudoersText cfg;
        sudoRules = sudo.sudoRules cfg;
        loginUsers = sudo.loginUsers cfg;
        directories = dirs.directories cfg;
        tmpfiles = dirs.tmpfilesText (dirs.directories cfg);
        inherit (f) osUsers sudoOsUsers;
        agentUser = agentAccount input;
        workspaces = sort builtins.lessThan (unique (map f.workspaceOf cfg.users));
        backendsInUse = filter f.uses backends;
      };
in
{
  inherit
    catalog
    backends
    envKeys
    modelError
    normalize
    validate
    render
    agentAccount
    service
    unitFile
    exitConfig
    renderEnvFile
    renderFiles
    sudoersEscape
    ;
  inherit (whisper) whisperService localUrl inferencePath;
}
