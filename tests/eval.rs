//! `kai eval` end to end: the real codex CLI (and, for a claude arm, the
//! real Claude Code CLI) against the loopback model fakes, which answer the
//! probes (`echo: <question>`) and act as the judge (always "answer 1", or
//! prose when a probe asks for `judge-garbage`). No Telegram is involved:
//! the daemon the harness starts only provides the configuration.

mod support;

use serde_json::Value;
use support::fake_responses::{EVAL_JUDGE, MODEL_MARKER};
use support::kai::{Kai, Options, ALICE};

const PROBES: &str = r#"# three questions the team asks
{"id": "p1", "question": "how do I run the tests?", "expected": "bash scripts/test.sh"}

{"id": "p2", "question": "where does the state live?", "expected": "KAI_DATA_DIR"}
{"id": "p3", "question": "what starts the agents?", "expected": "sudo"}
"#;

/// [`PROBES`] with every question asking the fake model to name itself,
/// so arm A's answer and arm B's differ and the judge prompt's order shows.
fn named_probes() -> String {
    PROBES.replace(
        "\"question\": \"",
        &format!("\"question\": \"{MODEL_MARKER} "),
    )
}

fn write(kai: &Kai, name: &str, text: &str) -> String {
    let path = kai.path(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn report(kai: &Kai, name: &str) -> Value {
    let text =
        std::fs::read_to_string(kai.path(name)).unwrap_or_else(|e| panic!("no report {name}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// `kai eval --user alice ARGS` with the harness's configuration.
fn eval(kai: &Kai, args: &[&str]) -> std::process::Output {
    kai.cli(&[&["eval", "--user", "alice"], args].concat())
}

fn out(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Proves: three probes, arm A (alice's codex model) against arm B
/// (`--against codex:gpt-5.5`), judged blind: the report has every field
/// of the contract, each answer came from its arm's model, the judge saw
/// both answers in the seeded order, and its "answer 1" is de-anonymised to
/// whichever arm was shown first; the table is printed; exit 0; no claude.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_probes_are_answered_judged_blind_and_reported() {
    let kai = Kai::start(Options {
        claude_tripwire: true,
        ..Options::default()
    })
    .await;
    let probes = write(&kai, "probes.jsonl", &named_probes());
    let o = eval(
        &kai,
        &[
            "--probes",
            &probes,
            "--against",
            "codex:gpt-5.5",
            "--out",
            "report.json",
            "--seed",
            "7",
        ],
    );
    assert!(o.status.success(), "{}", out(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("wins a:") && stdout.contains("p3"),
        "{stdout}"
    );

    let r = report(&kai, "report.json");
    assert_eq!(r["schema"], 1);
    for arm in ["a", "b"] {
        for field in ["backend", "model", "cli_version"] {
            assert!(r["arms"][arm][field].is_string(), "arms.{arm}.{field}: {r}");
        }
    }
    assert_eq!(r["arms"]["a"]["model"], "gpt-6.1-sol");
    assert_eq!(r["arms"]["b"]["model"], "gpt-5.5");
    assert_eq!(r["arms"]["a"]["cli_version"], "codex-cli 0.169.0");
    assert_eq!(r["judge"]["model"], "gpt-6.1-sol");
    let t = &r["totals"];
    assert_eq!(t["errors"], 0, "{r}");
    let sum: u64 = ["a", "b", "tie", "both_wrong"]
        .iter()
        .map(|k| t[k].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 3, "{r}");
    let probes = r["probes"].as_array().unwrap();
    assert_eq!(probes.len(), 3);
    for p in probes {
        for field in [
            "id",
            "answer_a",
            "answer_b",
            "shown_first",
            "choice",
            "reasoning",
        ] {
            assert!(!p[field].is_null(), "{field}: {p}");
        }
        // The fake judge always prefers answer 1, so the choice is the arm
        // shown first: the verdict was mapped back correctly.
        assert_eq!(p["choice"], p["shown_first"], "{p}");
        let a = p["answer_a"].as_str().unwrap();
        let b = p["answer_b"].as_str().unwrap();
        assert!(a.starts_with("echo (gpt-6.1-sol): "), "{p}");
        assert!(b.starts_with("echo (gpt-5.5): "), "{p}");
    }
    // Seed 7 shows each arm first at least once, so an order that ignored
    // the seed would not match the report below.
    let firsts: Vec<&str> = probes
        .iter()
        .map(|p| p["shown_first"].as_str().unwrap())
        .collect();
    assert!(firsts.contains(&"a") && firsts.contains(&"b"), "{firsts:?}");

    // Each arm's question reached the model API with its arm's model, and
    // each judge prompt showed the answers in the order the report says.
    let requests = kai.api.requests();
    let models: Vec<String> = kai.api.models_requested();
    assert!(models.iter().any(|m| m == "gpt-5.5"), "{models:?}");
    assert!(models.iter().any(|m| m == "gpt-6.1-sol"), "{models:?}");
    let judged: Vec<String> = requests
        .iter()
        .filter_map(support::fake_responses::last_user_text)
        .filter(|t| t.starts_with(EVAL_JUDGE))
        .collect();
    assert_eq!(judged.len(), 3, "{judged:#?}");
    for p in probes {
        let (one, two) = match p["shown_first"].as_str() {
            Some("a") => (&p["answer_a"], &p["answer_b"]),
            Some("b") => (&p["answer_b"], &p["answer_a"]),
            other => panic!("shown_first {other:?}: {p}"),
        };
        let shown = format!(
            "Answer 1:\n{}\n\nAnswer 2:\n{}\n",
            one.as_str().unwrap(),
            two.as_str().unwrap()
        );
        assert!(
            judged.iter().any(|j| j.contains(&shown)),
            "no judge prompt showed {shown:?}: {judged:#?}"
        );
    }
    assert!(kai.claude_ran().is_none(), "{:?}", kai.claude_ran());

    // The same seed gives the same order.
    let o = eval(
        &kai,
        &[
            "--probes",
            &probes_path(&kai),
            "--against",
            "codex:gpt-5.5",
            "--out",
            "again.json",
            "--seed",
            "7",
        ],
    );
    assert!(o.status.success(), "{}", out(&o));
    let again = report(&kai, "again.json");
    let order = |r: &Value| -> Vec<Value> {
        r["probes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["shown_first"].clone())
            .collect()
    };
    assert_eq!(order(&r), order(&again));
}

fn probes_path(kai: &Kai) -> String {
    kai.path("probes.jsonl").display().to_string()
}

/// Proves: a malformed probe line is refused before anything runs, with
/// exit 2 and the line named; no agent is started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_probe_line_is_refused_with_its_line() {
    let kai = Kai::start(Options::default()).await;
    let bad = "{\"id\": \"p1\", \"question\": \"q\", \"expected\": \"a\"}\n# fine\n{\"id\": \"p2\", \"question\": \"q\"\n";
    let probes = write(&kai, "bad.jsonl", bad);
    let o = eval(&kai, &["--probes", &probes, "--out", "r.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("line 3"), "{}", out(&o));
    assert!(kai.api.requests().is_empty(), "nothing may run");
    assert!(!kai.path("r.json").exists());
}

/// Proves: a judge that answers prose is that probe's error (with what it
/// said), the other probes are still judged, and the exit status is 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_judge_that_answers_garbage_is_an_error_not_an_abort() {
    let kai = Kai::start(Options::default()).await;
    let text = format!(
        "{PROBES}{{\"id\": \"p4\", \"question\": \"judge-garbage please\", \"expected\": \"x\"}}\n"
    );
    let probes = write(&kai, "probes.jsonl", &text);
    let o = eval(
        &kai,
        &[
            "--probes",
            &probes,
            "--out",
            "report.json",
            "--concurrency",
            "3",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let r = report(&kai, "report.json");
    assert_eq!(r["totals"]["errors"], 1, "{r}");
    let p4 = r["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "p4")
        .cloned()
        .unwrap();
    assert_eq!(p4["choice"], "error");
    assert!(
        p4["reasoning"].as_str().unwrap().contains("no JSON object"),
        "{p4}"
    );
    assert_eq!(r["probes"].as_array().unwrap().len(), 4);
}

/// Proves: arms and judge are checked before anything runs: a Claude
/// model for a codex arm is refused with the valid list, and a claude arm
/// on an install without CLAUDE_BIN is refused (exit 2, nothing started).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arms_are_validated_before_anything_runs() {
    let kai = Kai::start(Options {
        claude_tripwire: true,
        ..Options::default()
    })
    .await;
    let probes = write(&kai, "probes.jsonl", PROBES);
    let o = eval(&kai, &["--probes", &probes, "--against", "codex:opus"]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(
        out(&o).contains("it is a claude model") && out(&o).contains("gpt-6.1-sol"),
        "{}",
        out(&o)
    );
    let o = eval(&kai, &["--probes", &probes, "--judge", "claude:sonnet"]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("sets no CLAUDE_BIN"), "{}", out(&o));
    assert!(kai.api.requests().is_empty());
    assert!(kai.claude_ran().is_none());
}

/// Proves: codex against claude — arm B runs on the real Claude Code CLI
/// (its fake Messages API receives the questions), arm A and the judge on
/// codex.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_against_claude_runs_both_real_clis() {
    let kai = Kai::start(Options {
        users: vec![("alice", ALICE), ("bob", support::kai::BOB)],
        // bob on claude makes the install configure CLAUDE_BIN.
        user_backends: vec![(support::kai::BOB, "claude", None)],
        ..Options::default()
    })
    .await;
    let probes = write(&kai, "probes.jsonl", PROBES);
    let o = eval(
        &kai,
        &[
            "--probes",
            &probes,
            "--against",
            "claude:haiku",
            "--out",
            "report.json",
        ],
    );
    assert!(o.status.success(), "{}", out(&o));
    let r = report(&kai, "report.json");
    assert_eq!(r["arms"]["b"]["backend"], "claude");
    assert!(
        r["arms"]["b"]["cli_version"]
            .as_str()
            .unwrap()
            .contains("Claude Code"),
        "{r}"
    );
    assert_eq!(r["totals"]["errors"], 0, "{r}");
    assert_eq!(
        kai.claude_api.requests().len(),
        3,
        "one claude answer per probe"
    );
}

/// Proves: Ctrl-C (SIGINT) during a run writes the partial report — the
/// probes judged so far — exits 1, and leaves no agent running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_writes_the_partial_report() {
    let kai = Kai::start(Options::default()).await;
    // p1 is answered at once; p2's answers stream for 60 s.
    let text = "{\"id\": \"p1\", \"question\": \"quick one\", \"expected\": \"x\"}\n{\"id\": \"p2\", \"question\": \"slow 60\", \"expected\": \"x\"}\n";
    let probes = write(&kai, "probes.jsonl", text);
    let mut child = kai
        .cli_command(&[
            "eval",
            "--user",
            "alice",
            "--probes",
            &probes,
            "--out",
            "partial.json",
            "--concurrency",
            "2",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until p1 was judged (kai eval says so on stderr) and p2 streams.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let said = std::cell::RefCell::new(Vec::new());
    let judged = || {
        let mut said = said.borrow_mut();
        said.extend(rx.try_iter());
        said.iter().any(|l| l.contains("p1 judged"))
    };
    let streaming = || {
        kai.api
            .requests()
            .iter()
            .filter_map(support::fake_responses::last_user_text)
            .any(|t| t == "slow 60")
    };
    let going = support::poll_until(std::time::Duration::from_secs(30), || {
        (judged() && streaming()).then_some(())
    });
    assert!(
        going.await.is_some(),
        "the run never got going: {:?}",
        said.borrow()
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let child = std::cell::RefCell::new(child);
    let status = support::poll_until(std::time::Duration::from_secs(30), || {
        child.borrow_mut().try_wait().unwrap()
    });
    let status = status.await.expect("kai eval exits after Ctrl-C");
    assert_eq!(status.code(), Some(1));
    let r = report(&kai, "partial.json");
    let ids: Vec<&str> = r["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["p1"], "{r}");

    // No codex of this test's (every agent here has its CODEX_HOME) is left.
    let home = kai.path("codex-home").display().to_string();
    let left = || {
        kai::process::tree::snapshot()
            .into_iter()
            .filter(|p| p.pid != kai.pid())
            .filter(|p| {
                std::fs::read(format!("/proc/{}/environ", p.pid))
                    .is_ok_and(|e| String::from_utf8_lossy(&e).contains(&home))
            })
            .map(|p| p.pid)
            .collect::<Vec<_>>()
    };
    let gone = support::poll_until(std::time::Duration::from_secs(5), || {
        left().is_empty().then_some(())
    });
    assert!(gone.await.is_some(), "agents left running: {:?}", left());
}
