# Everything tests/systemd/run.sh installs into the container, rendered by
# lib.nix from the golden case tests/nix/cases/systemd (so what boots is what
# check.sh compares byte for byte), plus the fakes' units and the agents'
# codex configuration from vm-tests/lib/fakes.nix, shared with the VM tests.
#   nix-instantiate --eval --strict --json tests/systemd/render.nix
let
  kaiLib = import ../../nixos-module/lib.nix { };
  fakes = import ../../vm-tests/lib/fakes.nix;
  input = import ../nix/cases/systemd/input.nix;
  r = kaiLib.render input;
  fakeUnit =
    what: script: port:
    kaiLib.unitFile (fakes.service "Kai test: fake ${what}" "/usr/local/bin/${script}" port);
in
# The case and the fakes must agree on where the token and the Bot API are.
assert input.telegram.tokenFile == fakes.tokenFile;
assert input.telegram.apiUrl == "http://127.0.0.1:${toString fakes.telegramPort}";
{
  env = r.env;
  "users.json" = r.usersJson;
  sudoers = r.sudoers;
  "tmpfiles.conf" = r.tmpfiles;
  "kai.service" = kaiLib.unitFile (kaiLib.service input);
  "fake-telegram.service" = fakeUnit "Telegram Bot API" "fake-telegram" fakes.telegramPort;
  "fake-models.service" = fakeUnit "model APIs" "fake-models" fakes.modelsPort;
  "codex-config.toml" = fakes.codexConfig;
  # "<account> <home>" per agent account, for useradd.
  accounts = builtins.concatStringsSep "" (map (u: "${u} ${input.osHomes.${u}}\n") r.osUsers);
  inherit (fakes) token tokenFile;
  # Who is who, for the scenarios: Telegram id, account, workspace.
  "scenario.json" = builtins.toJSON {
    inherit (fakes) token tokenFile;
    inherit (r) agentUser;
    dataDir = "/var/lib/kai";
    users = map (
      name:
      let
        u = input.users.${name};
      in
      {
        inherit name;
        telegramId = u.telegramId;
        account = u.osUser or r.agentUser;
        workspace = "/var/lib/kai/home/${name}";
      }
    ) (builtins.attrNames input.users);
  };
}
