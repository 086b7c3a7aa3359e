//! Per-user OS isolation (issue 3), with real accounts: the daemon runs as a
//! service account (`kaisvc`), two Telegram users are mapped to two agent
//! accounts (`kaiagenta`, `kaiagentb`), and sudo is configured exactly as
//! docs/design.md's sudoers contract says. The real codex CLI answers through the
//! loopback fakes. Needs root and the Debian `sudo` package (CI has both,
//! and with CI=true a missing one fails the test); anywhere else each test
//! prints why it is skipped and passes.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use kai::process::tree as proctree;
use support::accounts::{self, Account, SudoersFile, AGENT_A, AGENT_B, SERVICE};
use support::codex_home;
use support::kai::{Kai, Options, ALICE, BOB};

/// What every test shares: the accounts, the exact binaries the sudoers
/// rules name, and the lock that serialises tests touching /etc/sudoers.d.
struct Env {
    _lock: accounts::Held,
    svc: Account,
    a: Account,
    b: Account,
    codex: PathBuf,
    kai: PathBuf,
}

impl Env {
    async fn new(test: &str) -> Option<Env> {
        if let Some(why) = accounts::unavailable() {
            // CI runs as root with sudo installed: there, a skip would hide
            // that the isolation promise went unchecked.
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test} cannot run in CI: {why}"
            );
            println!("SKIPPED {test}: {why}");
            return None;
        }
        let lock = accounts::hold().await;
        accounts::remove_stale_sudoers();
        let svc = accounts::ensure(SERVICE);
        let a = accounts::ensure(AGENT_A);
        let b = accounts::ensure(AGENT_B);
        accounts::kill_leftovers(&[&a, &b]);
        // Homes private to their account, as NixOS makes them (homeMode 700).
        for acc in [&a, &b] {
            std::fs::set_permissions(&acc.home, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let codex = codex_home::codex_bin();
        let kai = PathBuf::from(env!("CARGO_BIN_EXE_kai"));
        assert!(
            codex.exists(),
            "{} is missing: run bash scripts/setup.sh",
            codex.display()
        );
        // The agent accounts must be able to run both binaries at all (every
        // directory above them traversable): otherwise every failure below
        // would be about file modes, not sudo.
        for (bin, arg) in [(&codex, "--version"), (&kai, "--help")] {
            let out = accounts::run_as(&a, bin, &[arg]);
            assert!(
                out.status.success(),
                "{} cannot run {} (are its directories world-traversable?): {}",
                a.name,
                bin.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Some(Env {
            _lock: lock,
            svc,
            a,
            b,
            codex,
            kai,
        })
    }

    fn line(&self, agent: &Account) -> String {
        accounts::contract_line(&self.svc.name, &agent.name, &self.codex, &self.kai)
    }

    /// `sudo …` run as the service account.
    fn sudo_as_service(&self, args: &[&str]) -> std::process::Output {
        accounts::run_as(&self.svc, "/usr/bin/sudo", args)
    }

    /// The daemon as the service account, alice → kaiagenta, bob →
    /// kaiagentb, each agent account with a codex home pointing at the fake
    /// and its workspace and TMPDIR made as the NixOS module would.
    async fn start_daemon(&self) -> Kai {
        self.start_daemon_with(Vec::new(), None).await
    }

    /// The same, with extra variables in the daemon's environment and its
    /// umask set.
    async fn start_daemon_with(&self, extra_env: Vec<(String, String)>, umask: Option<u32>) -> Kai {
        let kai = Kai::start(Options {
            users: vec![("alice", ALICE), ("bob", BOB)],
            os_users: vec![(ALICE, self.a.name.clone()), (BOB, self.b.name.clone())],
            run_as: Some(self.svc.name.clone()),
            extra_env,
            umask,
            ..Options::default()
        })
        .await;
        for (account, user) in [(&self.a, "alice"), (&self.b, "bob")] {
            let home = account.home.join(".codex");
            let _ = std::fs::remove_dir_all(&home);
            codex_home::write_codex_home(&home, &kai.api.base_url(), true).unwrap();
            accounts::chown(&home, account, true);
            accounts::own_dir(&kai.path("data/home").join(user), account);
            accounts::own_dir(&kai.path("data/tmp").join(&account.name), account);
        }
        kai
    }
}

/// Checks that every process of the agent tree below `root` (sudo itself
/// aside) runs as `owner`, never as `other`, and that both the node wrapper
/// and the native codex binary are among them.
fn assert_tree_owned_by(root: i32, owner: &Account, other: &Account) {
    let procs = proctree::snapshot();
    let tree = proctree::tree(&procs, root);
    let mut seen = Vec::new();
    for pid in &tree {
        let Some((uid, comm, cmdline)) = accounts::describe(*pid) else {
            continue;
        };
        seen.push(format!("{pid} uid={uid} comm={comm} {cmdline}"));
    }
    let report = seen.join("\n");
    println!("agent tree of {}:\n{report}", owner.name);
    let mut node = false;
    let mut native = false;
    for pid in &tree {
        let Some((uid, comm, cmdline)) = accounts::describe(*pid) else {
            continue;
        };
        if comm == "sudo" {
            continue;
        }
        assert_ne!(
            uid, other.uid,
            "{pid} in {}'s agent tree runs as {}:\n{report}",
            owner.name, other.name
        );
        assert_eq!(
            uid, owner.uid,
            "{pid} in {}'s agent tree does not run as {}:\n{report}",
            owner.name, owner.name
        );
        if comm == "node" || cmdline.starts_with("node ") {
            node = true;
        } else if cmdline.contains("codex") {
            native = true;
        }
    }
    assert!(
        node && native,
        "expected the node wrapper and the native codex in the tree of {root}:\n{report}"
    );
}

/// Polls until no process of `accounts` is alive; returns the leftovers.
async fn wait_no_process_of(accounts: &[&Account], within: Duration) -> Vec<String> {
    let left = || -> Vec<String> {
        accounts
            .iter()
            .flat_map(|a| accounts::processes_of(a.uid))
            .filter_map(|pid| {
                accounts::describe(pid)
                    .map(|(uid, comm, cmd)| format!("{pid} uid={uid} {comm} {cmd}"))
            })
            .collect()
    };
    match support::poll_until(within, || left().is_empty().then_some(())).await {
        Some(()) => Vec::new(),
        None => left(),
    }
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Proves: a sudoers file written to docs/design.md's contract passes
/// `visudo -cf`; with it the service account may run exactly CODEX_BIN and
/// kai's helper subcommands as each agent account (and that is enough to
/// start codex with TMPDIR set, thanks to SETENV), and nothing else: not a
/// shell, not as root, not another binary, not `kai run`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sudoers_contract_allows_only_the_named_binaries() {
    let Some(env) = Env::new("the_sudoers_contract_allows_only_the_named_binaries").await else {
        return;
    };
    let file = SudoersFile::write("contract", &[env.line(&env.a), env.line(&env.b)]);
    let check = file.visudo_check();
    assert!(check.status.success(), "visudo -cf: {}", text(&check));

    // What sudo itself says the service account may do.
    let list = env.sudo_as_service(&["-n", "-l"]);
    assert!(list.status.success(), "sudo -n -l: {}", text(&list));
    let listing = String::from_utf8_lossy(&list.stdout).to_string();
    let rules = listing
        .split("may run the following commands")
        .nth(1)
        .unwrap_or_else(|| panic!("no rules listed: {listing}"));
    let mut commands: Vec<String> = rules
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| w.starts_with('/'))
        .map(str::to_string)
        .collect();
    commands.sort();
    commands.dedup();
    let mut expected = vec![
        env.codex.display().to_string(),
        env.kai.display().to_string(),
    ];
    expected.sort();
    assert_eq!(commands, expected, "{listing}");
    assert!(!rules.contains("ALL"), "no ALL anywhere: {listing}");
    for agent in [&env.a, &env.b] {
        assert!(rules.contains(&format!("({})", agent.name)), "{listing}");
    }
    assert!(
        rules.contains("NOPASSWD") && rules.contains("SETENV"),
        "{listing}"
    );

    let codex = env.codex.display().to_string();
    let kai = env.kai.display().to_string();
    for agent in [&env.a, &env.b] {
        let u = agent.name.as_str();
        // Allowed: codex, and kai's helper subcommands with their
        // arguments, checked without running them…
        let allowed = [
            vec![codex.as_str()],
            vec![kai.as_str(), "reap", "123"],
            vec![
                kai.as_str(),
                "inbox-put",
                "--",
                "/w",
                "20261130-000000-a.pdf",
            ],
            vec![
                kai.as_str(),
                "workspace-read",
                "--max-bytes",
                "5",
                "--",
                "/w",
                "a b",
            ],
            vec![kai.as_str(), "workspace-ls", "--", "/w", ""],
            vec![kai.as_str(), "project-dir", "--", "/w", "api"],
            vec![kai.as_str(), "inbox-clean", "--days", "30", "--", "/w"],
        ];
        for cmd in allowed {
            let out = env.sudo_as_service(&[&["-n", "-u", u, "-l"], cmd.as_slice()].concat());
            assert!(out.status.success(), "{cmd:?} as {u}: {}", text(&out));
        }
        // …but not the kai binary for anything else (the daemon, say).
        for cmd in [
            vec![kai.as_str()],
            vec![kai.as_str(), "run"],
            vec![kai.as_str(), "eval", "reap"],
        ] {
            let out = env.sudo_as_service(&[&["-n", "-u", u, "-l"], cmd.as_slice()].concat());
            assert!(
                !out.status.success(),
                "{cmd:?} as {u} must be refused: {}",
                text(&out)
            );
        }
        // …and really starting codex the way the runtime does.
        let tmp = format!("TMPDIR={}", agent.home.display());
        let out = env.sudo_as_service(&["-n", "-H", "-u", u, &tmp, &codex, "--version"]);
        assert!(
            out.status.success() && text(&out).contains("codex-cli"),
            "codex as {u}: {}",
            text(&out)
        );
        // Refused: a shell, another binary, and the allowed binary as root.
        let out = env.sudo_as_service(&["-n", "-u", u, "/bin/sh", "-c", "id"]);
        assert!(
            !out.status.success() && !text(&out).contains("uid="),
            "a shell as {u} must be refused: {}",
            text(&out)
        );
        for args in [
            vec!["-n", "-u", u, "-l", "/bin/sh"],
            vec!["-n", "-u", u, "/usr/bin/id"],
            vec!["-n", "-u", u, "-s"],
            vec!["-n", "-u", "root", codex.as_str(), "--version"],
            vec!["-n", "-u", SERVICE, "/usr/bin/id"],
        ] {
            let out = env.sudo_as_service(&args);
            assert!(
                !out.status.success(),
                "sudo {args:?} must be refused: {}",
                text(&out)
            );
        }
    }
}

/// Proves: with the daemon running as the service account, during slow
/// replies for both users at once, every codex process (the node wrapper
/// and the native binary) in alice's agent tree runs as kaiagenta and none
/// as kaiagentb, and the reverse for bob; the service account runs none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_agent_runs_as_its_own_account() {
    let Some(env) = Env::new("each_agent_runs_as_its_own_account").await else {
        return;
    };
    let _sudoers = SudoersFile::write("owned", &[env.line(&env.a), env.line(&env.b)]);
    let mut kai = env.start_daemon().await;
    kai.tg.send_text(ALICE, "slow 30");
    kai.tg.send_text(BOB, "slow 30");
    kai.wait_text(ALICE, 90, |t| t.len() > 10).await;
    kai.wait_text(BOB, 90, |t| t.len() > 10).await;

    let pid_a = kai.agent_pid(ALICE).await;
    let pid_b = kai.agent_pid(BOB).await;
    assert_tree_owned_by(pid_a, &env.a, &env.b);
    assert_tree_owned_by(pid_b, &env.b, &env.a);
    // Nothing under the daemon runs codex as the service account itself.
    for pid in kai.codex_pids() {
        if let Some((uid, comm, cmd)) = accounts::describe(pid) {
            assert!(
                comm == "sudo" || uid != env.svc.uid,
                "{pid} runs codex as the service account: {cmd}"
            );
        }
    }

    kai.stop(libc::SIGTERM, Duration::from_secs(15))
        .expect("kai exits after SIGTERM");
    let left = wait_no_process_of(&[&env.a, &env.b], Duration::from_secs(5)).await;
    assert!(left.is_empty(), "left behind: {left:#?}\n{}", kai.log());
}

/// Proves: `/stop` ends a slow reply of an agent running under another
/// account, `/new` then removes every process of that account while the
/// daemon keeps running (through `sudo … kai reap`), and SIGTERM of the
/// daemon mid-reply leaves no process of either agent account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_new_and_sigterm_leave_no_agent_process() {
    let Some(env) = Env::new("stop_new_and_sigterm_leave_no_agent_process").await else {
        return;
    };
    let _sudoers = SudoersFile::write("stop", &[env.line(&env.a), env.line(&env.b)]);
    let mut kai = env.start_daemon().await;
    kai.tg.send_text(ALICE, "slow 30");
    kai.tg.send_text(BOB, "slow 30");
    kai.wait_text(ALICE, 90, |t| t.len() > 10 && !t.contains("done."))
        .await;
    kai.wait_text(BOB, 90, |t| t.len() > 10).await;
    assert!(!accounts::processes_of(env.a.uid).is_empty());
    assert!(!accounts::processes_of(env.b.uid).is_empty());

    kai.tg.send_text(ALICE, "/stop");
    let stopped = kai.wait_any(ALICE, 20, |t| t.contains("Stopped")).await;
    assert!(!stopped.contains("done."), "{stopped}");
    kai.tg.send_text(ALICE, "/new");
    kai.wait_text(ALICE, 30, |t| t.contains("New conversation"))
        .await;
    let left = wait_no_process_of(&[&env.a], Duration::from_secs(5)).await;
    assert!(left.is_empty(), "after /new: {left:#?}\n{}", kai.log());
    assert!(
        !accounts::processes_of(env.b.uid).is_empty(),
        "bob's reply must still be running"
    );

    kai.stop(libc::SIGTERM, Duration::from_secs(15))
        .expect("kai exits after SIGTERM");
    let left = wait_no_process_of(&[&env.a, &env.b], Duration::from_secs(5)).await;
    assert!(left.is_empty(), "after SIGTERM: {left:#?}\n{}", kai.log());
    kai.wait_any(BOB, 5, |t| t.contains("restarting")).await;
}

/// Proves: without the sudoers line for kaiagentb, bob's message is
/// answered promptly (sudo -n fails at once, no password prompt, no hang)
/// with a message naming the missing sudoers rule, the log names the
/// docs/design.md contract line, and alice, whose rule exists, is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_sudoers_rule_is_a_clear_error_not_a_hang() {
    let Some(env) = Env::new("a_missing_sudoers_rule_is_a_clear_error_not_a_hang").await else {
        return;
    };
    let _sudoers = SudoersFile::write("missing", &[env.line(&env.a)]);
    let mut kai = env.start_daemon().await;
    // Startup first, so the clock below measures only the refusal.
    kai.tg.send_text(BOB, "/status");
    kai.wait_text(BOB, 30, |t| t.starts_with("Backend:")).await;

    let sent = Instant::now();
    kai.tg.send_text(BOB, "hello from bob");
    let answer = kai
        .wait_any(BOB, 30, |t| t.contains("not allowed to start the agent"))
        .await;
    let took = sent.elapsed();
    assert!(
        took < Duration::from_secs(15),
        "the refusal took {took:?}: {answer}"
    );
    assert!(
        answer.contains(&env.b.name) && answer.contains("sudoers rule is missing"),
        "{answer}"
    );
    assert!(
        answer.contains(&env.codex.display().to_string()),
        "{answer}"
    );
    let log = kai.log();
    let wanted = format!(
        "{} ALL=({}) NOPASSWD:SETENV: {}, {}",
        env.svc.name,
        env.b.name,
        env.codex.display(),
        kai::process::sudo::sudo_kai_commands(&env.kai).join(", ")
    );
    assert!(
        log.contains("sudoers contract") && log.contains(&wanted),
        "the log must name the missing contract line `{wanted}`:\n{log}"
    );
    assert!(
        accounts::processes_of(env.b.uid).is_empty(),
        "nothing may run as {}",
        env.b.name
    );

    kai.tg.send_text(ALICE, "hello from alice");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: hello from alice"))
        .await;

    kai.stop(libc::SIGTERM, Duration::from_secs(15))
        .expect("kai exits after SIGTERM");
    let left = wait_no_process_of(&[&env.a, &env.b], Duration::from_secs(5)).await;
    assert!(left.is_empty(), "after SIGTERM: {left:#?}\n{}", kai.log());
}

/// A proxy URL with a password: the kind of pass-through value that must
/// reach the agent but never a command line.
const PROXY_SECRET: &str = "s3cret-proxy-pass";

/// `/proc/<pid>/environ` (as root), NUL-separated variables.
fn environ(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|e| {
            String::from_utf8_lossy(&e)
                .split('\0')
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Proves the security model with the daemon running as the service account
/// under a 0022 umask, the token as a systemd-style credential (service
/// account only) and a proxy password in its environment, while both agents
/// answer slow replies:
/// - no process of either agent tree (sudo included) carries the proxy
///   password on its command line, yet the agents receive it in their
///   environment, and none receives the bot token;
/// - as alice's agent account: sudo to bob's account or the service account
///   is refused, the credential is unreadable, and so are bob's workspace,
///   bob's `~/.codex` and the daemon's chat state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_account_reaches_no_secret_and_no_other_account() {
    let Some(env) = Env::new("an_agent_account_reaches_no_secret_and_no_other_account").await
    else {
        return;
    };
    let _sudoers = SudoersFile::write("secrets", &[env.line(&env.a), env.line(&env.b)]);
    // $CREDENTIALS_DIRECTORY as systemd lays it out: the service account's, 0500/0400.
    let creds = tempfile::tempdir().unwrap();
    std::fs::set_permissions(creds.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let cred_dir = creds.path().join("credentials");
    std::fs::create_dir(&cred_dir).unwrap();
    let token_file = cred_dir.join("telegram-bot-token");
    std::fs::write(&token_file, support::fake_telegram::FakeTelegram::TOKEN).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o400)).unwrap();
    accounts::chown(&cred_dir, &env.svc, true);
    std::fs::set_permissions(&cred_dir, std::fs::Permissions::from_mode(0o500)).unwrap();

    let proxy = format!("http://kai-test:{PROXY_SECRET}@127.0.0.1:9");
    let mut kai = env
        .start_daemon_with(
            vec![
                (
                    "CREDENTIALS_DIRECTORY".into(),
                    cred_dir.display().to_string(),
                ),
                ("HTTPS_PROXY".into(), proxy.clone()),
                ("NO_PROXY".into(), "127.0.0.1,localhost".into()),
            ],
            Some(0o022),
        )
        .await;
    kai.tg.send_text(ALICE, "slow 30");
    kai.tg.send_text(BOB, "slow 30");
    kai.wait_text(ALICE, 90, |t| t.len() > 10).await;
    kai.wait_text(BOB, 90, |t| t.len() > 10).await;

    let procs = proctree::snapshot();
    let mut agents_with_proxy = 0;
    for chat in [ALICE, BOB] {
        let root = kai.agent_pid(chat).await;
        for pid in proctree::tree(&procs, root) {
            let Some((uid, comm, cmdline)) = accounts::describe(pid) else {
                continue;
            };
            assert!(
                !cmdline.contains(PROXY_SECRET),
                "{pid} ({comm}, uid {uid}) has the proxy password on its command line: {cmdline}"
            );
            let vars = environ(pid);
            assert!(
                !vars
                    .iter()
                    .any(|v| v.starts_with("TELEGRAM") || v.contains("TEST-TOKEN")),
                "{pid} ({comm}) inherited the bot token: {vars:?}"
            );
            if comm != "sudo" && vars.contains(&format!("HTTPS_PROXY={proxy}")) {
                agents_with_proxy += 1;
            }
        }
    }
    assert!(
        agents_with_proxy >= 2,
        "both agents must still receive HTTPS_PROXY through sudo\n{}",
        kai.log()
    );

    // As alice's agent account, the way a prompt-injected agent would try.
    let codex = env.codex.display().to_string();
    let bob_home = env.b.home.display().to_string();
    let bob_workspace = kai.path("data/home/bob").display().to_string();
    let bob_state = kai.state_path(BOB, BOB, None).display().to_string();
    let token = token_file.display().to_string();
    let attempts: Vec<(&str, Vec<&str>)> = vec![
        (
            "/usr/bin/sudo",
            vec!["-n", "-u", &env.b.name, &codex, "--version"],
        ),
        (
            "/usr/bin/sudo",
            vec!["-n", "-u", SERVICE, &codex, "--version"],
        ),
        ("/usr/bin/sudo", vec!["-n", "-l"]),
        ("/bin/cat", vec![&token]),
        ("/bin/ls", vec![&bob_workspace]),
        ("/bin/ls", vec![&bob_home]),
        ("/bin/cat", vec![&bob_state]),
    ];
    let codex_auth = format!("{bob_home}/.codex/auth.json");
    let attempts = attempts
        .into_iter()
        .chain([("/bin/cat", vec![codex_auth.as_str()])]);
    for (program, args) in attempts {
        let out = accounts::run_as(&env.a, program, &args);
        assert!(
            !out.status.success(),
            "as {}: {program} {args:?} must fail: {}",
            env.a.name,
            text(&out)
        );
    }
    // The chat state exists, so "unreadable" above is not "missing".
    assert!(kai.state_path(BOB, BOB, None).is_file());

    kai.stop(libc::SIGTERM, Duration::from_secs(15))
        .expect("kai exits after SIGTERM");
    let left = wait_no_process_of(&[&env.a, &env.b], Duration::from_secs(5)).await;
    assert!(left.is_empty(), "after SIGTERM: {left:#?}\n{}", kai.log());
}

/// Proves: files move as the user's account. A PDF alice sends lands in
/// her workspace's inbox owned by kaiagenta (0600, the inbox 0700), written
/// through `sudo … kai inbox-put`, and its path reaches the model; `/get`
/// returns the exact bytes, read as kaiagenta; a symlink from her workspace
/// into bob's, and `..`, are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_move_in_and_out_as_the_users_account() {
    use std::os::unix::fs::MetadataExt;
    use support::fake_telegram::FileMessage;
    let Some(env) = Env::new("files_move_in_and_out_as_the_users_account").await else {
        return;
    };
    let _sudoers = SudoersFile::write("files", &[env.line(&env.a), env.line(&env.b)]);
    let kai = env.start_daemon().await;
    let pdf = b"%PDF-1.4\n% a report\n%%EOF\n".to_vec();
    kai.tg.send_file(
        ALICE,
        FileMessage {
            kind: "document",
            bytes: pdf.clone(),
            file_name: Some("Q3 report.pdf"),
            mime_type: Some("application/pdf"),
            caption: Some("summarise this"),
            media_group_id: None,
        },
    );
    kai.wait_text(ALICE, 90, |t| t.contains("echo: summarise this"))
        .await;
    let inbox = kai.path("data/home/alice/inbox");
    let stored: Vec<PathBuf> = std::fs::read_dir(&inbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    let name = stored[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(name.ends_with("-Q3_report.pdf"), "{name}");
    assert_eq!(std::fs::read(&stored[0]).unwrap(), pdf);
    let (file, dir) = (
        std::fs::metadata(&stored[0]).unwrap(),
        std::fs::metadata(&inbox).unwrap(),
    );
    assert_eq!((file.uid(), file.mode() & 0o777), (env.a.uid, 0o600));
    assert_eq!((dir.uid(), dir.mode() & 0o777), (env.a.uid, 0o700));
    let asked = kai
        .api
        .requests()
        .iter()
        .filter_map(support::fake_responses::last_user_text)
        .find(|t| t.contains("summarise this"))
        .unwrap();
    assert!(asked.contains(&stored[0].display().to_string()), "{asked}");

    kai.tg.send_text(ALICE, &format!("/get inbox/{name}"));
    let up = kai.tg.wait_uploads(1, Duration::from_secs(30)).await;
    let up = up.unwrap_or_else(|| panic!("no upload: {:#?}", kai.tg.messages(ALICE)));
    assert_eq!(
        (up[0].method.as_str(), up[0].bytes.as_slice()),
        ("sendDocument", pdf.as_slice())
    );

    // bob's secret, and a link to it from alice's workspace.
    let secret = kai.path("data/home/bob/secret.txt");
    std::fs::write(&secret, "bob's").unwrap();
    accounts::chown(&secret, &env.b, false);
    std::os::unix::fs::symlink(&secret, kai.path("data/home/alice/bobs")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", kai.path("data/home/alice/escape")).unwrap();
    kai.tg.send_text(ALICE, "/get escape");
    kai.wait_any(ALICE, 30, |t| {
        t.contains("`escape` is outside your workspace")
    })
    .await;
    // Into bob's workspace the kernel stops kaiagenta before the check does.
    kai.tg.send_text(ALICE, "/get bobs");
    kai.wait_any(ALICE, 30, |t| t.starts_with("❌") && t.contains("`bobs`"))
        .await;
    kai.tg.send_text(ALICE, "/get ../bob/secret.txt");
    kai.wait_any(ALICE, 30, |t| t.contains("goes up with `..`"))
        .await;
    assert_eq!(kai.tg.uploads().len(), 1);
}

/// Proves: `/project api` in one topic of alice's chat and `/project web`
/// in another make folders owned by kaiagenta (0700), through `sudo … kai
/// project-dir`, and each codex thread, running as kaiagenta, starts in
/// its own folder (the cwd codex tells the model).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_are_made_as_the_users_account() {
    use std::os::unix::fs::MetadataExt;
    use support::fake_telegram::Where;
    let Some(env) = Env::new("projects_are_made_as_the_users_account").await else {
        return;
    };
    let _sudoers = SudoersFile::write("projects", &[env.line(&env.a), env.line(&env.b)]);
    let kai = env.start_daemon().await;
    let in_topic = |topic: i64, needle: String| {
        let kai = &kai;
        async move {
            let found = support::poll_until(Duration::from_secs(90), || {
                kai.tg
                    .messages_in(ALICE, Some(topic))
                    .into_iter()
                    .find(|m| m.text.contains(&needle))
            });
            found
                .await
                .unwrap_or_else(|| panic!("no `{needle}` in topic {topic}\n{}", kai.log()))
        }
    };
    for (topic, name) in [(11, "api"), (22, "web")] {
        let here = Where::private_topic(ALICE, topic);
        kai.tg
            .send_text_in(ALICE, here, &format!("/project {name}"));
        in_topic(topic, format!("Project {name}:")).await;
        let dir = kai.path("data/home/alice").join(name);
        let meta = std::fs::metadata(&dir).unwrap();
        assert_eq!(
            (meta.uid(), meta.mode() & 0o777),
            (env.a.uid, 0o700),
            "{name}"
        );
        kai.tg
            .send_text_in(ALICE, here, &format!("where is {name}"));
        in_topic(topic, format!("echo: where is {name}")).await;
        let request = kai
            .api
            .requests()
            .into_iter()
            .find(|r| {
                support::fake_responses::last_user_text(r).as_deref()
                    == Some(format!("where is {name}").as_str())
            })
            .expect("the request");
        let cwd = format!("<cwd>{}</cwd>", dir.display());
        assert!(request["input"].to_string().contains(&cwd), "{request}");
    }
}
