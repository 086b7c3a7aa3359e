# The directories the modules create for the data dir, the workspaces and
# the per-account tmp dirs, and their tmpfiles.d lines.
{ util, inputs }:
let
  inherit (builtins)
    concatMap
    concatStringsSep
    filter
    head
    map
    toJSON
    ;
  inherit (util)
    sortStrings
    unique
    ;
  inherit (inputs)
    facts
    ;
in
{
  # Directories the modules create (tmpfiles on NixOS, activation on darwin),
  # sorted by path. The data dir is 0711 so OS users can traverse to their
  # workspace and tmp dir inside it without being able to list it.
  directories =
    cfg:
    let
      f = facts cfg;
      groupOf = os: if os == cfg.user then cfg.group else cfg.osGroups.${os} or "-";
      dir = path: user: group: mode: { inherit path user group mode; };
      serviceDir = path: dir path cfg.user cfg.group "0711";
      ownDir = os: path: dir path os (groupOf os) "0700";
      workspaces = map (u: ownDir (f.osUserOf u) (f.workspaceOf u)) cfg.users;
      tmps = map (os: ownDir os "${cfg.dataDir}/tmp/${os}") f.osUsers;
      # Declared projects, inside their user's workspace (`/project NAME`).
      projects = concatMap (
        u: map (p: ownDir (f.osUserOf u) "${f.workspaceOf u}/${p}") u.projects
      ) cfg.users;
      all = [
        (serviceDir cfg.dataDir)
        (serviceDir "${cfg.dataDir}/home")
        (serviceDir "${cfg.dataDir}/tmp")
      ]
      ++ workspaces
      ++ projects
      ++ tmps;
      paths = sortStrings (unique (map (d: d.path) all));
    in
    map (p: head (filter (d: d.path == p) all)) paths;

  # tmpfiles.d lines for `directories` (what NixOS writes from
  # systemd.tmpfiles.settings, and what tests/systemd applies with
  # `systemd-tmpfiles --create`). Paths are quoted: a workspace may hold a space.
  tmpfilesText =
    dirs:
    concatStringsSep "" (
      map (d: "d ${toJSON d.path} ${d.mode} ${d.user} ${d.group} -\n") dirs
    );
}
