//! The public webhook listener under an unauthenticated flood (issue 21;
//! docs/design.md, "The webhook listener's limits"), against kai started
//! with systemd's default soft open-files limit (1024) and a real codex
//! agent: big forged bodies are refused without kai's memory following
//! them; a thousand stalled connections neither keep a signed delivery out
//! nor starve the agents of descriptors, and are closed in time. The
//! figures are printed (`--nocapture`) for the closing note.

mod support;

use std::time::{Duration, Instant};

use kai::config::token::Secret;
use kai::github::signature::sign;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use support::fake_github::FakeGithub;
use support::github_kai::{GithubKai, REPO, SECRET};
use support::kai::ALICE;

const FLOOD: usize = 40;
const BODY: usize = 20 * 1024 * 1024;
const STALLED: usize = 1100;
const MIB: u64 = 1024;

/// A field of `/proc/<pid>/status`, in KiB.
fn status_kib(pid: i32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap()
}

/// Resident memory of `pid`, in KiB: all of it.
fn rss_kib(pid: i32) -> u64 {
    status_kib(pid, "VmRSS")
}

/// The part of it a flood could grow (heap, stacks), not the binary's
/// pages: a debug build maps about 15 MiB more code than a release one.
fn anon_kib(pid: i32) -> u64 {
    status_kib(pid, "RssAnon")
}

fn open_fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// The test itself holds over a thousand sockets at once.
fn raise_own_nofile(want: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on this process's own limit.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_max = lim.rlim_max.max(want);
        lim.rlim_cur = lim.rlim_cur.max(want);
        assert_eq!(
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim),
            0,
            "cannot raise the test's own open-files limit to {want}"
        );
    }
}

/// Posts a delivery of `len` filler bytes with the extra header lines
/// `extra`, reading while writing (kai answers a refusal before the body is
/// in). The status kai answered, or None when it closed without one.
async fn post(port: u16, extra: &str, len: usize) -> Option<u16> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let (mut rd, mut wr) = stream.into_split();
    let head = format!(
        "POST /github/webhook HTTP/1.1\r\nhost: kai\r\ncontent-type: application/json\r\n\
         x-github-event: pull_request\r\nx-github-delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958\r\n\
         content-length: {len}\r\n{extra}\r\n"
    );
    let writer = tokio::spawn(async move {
        wr.write_all(head.as_bytes()).await?;
        let chunk = vec![b'x'; 64 * 1024];
        let mut left = len;
        while left > 0 {
            let n = left.min(chunk.len());
            wr.write_all(&chunk[..n]).await?;
            left -= n;
        }
        // Keep the write half open until the answer is read.
        Ok::<_, std::io::Error>(wr)
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    let status = loop {
        match rd.read(&mut buf).await {
            Ok(0) | Err(_) => break None,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
        if let Some(end) = answer.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&answer[..end]).to_string();
            break line.split_whitespace().nth(1).and_then(|c| c.parse().ok());
        }
    };
    writer.abort();
    status
}

/// Sends `FLOOD` bodies of `BODY` bytes at once, each with header lines
/// `extra`, sampling kai's memory meanwhile; returns (each answer, the
/// peak RSS in KiB).
async fn flood(s: &GithubKai, extra: &str) -> (Vec<Option<u16>>, u64) {
    let pid = s.kai.pid();
    let port = s.port();
    let mut posts = JoinSet::new();
    for _ in 0..FLOOD {
        let extra = extra.to_string();
        posts.spawn(async move { post(port, &extra, BODY).await });
    }
    let mut peak = rss_kib(pid);
    let mut answers = Vec::new();
    loop {
        tokio::select! {
            done = posts.join_next() => match done {
                Some(a) => answers.push(a.unwrap()),
                None => break,
            },
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        peak = peak.max(rss_kib(pid));
    }
    (answers, peak)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_survives_an_unauthenticated_flood() {
    raise_own_nofile(4096);
    let s = GithubKai::start_with(
        "codex",
        json!({"repos": [REPO]}),
        FakeGithub::start().await,
        Vec::new(),
        Some(1024),
    )
    .await;
    let pid = s.kai.pid();
    assert!(
        s.kai.log().contains("max_connections=256"),
        "a soft limit of 1024 should give the listener a quarter of it\n{}",
        s.kai.log()
    );
    // A first turn, so the idle figure includes a chat and its agent's pipes.
    s.kai.tg.send_text(ALICE, "before the flood");
    s.kai
        .wait_text(ALICE, 120, |t| t.contains("echo: before the flood"))
        .await;
    let (idle, idle_anon) = (rss_kib(pid), anon_kib(pid));

    // 0. A body refused on its headers: the answer reaches a client still
    // sending it (kai closes only after reading what is still coming, for
    // a moment), every time, not a broken pipe.
    for n in 0..5 {
        let huge = vec![b' '; 25 * 1024 * 1024 + 1];
        let id = format!("1111111{n}-cc78-11e3-81ab-4c9367dc0958");
        let status = s.deliver("pull_request", &id, huge, Some("")).await;
        assert_eq!(status.as_u16(), 413);
    }

    // 1. Big bodies: unsigned ones are refused on their headers; forged
    // ones stream through the signature check into the spool, as many as
    // its budget holds, and the rest are refused at once.
    let (unsigned, peak_unsigned) = flood(&s, "").await;
    let forged_sig = format!("x-hub-signature-256: sha256={}\r\n", "0".repeat(64));
    let (forged, peak_forged) = flood(&s, &forged_sig).await;
    let count = |answers: &[Option<u16>], code| answers.iter().filter(|a| **a == code).count();
    println!(
        "unsigned: {} answered 401, {} closed without an answer; forged: {} answered 401, \
         {} answered 503 (spool budget), {} answered 408, {} closed without an answer",
        count(&unsigned, Some(401)),
        count(&unsigned, None),
        count(&forged, Some(401)),
        count(&forged, Some(503)),
        count(&forged, Some(408)),
        count(&forged, None),
    );
    assert!(
        unsigned.iter().all(|a| matches!(a, Some(401) | None)),
        "an unsigned body was not refused: {unsigned:?}"
    );
    assert!(
        count(&unsigned, Some(401)) > 0,
        "kai never answered 401: {unsigned:?}"
    );
    // A refusal is a refusal: a wrong signature, the budget spent, or (on
    // a machine too busy to take 20 MB in 20 s) a body too slow.
    assert!(
        forged
            .iter()
            .all(|a| matches!(a, Some(401 | 503 | 408) | None)),
        "a forged body was not refused: {forged:?}"
    );
    assert!(
        count(&forged, Some(401)) > 0,
        "no forged body was read to the end and refused: {forged:?}"
    );
    let peak = peak_unsigned.max(peak_forged);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (after, after_anon) = (rss_kib(pid), anon_kib(pid));
    println!(
        "RSS: idle {idle} KiB ({idle_anon} KiB anonymous), peak during the floods {peak} KiB, \
         10 s later {after} KiB ({after_anon} KiB anonymous)"
    );
    assert!(
        peak < 64 * MIB,
        "kai's RSS reached {peak} KiB under the flood"
    );
    // Back to its idle footprint: under 20 MiB for what the flood could
    // have grown, and the whole within 4 MiB of before (the release
    // binary's whole RSS is under 20 MiB too: KAI_TEST_BIN, README).
    assert!(
        after_anon < 20 * MIB,
        "kai holds {after_anon} KiB of anonymous memory 10 s after the flood"
    );
    assert!(
        after < idle + 4 * MIB,
        "kai's RSS is {after} KiB 10 s after the flood, {idle} KiB before"
    );
    // Spooled bodies are unnamed files: none may stay open after the flood.
    let spool = s.kai.path("data/github/spool").display().to_string();
    let held: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|t| t.display().to_string())
        .filter(|t| t.starts_with(&spool))
        .collect();
    assert!(held.is_empty(), "spool files still open: {held:?}");
    assert!(
        s.gh.requests().iter().all(|r| r.starts_with("GET ")),
        "{:?}",
        s.gh.requests()
    );

    // 2. Connections that never finish their head.
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        let mut c = TcpStream::connect(("127.0.0.1", s.port())).await.unwrap();
        // Half a head, then nothing.
        c.write_all(b"POST /github/webhook HTTP/1.1\r\nhost: kai\r\n")
            .await
            .unwrap();
        stalled.push(c);
    }
    let opened = tokio::time::Instant::now();
    // Kai may still be taking connections from its backlog: the figure
    // counts once it has stopped growing.
    let mut fds = open_fds(pid);
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = open_fds(pid);
        if now == fds {
            break;
        }
        fds = now;
    }
    println!("kai holds {fds} descriptors with {STALLED} stalled connections open");
    assert!(
        fds < 512,
        "kai holds {fds} descriptors: the listener ate into the reserve"
    );

    let body = br#"{"zen": "Keep it logically awesome."}"#.to_vec();
    let sent = Instant::now();
    let pong = tokio::time::timeout(
        Duration::from_secs(5),
        s.http
            .post(s.url("/github/webhook"))
            .header("x-github-event", "ping")
            .header("x-github-delivery", "0b989ba4-242f-11e5-81e1-c7b6ef76bd05")
            .header("x-hub-signature-256", sign(&Secret::new(SECRET), &body))
            .body(body)
            .send(),
    )
    .await
    .expect("a signed ping got no answer within 5 s")
    .unwrap();
    println!(
        "signed ping answered {} in {:?}",
        pong.status(),
        sent.elapsed()
    );
    assert_eq!(pong.status().as_u16(), 200);

    s.kai.tg.send_text(ALICE, "during the flood");
    s.kai
        .wait_text(ALICE, 120, |t| t.contains("echo: during the flood"))
        .await;

    let mut open_after = 0;
    let mut buf = [0u8; 64];
    for c in &mut stalled {
        loop {
            match tokio::time::timeout_at(opened + Duration::from_secs(60), c.read(&mut buf)).await
            {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                // Whatever kai said, the close must follow.
                Ok(Ok(_)) => continue,
                Err(_) => {
                    open_after += 1;
                    break;
                }
            }
        }
    }
    println!(
        "stalled connections all closed after {:?}",
        opened.elapsed()
    );
    assert_eq!(
        open_after, 0,
        "{open_after} stalled connections were still open 60 s later"
    );
    let log = s.kai.log();
    assert!(
        !log.contains("Too many open files"),
        "kai ran out of descriptors:\n{log}"
    );
}
