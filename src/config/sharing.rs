//! Rules across users, checked once every user is resolved: what two users
//! may not share. lib.nix says the same in option paths
//! (`nixos-module/lib/validate.nix`), and `tests/nix/errors/` holds a case
//! for each that both refuse.

use super::problem::Origin;
use super::{Checker, User};

/// Agents never run as the service account while it can sudo: such an
/// agent could read the bot token and use the service account's sudo
/// rules to run agents as every other account. Either no user is on the
/// service account, or all are (single-account mode, no sudo at all).
pub(super) fn account_rule(
    c: &mut Checker,
    users: &[User],
    index: &[usize],
    origin: &Origin,
    service: &str,
) {
    let others: Vec<String> = users
        .iter()
        .filter(|u| !u.is_service_user)
        .map(|u| format!("`{}` ({})", u.name, u.os_user))
        .collect();
    if others.is_empty() {
        return;
    }
    for (u, i) in users.iter().zip(index).filter(|(u, _)| u.is_service_user) {
        c.problem(
            &format!("users[{i}].os_user"),
            origin.clone(),
            format!(
                "user `{}` would run their agent as the service account `{service}`, which holds \
                 the sudo rights to run the agents of {}; give `{}` an OS account of their own \
                 (an unprivileged one, not `{service}`), or run every agent as `{service}` \
                 (single-account mode: every os_user null)",
                u.name,
                others.join(", "),
                u.name
            ),
        );
    }
}

/// A workspace belongs to one OS account: it is created 0700 for that
/// account, so another account's agent could not enter it, or (created for
/// the other) would be locked out of its own. Users of one account may
/// share one.
pub(super) fn workspace_rule(c: &mut Checker, users: &[User], index: &[usize], origin: &Origin) {
    for (n, (u, i)) in users.iter().zip(index).enumerate() {
        let Some(first) = users[..n]
            .iter()
            .find(|o| o.workspace == u.workspace && o.os_user != u.os_user)
        else {
            continue;
        };
        c.problem(
            &format!("users[{i}].workspace"),
            origin.clone(),
            format!(
                "user `{}` (OS account `{}`) would share the workspace `{}` with `{}` (OS account \
                 `{}`); a workspace belongs to one OS account: give `{}` a workspace of their own",
                u.name,
                u.os_user,
                u.workspace.display(),
                first.name,
                first.os_user,
                u.name
            ),
        );
    }
}
