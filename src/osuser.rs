//! Account lookups through the C library, so Kai sees exactly the accounts
//! `sudo` sees (NSS included) rather than parsing `/etc/passwd` itself.

use std::ffi::{CStr, CString};
use std::path::PathBuf;

/// What Kai needs to know about an OS account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub home: PathBuf,
}

/// The account the daemon runs as.
pub fn current() -> Option<Account> {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    lookup(|pwd, buf, len, result| unsafe { libc::getpwuid_r(uid, pwd, buf, len, result) })
}

/// Looks an account up by name; `None` when it does not exist.
pub fn by_name(name: &str) -> Option<Account> {
    let cname = CString::new(name).ok()?;
    lookup(|pwd, buf, len, result| unsafe {
        libc::getpwnam_r(cname.as_ptr(), pwd, buf, len, result)
    })
}

fn lookup<F>(call: F) -> Option<Account>
where
    F: Fn(
        *mut libc::passwd,
        *mut libc::c_char,
        libc::size_t,
        *mut *mut libc::passwd,
    ) -> libc::c_int,
{
    let mut size = 1024usize;
    loop {
        let mut buf = vec![0 as libc::c_char; size];
        // SAFETY: passwd is plain old data; the C library fills it in and
        // points its strings into `buf`, which outlives every read below.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = call(&mut pwd, buf.as_mut_ptr(), size, &mut result);
        if rc == libc::ERANGE && size < 1 << 20 {
            size *= 4;
            continue;
        }
        if rc != 0 || result.is_null() {
            return None;
        }
        // SAFETY: on success pw_name and pw_dir are NUL-terminated strings in buf.
        let (name, home) = unsafe {
            (
                CStr::from_ptr(pwd.pw_name).to_string_lossy().into_owned(),
                CStr::from_ptr(pwd.pw_dir).to_string_lossy().into_owned(),
            )
        };
        return Some(Account {
            name,
            uid: pwd.pw_uid,
            home: PathBuf::from(home),
        });
    }
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
