# The kai binary. Only what the build reads is in the source, so editing the
# docs, the modules or the tests does not rebuild it.
{
  lib,
  rustPlatform,
}:
let
  cargoToml = lib.importTOML ../Cargo.toml;
in
rustPlatform.buildRustPackage {
  pname = "kai";
  inherit (cargoToml.package) version;

  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../Cargo.toml
      ../Cargo.lock
      ../catalog.json
      ../src
      # Cargo.toml names the bench target; cargo refuses a manifest whose
      # target file is missing, even when it builds only the binary.
      ../benches
    ];
  };

  cargoLock.lockFile = ../Cargo.lock;

  # Only the library's unit tests (`--lib`: catalog, env file, users file,
  # framing, process trees; they live in the library, so `--bins` would run
  # none). The integration tests in tests/ drive the real npm
  # codex and claude CLIs, sudo and real OS accounts, which a build sandbox
  # does not have; tests/ is not even part of this source. They run in CI
  # (.ci/run) and, for the system as a whole, in the VM tests.
  cargoTestFlags = [ "--lib" ];

  meta = {
    description = "Self-hosted Telegram gateway to coding-agent CLIs (Codex, Claude Code)";
    license = lib.licenses.mit;
    mainProgram = "kai";
    platforms = lib.platforms.linux ++ lib.platforms.darwin;
  };
}
