//! Finding and killing every process an agent started. The npm codex is a
//! node wrapper around a native binary that itself runs shell tools, so
//! killing the direct child is not enough: the whole tree goes, and
//! processes that left the tree but kept its process group go too.
//!
//! The same code runs in the daemon (agents under its own account) and in
//! `kai reap` run through sudo as the agent's account (agents under another
//! account, which the daemon may not signal itself).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// What the process table tells about one live process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: i32,
    pub ppid: i32,
    pub pgid: i32,
    pub uid: u32,
}

/// The daemon's own account, whose processes it may signal itself.
pub fn current_uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

/// A snapshot of every visible live process: `/proc` on Linux (no process
/// to start, and it works where `ps` is missing), `ps` elsewhere (macOS has
/// no `/proc`).
pub fn snapshot() -> Vec<ProcInfo> {
    #[cfg(target_os = "linux")]
    {
        proc_snapshot()
    }
    #[cfg(not(target_os = "linux"))]
    {
        ps_snapshot()
    }
}

/// The snapshot from `/proc`.
pub fn proc_snapshot() -> Vec<ProcInfo> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(read_info)
        .collect()
}

/// The snapshot from POSIX `ps` (the same columns on macOS and Linux).
pub fn ps_snapshot() -> Vec<ProcInfo> {
    let ps = ["/bin/ps", "/usr/bin/ps"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("ps");
    let out = std::process::Command::new(ps)
        .args(["-A", "-o", "pid=,ppid=,pgid=,uid=,stat="])
        .env_clear()
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match out {
        Ok(o) => parse_ps(&String::from_utf8_lossy(&o.stdout)),
        Err(e) => {
            tracing::error!("cannot list processes with {ps}: {e}");
            Vec::new()
        }
    }
}

/// `ps -o pid=,ppid=,pgid=,uid=,stat=` lines; zombies and lines that do not
/// parse are left out.
fn parse_ps(text: &str) -> Vec<ProcInfo> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let info = ProcInfo {
                pid: f.next()?.parse().ok()?,
                ppid: f.next()?.parse().ok()?,
                pgid: f.next()?.parse().ok()?,
                uid: f.next()?.parse().ok()?,
            };
            let state = f.next().unwrap_or_default();
            (!state.starts_with('Z')).then_some(info)
        })
        .collect()
}

fn read_info(pid: i32) -> Option<ProcInfo> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start
    // after the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    let ppid = fields.next()?.parse().ok()?;
    let pgid = fields.next()?.parse().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(ProcInfo {
        pid,
        ppid,
        pgid,
        uid,
    })
}

/// The root, its descendants, and members of its process group.
pub fn tree(procs: &[ProcInfo], root: i32) -> BTreeSet<i32> {
    let mut children: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for p in procs {
        children.entry(p.ppid).or_default().push(p.pid);
    }
    let mut found = BTreeSet::new();
    let mut stack = vec![root];
    stack.extend(procs.iter().filter(|p| p.pgid == root).map(|p| p.pid));
    while let Some(pid) = stack.pop() {
        if procs.iter().any(|p| p.pid == pid) && found.insert(pid) {
            stack.extend(children.get(&pid).into_iter().flatten().copied());
        }
    }
    found
}

/// Kills the tree rooted at `root`, limited to processes of `uid` (the
/// account this runs as can signal nothing else anyway). Members are stopped
/// first and the tree rescanned until it stops growing, so a process forked
/// between the scan and the kill cannot escape. Returns how many it killed.
pub fn kill_tree(root: i32, uid: u32) -> usize {
    let mut stopped = BTreeSet::new();
    for _ in 0..20 {
        let procs = snapshot();
        let mine: BTreeSet<i32> = tree(&procs, root)
            .into_iter()
            .filter(|pid| procs.iter().any(|p| p.pid == *pid && p.uid == uid))
            .collect();
        let new: Vec<i32> = mine.difference(&stopped).copied().collect();
        if new.is_empty() {
            break;
        }
        for pid in new {
            signal(pid, Signal::SIGSTOP);
            stopped.insert(pid);
        }
    }
    for pid in &stopped {
        signal(*pid, Signal::SIGKILL);
    }
    stopped.len()
}

/// True while any process of `uid` remains in the tree of `root`.
pub fn alive(root: i32, uid: u32) -> bool {
    let procs = snapshot();
    tree(&procs, root)
        .iter()
        .any(|pid| procs.iter().any(|p| p.pid == *pid && p.uid == uid))
}

/// Waits (bounded) until the tree of `root` has no process of `uid`.
pub async fn wait_gone(root: i32, uid: u32, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while alive(root, uid) {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

fn signal(pid: i32, sig: Signal) {
    // A pid that exited meanwhile yields ESRCH, which is what we want to
    // ignore; anything else we could not signal is not ours to stop.
    let _ = kill(Pid::from_raw(pid), sig);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: i32, ppid: i32, pgid: i32) -> ProcInfo {
        ProcInfo {
            pid,
            ppid,
            pgid,
            uid: 1,
        }
    }

    impl ProcInfo {
        fn with_uid(self, uid: u32) -> Self {
            ProcInfo { uid, ..self }
        }
    }

    #[test]
    fn tree_follows_children_and_the_process_group() {
        let procs = [
            p(1, 0, 1),
            p(10, 1, 10),
            p(11, 10, 10),
            p(12, 11, 12),
            p(13, 1, 10),
            p(14, 1, 14),
            p(15, 13, 15),
        ];
        let t: Vec<i32> = tree(&procs, 10).into_iter().collect();
        assert_eq!(t, vec![10, 11, 12, 13, 15]);
        assert!(tree(&procs, 99).is_empty());
    }

    #[test]
    fn ps_lines_parse_and_zombies_are_left_out() {
        let text = "    1     0     1     0 Ss\n  200     1   200   501 S+\n  201   200   200   501 Z+\ngarbage\n";
        assert_eq!(
            parse_ps(text),
            vec![p(1, 0, 1).with_uid(0), p(200, 1, 200).with_uid(501)]
        );
    }

    /// The `ps` listing (what macOS uses) sees what `/proc` sees, checked
    /// where both exist.
    #[cfg(target_os = "linux")]
    #[test]
    fn ps_and_proc_agree() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let me = std::process::id() as i32;
        let find = |procs: Vec<ProcInfo>| procs.into_iter().find(|p| p.pid == pid);
        let (from_ps, from_proc) = (find(ps_snapshot()), find(proc_snapshot()));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(from_ps.is_some(), "ps did not list {pid}");
        assert_eq!(from_ps, from_proc);
        assert_eq!(from_ps.map(|p| p.ppid), Some(me));
    }

    #[test]
    fn kills_a_real_tree_including_grandchildren() {
        use std::os::unix::process::CommandExt;
        // `(sleep 60 &)` double-forks out of the tree: only the process
        // group still ties it to the agent.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 60 & (sleep 60 &) ; sleep 60"])
            .process_group(0)
            .spawn()
            .unwrap();
        let root = child.id() as i32;
        let uid = nix::unistd::getuid().as_raw();
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            tree(&snapshot(), root).len() >= 4,
            "{:?}",
            tree(&snapshot(), root)
        );
        assert!(kill_tree(root, uid) >= 4);
        child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert!(!alive(root, uid));
    }
}
