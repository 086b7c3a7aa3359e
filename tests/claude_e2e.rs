//! The claude backend end to end: the built `kai` binary, the real Claude
//! Code CLI (npm @anthropic-ai/claude-code, pinned) talking to a loopback
//! fake of the Anthropic Messages API, and the fake Telegram Bot API.
//!
//! Claude Code refuses `bypassPermissions` as root, and CI runs as root: there
//! the daemon runs as the service account and each Telegram user's agent as
//! its own OS account, through sudo with the contract's rules (the claude
//! rule carries `CWD=*`, since the CLI works in its process's directory).
//! As any other user, everything runs as that user.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use support::accounts::{self, Account, SudoersFile, AGENT_A, AGENT_B, SERVICE};
use support::fake_anthropic::{self, all_text};
use support::kai::{all_gone, Kai, Options, ALICE, BOB};
use support::{codex_home, fake_responses};

/// A running daemon, plus (as root) the accounts and rules it runs under.
struct Setup {
    kai: Kai,
    /// The home of each user's agent account, in the order given to `start`.
    homes: Vec<PathBuf>,
    _root: Option<RootSetup>,
}

struct RootSetup {
    _sudoers: SudoersFile,
    _lock: accounts::Held,
}

/// Starts kai with alice (and bob, if given a backend) on the given
/// backends. As root, alice's agent runs as `kaiagenta` and bob's as
/// `kaiagentb`, each configured like a real OS user would be.
async fn start(users: Vec<(&'static str, i64, &'static str, Option<&'static str>)>) -> Setup {
    let mut opts = Options {
        users: users.iter().map(|(n, id, ..)| (*n, *id)).collect(),
        user_backends: users.iter().map(|(_, id, b, m)| (*id, *b, *m)).collect(),
        ..Options::default()
    };
    if accounts::unavailable().is_some() {
        println!("running every agent as this test's own account");
        let kai = Kai::start(opts).await;
        return Setup {
            homes: vec![kai.path("home"); users.len()],
            kai,
            _root: None,
        };
    }
    let lock = accounts::hold().await;
    accounts::remove_stale_sudoers();
    let svc = accounts::ensure(SERVICE);
    let agents: Vec<Account> = [AGENT_A, AGENT_B]
        .iter()
        .map(|a| accounts::ensure(a))
        .collect();
    accounts::kill_leftovers(&agents.iter().collect::<Vec<_>>());
    let kai_bin = PathBuf::from(env!("CARGO_BIN_EXE_kai"));
    let claude = fake_anthropic::claude_bin();
    let mut lines = Vec::new();
    for a in &agents {
        lines.push(accounts::contract_line(
            &svc.name,
            &a.name,
            &codex_home::codex_bin(),
            &kai_bin,
        ));
        lines.push(accounts::claude_line(&svc.name, &a.name, &claude));
    }
    let sudoers = SudoersFile::write("claude", &lines);
    let check = sudoers.visudo_check();
    assert!(
        check.status.success(),
        "visudo: {}",
        String::from_utf8_lossy(&check.stderr)
    );

    opts.run_as = Some(svc.name.clone());
    opts.os_users = users
        .iter()
        .zip(&agents)
        .map(|((_, id, ..), a)| (*id, a.name.clone()))
        .collect();
    let kai = Kai::start(opts).await;
    for ((name, ..), account) in users.iter().zip(&agents) {
        let claude_dir = account.home.join(".claude");
        let _ = std::fs::remove_dir_all(&claude_dir);
        let _ = std::fs::remove_file(account.home.join(".claude.json"));
        fake_anthropic::write_claude_settings(&account.home, &kai.claude_api.base_url()).unwrap();
        accounts::chown(&claude_dir, account, true);
        let codex_dir = account.home.join(".codex");
        let _ = std::fs::remove_dir_all(&codex_dir);
        codex_home::write_codex_home(&codex_dir, &kai.api.base_url(), true).unwrap();
        accounts::chown(&codex_dir, account, true);
        accounts::own_dir(&kai.path("data/home").join(name), account);
        accounts::own_dir(&kai.path("data/tmp").join(&account.name), account);
    }
    Setup {
        kai,
        homes: agents.iter().map(|a| a.home.clone()).collect(),
        _root: Some(RootSetup {
            _sudoers: sudoers,
            _lock: lock,
        }),
    }
}

fn last_request_text(kai: &Kai) -> String {
    kai.claude_api
        .requests()
        .last()
        .map(all_text)
        .unwrap_or_default()
}

/// Proves the claude session streams replies into Telegram (edits while a
/// slow reply grows), keeps one conversation across turns (the second
/// request carries the first exchange), keeps separate text blocks apart,
/// uses the catalog's default claude model, and never starts codex.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_turns_stream_into_telegram_in_one_session() {
    let s = start(vec![("alice", ALICE, "claude", None)]).await;
    let kai = &s.kai;
    kai.tg.send_text(ALICE, "hello one");
    kai.wait_text(ALICE, 90, |t| t.contains("claude echo: hello one"))
        .await;
    kai.wait_idle(ALICE).await;

    kai.tg.send_text(ALICE, "slow 4");
    let text = kai.wait_text(ALICE, 60, |t| t.contains("done.")).await;
    assert!(!text.contains("⚠️"), "{text}");
    let reply = kai.tg.messages(ALICE).last().cloned().unwrap();
    assert!(
        reply.edits >= 2,
        "a 4 s reply should be edited while it streams: {reply:#?}"
    );
    assert!(
        last_request_text(kai).contains("hello one"),
        "the second turn must continue the first: {}",
        last_request_text(kai)
    );
    kai.wait_idle(ALICE).await;

    kai.tg.send_text(ALICE, "two blocks");
    let text = kai
        .wait_text(ALICE, 60, |t| t.contains("Second block."))
        .await;
    // Exactly: blocks neither run together nor show twice.
    assert_eq!(text, "First block.\n\nSecond block.");

    // The CLI works in the user's workspace (entered by sudo `-D` when it
    // runs as another account) and says so in its system prompt.
    let workspace = kai.path("data/home/alice").display().to_string();
    // (This CLI version puts it in a system-role message, older ones in
    // `system`: look at the whole request.)
    let request = kai.claude_api.requests().last().unwrap().to_string();
    assert!(
        request.contains(&format!("working directory: {workspace}")),
        "claude must run in {workspace}"
    );

    let models = kai.claude_api.models_requested();
    assert!(
        models.iter().all(|m| m.contains("sonnet")),
        "the claude default is sonnet: {models:?}"
    );
    assert!(
        kai.api.requests().is_empty(),
        "nothing may reach the codex API"
    );
    assert!(
        kai.codex_pids().is_empty(),
        "no codex may run on a claude-only install"
    );
    assert!(!std::fs::read_to_string(kai.path("env"))
        .unwrap()
        .contains("CODEX_BIN"));
}

/// Proves `/stop` mid-reply ends the turn promptly with what was said so
/// far, and that the conversation survives: the next turn still carries the
/// stopped one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_mid_reply_ends_the_turn_and_keeps_the_conversation() {
    let s = start(vec![("alice", ALICE, "claude", None)]).await;
    let kai = &s.kai;
    kai.tg.send_text(ALICE, "slow 30");
    kai.wait_any(ALICE, 90, |t| t.contains("slow part")).await;
    let agent = kai.agent_pid(ALICE).await;
    kai.tg.send_text(ALICE, "/stop");
    // (The reply is no longer the last message: /status came after it.)
    let text = kai.wait_any(ALICE, 20, |t| t.contains("⏹ Stopped.")).await;
    assert!(
        !text.contains("done."),
        "the reply must not have finished: {text}"
    );
    kai.wait_idle(ALICE).await;
    // The interrupt ended the turn: the same process is still there (had
    // it ignored the interrupt, the grace period would have killed it).
    assert_eq!(kai.agent_pid(ALICE).await, agent, "{}", kai.log());

    kai.tg.send_text(ALICE, "after the stop");
    kai.wait_text(ALICE, 60, |t| t.contains("claude echo: after the stop"))
        .await;
    assert!(last_request_text(kai).contains("slow 30"));
}

/// Proves a restart of kai resumes the claude session (`--resume` with the
/// id kept in the data dir): the first request after the restart carries
/// the earlier turn, and the chat keeps the same session id. Then `/new`
/// forgets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_of_kai_resumes_the_session_and_new_forgets_it() {
    let mut s = start(vec![("alice", ALICE, "claude", None)]).await;
    let kai = &mut s.kai;
    kai.tg.send_text(ALICE, "remember the apple");
    kai.wait_text(ALICE, 90, |t| t.contains("claude echo: remember the apple"))
        .await;
    kai.wait_idle(ALICE).await;
    let before = kai.chat_state(ALICE).unwrap()["conversation"].clone();
    assert!(
        before.is_string(),
        "the session id must be persisted: {before}"
    );

    let tree: Vec<i32> = kai.descendants().into_iter().collect();
    assert!(
        kai.stop(libc::SIGTERM, Duration::from_secs(15)).is_some(),
        "kai did not stop"
    );
    assert!(all_gone(&tree), "the claude process outlived kai");
    kai.spawn();

    kai.tg.send_text(ALICE, "what did I ask you to remember");
    kai.wait_text(ALICE, 90, |t| t.contains("claude echo: what did I ask"))
        .await;
    let after_restart = last_request_text(kai);
    assert!(
        after_restart.contains("remember the apple"),
        "the resumed session must carry the earlier turn: {after_restart}"
    );
    assert_eq!(kai.chat_state(ALICE).unwrap()["conversation"], before);
    kai.wait_idle(ALICE).await;

    kai.tg.send_text(ALICE, "/new");
    kai.wait_text(ALICE, 30, |t| t.contains("New conversation"))
        .await;
    kai.tg.send_text(ALICE, "a fresh start");
    kai.wait_text(ALICE, 90, |t| t.contains("claude echo: a fresh start"))
        .await;
    assert!(!last_request_text(kai).contains("apple"));
    assert_ne!(kai.chat_state(ALICE).unwrap()["conversation"], before);
}

/// Proves one kai process serves a codex user and a claude user side by
/// side: each user's turns reach only their own backend's API, with their
/// own model, and the commands speak each user's backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_backends_each_user_reaches_only_their_own_api() {
    let s = start(vec![
        ("alice", ALICE, "codex", Some("gpt-5.5")),
        ("bob", BOB, "claude", Some("haiku")),
    ])
    .await;
    let kai = &s.kai;
    kai.tg.send_text(ALICE, "from alice");
    kai.tg.send_text(BOB, "from bob");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: from alice"))
        .await;
    kai.wait_text(BOB, 90, |t| t.contains("claude echo: from bob"))
        .await;

    let codex_seen: Vec<String> = kai
        .api
        .requests()
        .iter()
        .map(fake_responses::all_input_text)
        .collect();
    assert!(codex_seen.iter().any(|t| t.contains("from alice")));
    assert!(
        codex_seen.iter().all(|t| !t.contains("from bob")),
        "{codex_seen:?}"
    );
    assert!(kai.api.models_requested().iter().all(|m| m == "gpt-5.5"));

    let claude_seen: Vec<String> = kai.claude_api.requests().iter().map(all_text).collect();
    assert!(claude_seen.iter().any(|t| t.contains("from bob")));
    assert!(
        claude_seen.iter().all(|t| !t.contains("from alice")),
        "{claude_seen:?}"
    );
    let claude_models = kai.claude_api.models_requested();
    assert!(
        !claude_models.is_empty() && claude_models.iter().all(|m| m.contains("haiku")),
        "{claude_models:?}"
    );

    kai.wait_idle(BOB).await;
    kai.tg.send_text(BOB, "/status");
    let status = kai.wait_text(BOB, 30, |t| t.starts_with("Backend:")).await;
    assert!(
        status.contains("Backend: claude") && status.contains("Model: haiku"),
        "{status}"
    );
    kai.tg.send_text(BOB, "/models");
    let models = kai
        .wait_text(BOB, 30, |t| t.contains("claude models"))
        .await;
    assert!(
        models.contains("opus") && !models.contains("gpt-"),
        "{models}"
    );
    kai.tg.send_text(ALICE, "/model opus");
    let refused = kai.wait_text(ALICE, 30, |t| t.contains("❌")).await;
    assert!(
        refused.contains("gpt-5.5"),
        "the refusal lists codex models: {refused}"
    );
}

/// Proves a claude process killed mid-reply gives the user an error (not
/// a hung chat), leaves nothing behind, and the next message starts a new
/// process that resumes the same conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_reply_is_reported_and_the_next_message_resumes() {
    let s = start(vec![("alice", ALICE, "claude", None)]).await;
    let kai = &s.kai;
    kai.tg.send_text(ALICE, "remember the pear");
    kai.wait_text(ALICE, 90, |t| t.contains("claude echo: remember the pear"))
        .await;
    kai.wait_idle(ALICE).await;

    kai.tg.send_text(ALICE, "slow 30");
    kai.wait_any(ALICE, 90, |t| t.contains("slow part")).await;
    let agents: Vec<i32> = kai
        .descendants()
        .into_iter()
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd);
            cmd.contains("claude") && !cmd.starts_with("sudo")
        })
        .collect();
    assert!(!agents.is_empty(), "no claude process found");
    for pid in &agents {
        // SAFETY: plain kill(2) of a process this test found.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    let text = kai
        .wait_text(ALICE, 30, |t| t.contains("stopped unexpectedly"))
        .await;
    assert!(
        text.contains("slow part"),
        "the partial reply is kept: {text}"
    );
    assert!(all_gone(&agents));
    // Nothing else of that agent's tree (sudo included) is left either.
    let gone = support::poll_until(Duration::from_secs(10), || {
        kai.descendants().is_empty().then_some(())
    });
    assert!(gone.await.is_some(), "{:?}", kai.descendants());

    kai.tg.send_text(ALICE, "still there?");
    kai.wait_text(ALICE, 90, |t| t.contains("claude echo: still there?"))
        .await;
    assert!(last_request_text(kai).contains("remember the pear"));
}

/// Proves an account with no Claude credentials gets the login hint naming
/// that OS account, before anything reaches the Messages API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_out_account_gets_the_login_hint() {
    let s = start(vec![("alice", ALICE, "claude", None)]).await;
    let kai = &s.kai;
    // The same settings, minus the API key: nothing to log in with.
    let settings = s.homes[0].join(".claude/settings.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    v["env"]
        .as_object_mut()
        .unwrap()
        .remove("ANTHROPIC_API_KEY");
    std::fs::write(&settings, v.to_string()).unwrap();

    kai.tg.send_text(ALICE, "hello?");
    let text = kai
        .wait_text(ALICE, 60, |t| t.contains("not logged in"))
        .await;
    // As root, alice's agent account; otherwise this test's own.
    let os_user = if accounts::unavailable().is_none() {
        AGENT_A.to_string()
    } else {
        let out = std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert!(
        text.contains(&format!("{os_user}</code> is not logged in to Claude Code"))
            && text.contains("/login"),
        "{text}"
    );
    assert!(
        kai.claude_api.requests().is_empty(),
        "nothing may reach the API"
    );
}

/// Proves a session id the CLI cannot resume (its files are gone, say) does
/// not wedge the chat: the message is answered by a fresh session, the log
/// says why, and the dead id is replaced in the data dir.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_session_to_resume_falls_back_to_a_fresh_one() {
    let s = start(vec![("alice", ALICE, "claude", None)]).await;
    let kai = &s.kai;
    let stale = "11111111-2222-4333-8444-555555555555";
    let chats = kai.path("data/chats");
    std::fs::create_dir_all(&chats).unwrap();
    let state = serde_json::json!({"backend": "claude", "conversation": stale});
    // Written while the daemon runs, so under the name it reads now (a
    // `<chat>.json` is only migrated at start).
    std::fs::write(kai.state_path(ALICE, ALICE, None), state.to_string()).unwrap();
    if s._root.is_some() {
        // The daemon runs as the service account and must own its state.
        accounts::chown(&chats, &accounts::ensure(SERVICE), true);
    }

    kai.tg.send_text(ALICE, "hello again");
    kai.wait_text(ALICE, 90, |t| t.contains("claude echo: hello again"))
        .await;
    assert!(
        kai.log().contains("could not resume the claude session"),
        "{}",
        kai.log()
    );
    kai.wait_idle(ALICE).await;
    let now = kai.chat_state(ALICE).unwrap()["conversation"].clone();
    assert!(now.is_string() && now != stale, "{now}");
}

/// Proves `/model` switches a running claude session (the `set_model`
/// control request): the next turn is requested with the new model, in
/// the same process and conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_changes_apply_to_the_running_session() {
    let s = start(vec![("alice", ALICE, "claude", None)]).await;
    let kai = &s.kai;
    kai.tg.send_text(ALICE, "first on sonnet");
    kai.wait_text(ALICE, 90, |t| t.contains("claude echo: first on sonnet"))
        .await;
    kai.wait_idle(ALICE).await;
    let agent = kai.agent_pid(ALICE).await;

    kai.tg.send_text(ALICE, "/model opus");
    kai.wait_text(ALICE, 30, |t| t.contains("Model set to opus"))
        .await;
    kai.tg.send_text(ALICE, "then on opus");
    kai.wait_text(ALICE, 90, |t| t.contains("claude echo: then on opus"))
        .await;

    let models = kai.claude_api.models_requested();
    assert!(
        models.first().is_some_and(|m| m.contains("sonnet")),
        "{models:?}"
    );
    assert!(
        models.last().is_some_and(|m| m.contains("opus")),
        "{models:?}"
    );
    assert!(last_request_text(kai).contains("first on sonnet"));
    kai.wait_idle(ALICE).await;
    assert_eq!(kai.agent_pid(ALICE).await, agent, "the session was kept");
}

/// Proves files reach Claude Code: a photo arrives in the Messages API
/// request as an image block holding exactly its bytes (read back from
/// the inbox as the user's account), a PDF by its inbox path; both land in
/// the workspace's inbox (as root, owned by alice's agent account), and
/// `/get` sends the PDF's exact bytes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_and_documents_reach_claude_and_come_back() {
    use support::fake_telegram::FileMessage;
    const PHOTO: &[u8] = include_bytes!("support/photo.jpg");
    let s = start(vec![("alice", ALICE, "claude", None)]).await;
    let kai = &s.kai;
    kai.tg.send_file(
        ALICE,
        FileMessage {
            kind: "photo",
            bytes: PHOTO.to_vec(),
            file_name: None,
            mime_type: None,
            caption: Some("what does the screenshot say?"),
            media_group_id: None,
        },
    );
    kai.wait_text(ALICE, 90, |t| {
        t.contains("claude echo: what does the screenshot say?")
    })
    .await;
    let body = kai
        .claude_api
        .requests()
        .into_iter()
        .find(|b| all_text(b).contains("what does the screenshot say?"))
        .unwrap();
    let blocks: Vec<serde_json::Value> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .filter(|b| b["type"] == "image")
        .collect();
    assert_eq!(blocks.len(), 1, "{body:#}");
    assert_eq!(blocks[0]["source"]["media_type"], "image/jpeg");
    assert_eq!(
        blocks[0]["source"]["data"],
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, PHOTO),
        "the photo's own bytes"
    );

    let pdf = b"%PDF-1.4\n% minutes\n%%EOF\n".to_vec();
    kai.tg.send_file(
        ALICE,
        FileMessage {
            kind: "document",
            bytes: pdf.clone(),
            file_name: Some("minutes.pdf"),
            mime_type: Some("application/pdf"),
            caption: Some("summarise the minutes"),
            media_group_id: None,
        },
    );
    kai.wait_text(ALICE, 90, |t| {
        t.contains("claude echo: summarise the minutes")
    })
    .await;
    let inbox = kai.path("data/home/alice/inbox");
    let mut stored: Vec<PathBuf> = std::fs::read_dir(&inbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    stored.sort();
    assert_eq!(stored.len(), 2, "{stored:?}");
    let pdf_path = stored
        .iter()
        .find(|p| p.to_string_lossy().ends_with("-minutes.pdf"))
        .unwrap();
    assert!(last_request_text(kai).contains(&pdf_path.display().to_string()));
    if s._root.is_some() {
        use std::os::unix::fs::MetadataExt;
        let owner = accounts::ensure(AGENT_A).uid;
        assert_eq!(std::fs::metadata(pdf_path).unwrap().uid(), owner);
    }

    let name = pdf_path.file_name().unwrap().to_string_lossy().to_string();
    kai.tg.send_text(ALICE, &format!("/get inbox/{name}"));
    let up = kai.tg.wait_uploads(1, Duration::from_secs(30)).await;
    let up = up.unwrap_or_else(|| panic!("no upload: {:#?}", kai.tg.messages(ALICE)));
    assert_eq!(up[0].bytes, pdf, "/get sends the exact bytes");
}

/// Claude Code refuses bypassPermissions as root: a claude user whose agent
/// would run as root (kai itself run as root, the user on the service
/// account) is told so plainly, and the operator at start; nothing reaches
/// the model. Before, the CLI's own refusal surfaced as an agent crash.
/// Only as root, where the case exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claude_conversation_as_root_is_refused_plainly() {
    if !nix_is_root() {
        eprintln!("skipped: needs root (the case is a claude agent running as root)");
        return;
    }
    let kai = Kai::start(Options {
        user_backends: vec![(ALICE, "claude", None)],
        ..Options::default()
    })
    .await;
    kai.tg.send_text(ALICE, "hello as root");
    let text = kai
        .wait_text(ALICE, 60, |t| {
            t.contains("refuses to hold a conversation as root")
        })
        .await;
    assert!(text.contains("os_user"), "{text}");
    assert!(
        kai.log()
            .contains("their chats are answered with this until then"),
        "no warning at start\n{}",
        kai.log()
    );
    assert!(kai.claude_api.requests().is_empty());
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and touches nothing.
    unsafe { libc::geteuid() == 0 }
}

/// `/usage` on claude shows what Claude Code's `result` lines reported:
/// nothing before a turn; then the fake Messages API's tokens (10 in, 10
/// out per answer), summed over the conversation and the day, with the
/// cost the CLI computed: 2.1.328 prices each of these turns at $0.00012
/// for its default model and reports a running total, which kai turns back
/// into per-turn costs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_shows_what_claude_code_reported() {
    let s = start(vec![("alice", ALICE, "claude", None)]).await;
    let kai = &s.kai;
    kai.tg.send_text(ALICE, "/usage");
    let before = kai.wait_any(ALICE, 60, |t| t.starts_with("📊 Usage")).await;
    assert!(
        before.contains("This conversation: not available yet"),
        "{before}"
    );
    assert!(before.contains("no turns reported yet"), "{before}");
    for (i, text) in ["hello one", "hello two"].iter().enumerate() {
        kai.tg.send_text(ALICE, text);
        kai.wait_text(ALICE, 90, |t| t.contains(&format!("claude echo: {text}")))
            .await;
        kai.wait_idle(ALICE).await;
        kai.tg.send_text(ALICE, "/usage");
        let turns = i + 1;
        let shown = kai
            .wait_any(ALICE, 60, |t| {
                t.contains(&format!("This conversation: {turns} turn(s)"))
            })
            .await;
        let figures = format!(
            "{turns} turn(s); input {} tokens, output {}, cache read 0, cache write 0; cost ${}",
            10 * turns,
            10 * turns,
            ["0.00012", "0.00024"][i]
        );
        assert!(
            shown.contains(&format!("This conversation: {figures}")),
            "{shown}"
        );
        assert!(shown.contains(&format!("UTC): {figures}")), "{shown}");
    }
}

/// Two topics of one private chat on Claude Code: a slow reply in one does
/// not delay the other, each is answered (and edited) in its own topic,
/// on a session of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_topics_on_claude_answer_in_parallel() {
    use support::fake_telegram::Where;
    let s = start(vec![("alice", ALICE, "claude", None)]).await;
    let kai = &s.kai;
    let in_topic = |topic: i64, needle: &'static str| async move {
        let found = support::poll_until(Duration::from_secs(90), || {
            kai.tg
                .messages_in(ALICE, Some(topic))
                .into_iter()
                .find(|m| m.text.contains(needle))
        });
        found
            .await
            .unwrap_or_else(|| panic!("no `{needle}` in topic {topic}\n{}", kai.log()))
    };
    kai.tg
        .send_text_in(ALICE, Where::private_topic(ALICE, 11), "slow 15");
    in_topic(11, "slow part").await;
    kai.tg
        .send_text_in(ALICE, Where::private_topic(ALICE, 22), "quick on claude");
    in_topic(22, "claude echo: quick on claude").await;
    let one = kai.tg.messages_in(ALICE, Some(11));
    assert!(!one.iter().any(|m| m.text.contains("done.")), "{one:#?}");
    in_topic(11, "done.").await;
    for m in kai.tg.messages(ALICE) {
        assert!(matches!(m.thread_id, Some(11) | Some(22)), "{m:#?}");
    }
    assert!(kai
        .tg
        .messages_in(ALICE, Some(11))
        .iter()
        .any(|m| m.edits > 0));
    let sessions = support::poll_until(Duration::from_secs(30), || {
        let id = |t| {
            kai.conv_state(ALICE, ALICE, Some(t))?["conversation"]
                .as_str()
                .map(str::to_string)
        };
        Some((id(11)?, id(22)?))
    });
    let (a, b) = sessions.await.expect("both sessions saved");
    assert_ne!(a, b);
}
