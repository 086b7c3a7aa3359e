//! Inbox cleaning end to end (`INBOX_RETENTION_DAYS`), with the built
//! `kai`: files planted in the inboxes with old and new modification times
//! before a start, and after it the old ones gone, the new ones and
//! everything outside an inbox kept. Once in single-account mode (the
//! cleaning in-process), once as root with real accounts, where only the
//! user's account can delete the file, so its removal proves the rendered
//! sudo rule ran `kai inbox-clean` as that account.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use support::accounts::{self, SudoersFile, AGENT_A, AGENT_B, SERVICE};
use support::kai::{Kai, Options, ALICE, BOB};

const OLD: Duration = Duration::from_secs(3 * 86_400);
const NEW: Duration = Duration::from_secs(3600);

fn retention_one_day() -> Vec<(String, String)> {
    vec![("INBOX_RETENTION_DAYS".into(), "1".into())]
}

/// A file at `path` last modified `age` ago (its folders made first).
fn plant(path: &Path, age: Duration) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, b"sent a while ago").unwrap();
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - age).unwrap();
}

/// Stops the daemon (its first start made the data dir), lets `prepare`
/// plant files, and starts it again: the cleaning runs after READY.
fn restart_after(kai: &mut Kai, prepare: impl FnOnce(&Kai)) {
    assert!(
        kai.stop(libc::SIGTERM, Duration::from_secs(20)).is_some(),
        "kai did not stop\n{}",
        kai.log()
    );
    prepare(kai);
    kai.spawn();
}

async fn wait_gone(kai: &Kai, paths: &[PathBuf]) {
    let gone = support::poll_until(Duration::from_secs(30), || {
        paths.iter().all(|p| !p.exists()).then_some(())
    })
    .await;
    assert!(
        gone.is_some(),
        "not removed: {:?}\n{}",
        paths.iter().filter(|p| p.exists()).collect::<Vec<_>>(),
        kai.log()
    );
}

/// In single-account mode: the workspace's inbox and a project's are
/// cleaned of files older than a day; newer files, a file in a folder of
/// the inbox and files outside any inbox stay, and the log says how many
/// went for whom.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_inbox_files_are_removed_at_start_and_nothing_else() {
    let mut kai = Kai::start(Options {
        extra_env: retention_one_day(),
        ..Options::default()
    })
    .await;
    let ws = kai.path("data/home/alice");
    let old = [ws.join("inbox/old.pdf"), ws.join("api/inbox/old.txt")];
    let kept = [
        ws.join("inbox/new.pdf"),
        ws.join("api/inbox/new.txt"),
        ws.join("inbox/folder/old.txt"),
        ws.join("old-notes.txt"),
        ws.join("api/old-source.rs"),
    ];
    restart_after(&mut kai, |_| {
        for p in &old {
            plant(p, OLD);
        }
        plant(&kept[0], NEW);
        plant(&kept[1], NEW);
        for p in &kept[2..] {
            plant(p, OLD);
        }
    });
    wait_gone(&kai, &old).await;
    for p in &kept {
        assert!(p.exists(), "{} was removed\n{}", p.display(), kai.log());
    }
    let logged = support::poll_until(Duration::from_secs(10), || {
        let log = kai.log();
        log.lines()
            .find(|l| l.contains("removed 2 file(s)") && l.contains("alice"))
            .map(str::to_string)
    })
    .await;
    assert!(logged.is_some(), "no count in the log\n{}", kai.log());
}

/// As root: the daemon runs as `kaisvc`, alice's agent account is
/// `kaiagenta`, bob's `kaiagentb`, the sudoers rule is the contract's
/// (`sudo_kai_commands`, which `lib.nix` renders the same). Each old file
/// sits in a 0700 inbox of its account, which `kaisvc` cannot even enter:
/// only `sudo -u <account> kai inbox-clean` can remove it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inboxes_are_cleaned_as_each_users_account() {
    let test = "inboxes_are_cleaned_as_each_users_account";
    if let Some(why) = accounts::unavailable() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test} cannot run in CI: {why}"
        );
        println!("SKIPPED {test}: {why}");
        return;
    }
    let _lock = accounts::hold().await;
    accounts::remove_stale_sudoers();
    let svc = accounts::ensure(SERVICE);
    let a = accounts::ensure(AGENT_A);
    let b = accounts::ensure(AGENT_B);
    accounts::kill_leftovers(&[&a, &b]);
    let codex = support::codex_home::codex_bin();
    let kai_bin = PathBuf::from(env!("CARGO_BIN_EXE_kai"));
    let _sudoers = SudoersFile::write(
        "inbox-clean",
        &[
            accounts::contract_line(&svc.name, &a.name, &codex, &kai_bin),
            accounts::contract_line(&svc.name, &b.name, &codex, &kai_bin),
        ],
    );
    let mut kai = Kai::start(Options {
        users: vec![("alice", ALICE), ("bob", BOB)],
        os_users: vec![(ALICE, a.name.clone()), (BOB, b.name.clone())],
        run_as: Some(svc.name.clone()),
        extra_env: retention_one_day(),
        ..Options::default()
    })
    .await;
    let (alice, bob) = (kai.path("data/home/alice"), kai.path("data/home/bob"));
    let old = [alice.join("inbox/old.pdf"), bob.join("web/inbox/old.txt")];
    let new = [alice.join("inbox/new.pdf"), bob.join("web/inbox/new.txt")];
    restart_after(&mut kai, |_| {
        for ((ws, account), (o, n)) in [(&alice, &a), (&bob, &b)]
            .into_iter()
            .zip(old.iter().zip(&new))
        {
            plant(o, OLD);
            plant(n, NEW);
            accounts::chown(ws, account, true);
            for dir in [ws.clone(), o.parent().unwrap().to_path_buf()] {
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
            }
            if let Some(project) = o.parent().and_then(Path::parent).filter(|p| p != ws) {
                std::fs::set_permissions(project, std::fs::Permissions::from_mode(0o700)).unwrap();
            }
        }
        // The service account cannot remove them itself.
        let out = accounts::run_as(&svc, "/bin/rm", &["-f", &old[0].display().to_string()]);
        assert!(
            !out.status.success() && old[0].exists(),
            "kaisvc removed it"
        );
    });
    wait_gone(&kai, &old).await;
    for p in &new {
        assert!(p.exists(), "{} was removed\n{}", p.display(), kai.log());
    }
    // The count is logged after the helper has removed the file: wait for it.
    for account in [&a.name, &b.name] {
        let logged = support::poll_until(Duration::from_secs(10), || {
            kai.log()
                .lines()
                .any(|l| l.contains("removed 1 file(s)") && l.contains(account.as_str()))
                .then_some(())
        })
        .await;
        assert!(
            logged.is_some(),
            "no removal logged for {account}\n{}",
            kai.log()
        );
    }
}
