//! Account lookups through the C library (`nix`'s safe wrappers around
//! getpwnam_r/getpwuid_r), so Kai sees exactly the accounts `sudo` sees,
//! NSS included, rather than parsing `/etc/passwd` itself.

use std::path::PathBuf;

use nix::unistd::{Uid, User};

/// What Kai needs to know about an OS account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub home: PathBuf,
}

impl From<User> for Account {
    fn from(u: User) -> Self {
        Account {
            name: u.name,
            uid: u.uid.as_raw(),
            home: u.dir,
        }
    }
}

/// The account the daemon runs as.
pub fn current() -> Option<Account> {
    User::from_uid(Uid::current())
        .ok()
        .flatten()
        .map(Account::from)
}

/// Looks an account up by name; `None` when it does not exist (or the name
/// could never be one, e.g. it holds a NUL byte).
pub fn by_name(name: &str) -> Option<Account> {
    if name.contains('\0') {
        return None;
    }
    User::from_name(name).ok().flatten().map(Account::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_root_and_the_current_account() {
        let root = by_name("root").expect("root exists");
        assert_eq!(root.uid, 0);
        let me = current().expect("current account");
        assert_eq!(by_name(&me.name).map(|a| a.uid), Some(me.uid));
        assert_eq!(by_name("no-such-user-kai-test"), None);
        assert_eq!(by_name("nul\0byte"), None);
    }
}
