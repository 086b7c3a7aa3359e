# Small helpers over builtins, shared by the files of nixos-module/lib.nix
# (nixpkgs' lib is not available there: builtins only).
let
  inherit (builtins)
    concatStringsSep
    elem
    foldl'
    isString
    match
    replaceStrings
    sort
    stringLength
    substring
    toJSON
    ;
in
rec {
  sortStrings = sort builtins.lessThan;
  unique = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];
  hasPrefix = prefix: s: substring 0 (stringLength prefix) s == prefix;
  optional = cond: x: if cond then [ x ] else [ ];
  optionals = cond: xs: if cond then xs else [ ];
  optionalAttrs = cond: as: if cond then as else { };
  quote = s: "`${s}`";
  showList = xs: concatStringsSep ", " xs;
  nixString = s: toJSON s; # a Nix string literal for messages ("..." with escapes)

  upper = [ "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" ];
  lower = [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" ];
  toLower = replaceStrings upper lower;

  hasNewline = s: match "[^\n\r]*" s == null;
  isAbsolute = s: isString s && hasPrefix "/" s && !hasNewline s;
}
