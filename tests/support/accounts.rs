//! Real OS accounts for the isolation tests: a service account and two
//! agent accounts (created once, reused by later runs), sudoers files
//! written to docs/design.md's contract, commands run as another account,
//! and the lock that lets one test at a time, in any process, use them.
//! Everything here needs root.

use std::os::fd::AsRawFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use kai::process::tree as proctree;

/// The account the daemon runs as.
pub const SERVICE: &str = "kaisvc";
/// The two agent accounts.
pub const AGENT_A: &str = "kaiagenta";
pub const AGENT_B: &str = "kaiagentb";

/// Every test that uses these accounts or /etc/sudoers.d holds this: the
/// sudoers rules are global and "no process of the agent accounts" must not
/// see another test's agents. Within one test binary; [`hold`] takes it
/// together with the lock that spans binaries.
static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The file whose exclusive `flock` spans processes. The accounts and
/// /etc/sudoers.d belong to the machine, not to one checkout, so the lock
/// does too: /run/lock (or /tmp where there is none), never the target dir.
fn lock_file() -> PathBuf {
    let dir = if Path::new("/run/lock").is_dir() {
        "/run/lock"
    } else {
        "/tmp"
    };
    Path::new(dir).join("kai-test-accounts.lock")
}

/// What a test holds while it uses the accounts: [`LOCK`] against the
/// other tests of its binary, and an exclusive `flock` on [`lock_file`]
/// against every other process (two test binaries run at once by nextest
/// or a developer, or the tests of another checkout): each would otherwise
/// remove the other's sudoers files and kill the other's agents. The
/// kernel drops the `flock` when the file closes, also when a test process
/// is killed, so a crash leaves no stale lock.
pub struct Held {
    _file: std::fs::File,
    _in_process: tokio::sync::MutexGuard<'static, ()>,
}

/// Waits for both locks; hold the result for the whole test.
pub async fn hold() -> Held {
    let in_process = LOCK.lock().await;
    // flock blocks: off the test's runtime, which serves its fakes.
    let file = tokio::task::spawn_blocking(|| {
        let path = lock_file();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            // A link planted in the shared /tmp must not redirect root.
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        loop {
            // SAFETY: flock(2) on a descriptor this closure owns.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return file;
            }
            let e = std::io::Error::last_os_error();
            assert!(
                e.kind() == std::io::ErrorKind::Interrupted,
                "cannot lock {}: {e}",
                path.display()
            );
        }
    })
    .await
    .unwrap();
    Held {
        _file: file,
        _in_process: in_process,
    }
}

/// Why the isolation tests cannot run here, if they cannot.
pub fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not running as root (CI runs these as root)".into());
    }
    for tool in ["/usr/bin/sudo", "/usr/sbin/visudo", "/usr/sbin/useradd"] {
        if !Path::new(tool).exists() {
            return Some(format!(
                "{tool} is missing (bash scripts/setup.sh installs sudo)"
            ));
        }
    }
    None
}

#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// The account `name`, created with a home directory if it does not exist yet.
pub fn ensure(name: &str) -> Account {
    if lookup(name).is_none() {
        let out = Command::new("useradd")
            .args(["--create-home", "--user-group", "--shell", "/bin/sh", name])
            .output()
            .unwrap();
        // Another process may have created it meanwhile: the lookup decides.
        if lookup(name).is_none() {
            panic!(
                "useradd {name} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let a = lookup(name).unwrap();
    std::fs::create_dir_all(&a.home).unwrap();
    chown(&a.home, &a, false);
    a
}

fn lookup(name: &str) -> Option<Account> {
    let out = Command::new("getent")
        .args(["passwd", name])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let f: Vec<&str> = line.split(':').collect();
    Some(Account {
        name: f.first()?.to_string(),
        uid: f.get(2)?.parse().ok()?,
        gid: f.get(3)?.parse().ok()?,
        home: PathBuf::from(f.get(5)?),
    })
}

pub fn chown(path: &Path, to: &Account, recursive: bool) {
    let mut cmd = Command::new("chown");
    if recursive {
        cmd.arg("-R");
    }
    let status = cmd
        .arg(format!("{}:{}", to.uid, to.gid))
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "chown {} failed", path.display());
}

/// A directory owned by `owner`, mode 0700 (what the NixOS module's
/// tmpfiles rules make for workspaces and per-account TMPDIRs).
pub fn own_dir(path: &Path, owner: &Account) {
    std::fs::create_dir_all(path).unwrap();
    chown(path, owner, false);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// Runs `program args` as `account` (real and effective ids, no
/// supplementary groups, nothing inherited but PATH), from `/`.
pub fn run_as(account: &Account, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .current_dir("/")
        .uid(account.uid)
        .gid(account.gid)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Escapes a path for a sudoers command (its special characters and blanks).
fn sudoers_escape(p: &Path) -> String {
    let mut out = String::new();
    for c in p.display().to_string().chars() {
        if matches!(
            c,
            ',' | ':' | '=' | '\\' | ' ' | '\t' | '#' | '(' | ')' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// docs/design.md's sudoers contract for one agent account: the service account
/// may run exactly CODEX_BIN and the kai subcommands (`<kai> reap *`,
/// `<kai> inbox-put *`, …) as it, with NOPASSWD and SETENV. No ALL, and no
/// wildcard but the subcommands' arguments.
pub fn contract_line(service: &str, agent: &str, codex: &Path, kai: &Path) -> String {
    let kai = kai::process::sudo::sudo_kai_commands(Path::new(&sudoers_escape(kai)));
    format!(
        "{service} ALL=({agent}) NOPASSWD:SETENV: {}, {}",
        sudoers_escape(codex),
        kai.join(", ")
    )
}

/// The contract's rule for the claude binary: the same grant, plus `CWD=*`
/// because Claude Code works in its process's directory, which only the
/// agent's account can enter (sudo `-D`).
pub fn claude_line(service: &str, agent: &str, claude: &Path) -> String {
    format!(
        "{service} ALL=({agent}) CWD=* NOPASSWD:SETENV: {}",
        sudoers_escape(claude)
    )
}

/// A file in /etc/sudoers.d, removed on drop.
pub struct SudoersFile {
    pub path: PathBuf,
}

impl SudoersFile {
    /// Writes `lines` to /etc/sudoers.d/kai-isolation-<tag>-<pid> (sudo skips
    /// names with a dot, so there is none), mode 0440, owned by root.
    pub fn write(tag: &str, lines: &[String]) -> SudoersFile {
        let path = PathBuf::from(format!(
            "/etc/sudoers.d/kai-isolation-{tag}-{}",
            std::process::id()
        ));
        let text = format!(
            "# Written by kai's tests/isolation.rs; removed when the test ends.\n{}\n",
            lines.join("\n")
        );
        // Written under another name first: sudo must never read half a file.
        let tmp = PathBuf::from(format!("/etc/sudoers.d/.kai-isolation-{tag}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o440)).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        SudoersFile { path }
    }

    /// `visudo -cf <file>`: exit status and what it printed.
    pub fn visudo_check(&self) -> Output {
        Command::new("visudo")
            .arg("-cf")
            .arg(&self.path)
            .output()
            .unwrap()
    }
}

impl Drop for SudoersFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes sudoers files a killed earlier run of these tests left behind
/// (they would grant rules a test expects to be missing).
pub fn remove_stale_sudoers() {
    if let Ok(dir) = std::fs::read_dir("/etc/sudoers.d") {
        for e in dir.flatten() {
            if e.file_name()
                .to_string_lossy()
                .starts_with("kai-isolation-")
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Pids of live processes whose real uid is `uid`.
pub fn processes_of(uid: u32) -> Vec<i32> {
    proctree::snapshot()
        .into_iter()
        .filter(|p| p.uid == uid)
        .map(|p| p.pid)
        .collect()
}

/// Kills what an earlier, interrupted run left under the test-only agent
/// accounts (a test that panics kills its daemon with SIGKILL, which can
/// orphan its agents), so "no process of the agent account" is meaningful.
pub fn kill_leftovers(accounts: &[&Account]) {
    for a in accounts {
        for pid in processes_of(a.uid) {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    for _ in 0..100 {
        if accounts.iter().all(|a| processes_of(a.uid).is_empty()) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `/proc/<pid>/status` Uid (real), `comm`, and the command line.
pub fn describe(pid: i32) -> Option<(u32, String, String)> {
    let uid = kai::process::tree::snapshot()
        .into_iter()
        .find(|p| p.pid == pid)?
        .uid;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()?
        .trim()
        .to_string();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .unwrap_or_default();
    Some((uid, comm, cmdline))
}
