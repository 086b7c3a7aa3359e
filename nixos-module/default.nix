# The NixOS module, without a default for services.kai.package; the flake's
# nixosModules.default sets it to the flake's own package.
{
  imports = [ ./nixos ];
}
