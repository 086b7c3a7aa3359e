//! Running kai's helpers as an agent's account through sudo: the host's
//! sudo and kai binaries, the subcommands the sudoers contract grants, the
//! one builder for `sudo -n -u <account> <kai> <subcommand>`, and how to
//! tell sudo's refusal from an agent's crash.

use std::path::{Path, PathBuf};
use std::process::Stdio;

/// What does not change from one launch to the next on this host.
#[derive(Debug, Clone)]
pub struct Host {
    /// The sudo binary (the setuid wrapper on NixOS).
    pub sudo: PathBuf,
    /// This kai binary, run as `kai reap` to stop an agent of another account.
    pub reaper: PathBuf,
}

/// The kai subcommands the sudoers contract lets the service account run as
/// an agent's account, each as `<kai> <subcommand> *` (never the bare
/// binary): stopping an agent, moving files in and out of the workspace
/// and cleaning its inboxes (`files/access.rs`). `nixos-module/lib.nix` renders the same
/// list (`kaiSubcommands`).
pub const SUDO_SUBCOMMANDS: &[&str] = &[
    "reap",
    "inbox-put",
    "workspace-read",
    "workspace-ls",
    "project-dir",
    "inbox-clean",
];

/// The sudoers commands for those subcommands of the kai binary `kai`.
pub fn sudo_kai_commands(kai: &Path) -> Vec<String> {
    SUDO_SUBCOMMANDS
        .iter()
        .map(|sub| format!("{} {sub} *", kai.display()))
        .collect()
}

/// `sudo -n -u <os_user> <kai> <sub>`, one of [`SUDO_SUBCOMMANDS`], with
/// nothing of the daemon's environment but `PATH` (the helper needs no
/// secret); the caller adds the subcommand's arguments.
pub fn sudo_kai(sudo: &Path, os_user: &str, kai: &Path, sub: &str) -> std::process::Command {
    let mut c = std::process::Command::new(sudo);
    c.env_clear();
    if let Ok(path) = std::env::var("PATH") {
        c.env("PATH", path);
    }
    c.args(["-n", "-u", os_user]).arg(kai).arg(sub);
    c
}

/// `sudo -n -u <os_user> <kai> reap <pid>`: the one command the sudoers
/// contract grants for stopping an agent, used when stopping it and when
/// dropping it.
pub(super) fn reap_command(
    sudo: &Path,
    os_user: &str,
    reaper: &Path,
    pid: i32,
) -> std::process::Command {
    let mut c = sudo_kai(sudo, os_user, reaper, "reap");
    c.arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Whether sudo's stderr says it refused to run the command (as opposed to
/// the agent dying after it started). sudo has no machine-readable refusal,
/// so these are its messages for a missing or narrower rule.
pub fn is_sudo_refusal(stderr: &str) -> bool {
    [
        "a password is required",
        "not allowed to execute",
        "is not in the sudoers",
        "a terminal is required",
        // A claude rule without `CWD=*` (sudo -D refused).
        "use the -D option",
    ]
    .iter()
    .any(|s| stderr.contains(s))
}

/// Finds `sudo` the way an operator expects: the setuid wrapper on NixOS,
/// else the usual places, else PATH.
pub fn find_sudo() -> PathBuf {
    for p in ["/run/wrappers/bin/sudo", "/usr/bin/sudo", "/bin/sudo"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    PathBuf::from("sudo")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sudoers rules `lib.nix` renders and the runtime's list (the
    /// sudo advice, the tests' contract line) name the same subcommands.
    #[test]
    fn lib_nix_names_the_same_sudo_subcommands() {
        let lib = include_str!("../../nixos-module/lib.nix");
        let start = lib
            .find("kaiSubcommands = [")
            .expect("kaiSubcommands in lib.nix");
        let list = &lib[start..];
        let list = &list[..list.find("];").expect("the list ends")];
        let names: Vec<&str> = list.split('"').skip(1).step_by(2).collect();
        assert_eq!(names, SUDO_SUBCOMMANDS);
    }

    #[test]
    fn sudo_refusals_are_told_from_agent_crashes() {
        assert!(is_sudo_refusal("sudo: a password is required"));
        assert!(is_sudo_refusal(
            "Sorry, user kai is not allowed to execute '/bin/codex app-server' as alice on host."
        ));
        assert!(is_sudo_refusal(
            "sudo: you are not permitted to use the -D option with /usr/bin/claude"
        ));
        assert!(!is_sudo_refusal("Error: thread panicked at codex-rs/core"));
    }
}
