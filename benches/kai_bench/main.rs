//! Kai's budgets (docs/design.md, "Budgets") measured on this machine, each
//! figure printed next to its target: idle memory, spawn → READY=1, bridge
//! overhead per turn, and 50 chats beside a slow one. The daemon is the
//! built `kai` binary against the loopback fake Telegram; the agent is the
//! instant fake app-server (examples/fake_app_server.rs), which this binary
//! becomes when kai runs it as `<CODEX_BIN> app-server`, so no agent
//! binary has to be built separately.
//!
//! `cargo bench --bench kai_bench` runs it in full. `cargo test
//! --all-targets` runs it without `--bench`: then it is a quick smoke run at
//! a small scale that only checks every measurement still works.

#[path = "../../examples/fake_app_server.rs"]
#[allow(dead_code)]
mod fake_app_server;
#[path = "../../tests/support/mod.rs"]
mod support;

mod clock;
mod concurrency;
mod startup;
mod stats;
mod turns;
mod webhook;

use std::process::ExitCode;
use std::time::Duration;

use stats::{ms, verdict, Summary};

struct Scale {
    name: &'static str,
    ready_runs: usize,
    settle: Duration,
    turns: usize,
    chats: usize,
    rounds: usize,
    slow_secs: u64,
    deliveries: usize,
    review_secs: u64,
}

const FULL: Scale = Scale {
    name: "full",
    ready_runs: 20,
    settle: Duration::from_secs(3),
    turns: 200,
    chats: 50,
    rounds: 5,
    slow_secs: 30,
    deliveries: 200,
    review_secs: 30,
};

const SMOKE: Scale = Scale {
    name: "smoke (no --bench: small scale, figures not meaningful)",
    ready_runs: 2,
    settle: Duration::from_millis(500),
    turns: 5,
    chats: 4,
    rounds: 2,
    slow_secs: 10,
    deliveries: 10,
    review_secs: 5,
};

fn main() -> ExitCode {
    let arg = std::env::args().nth(1).unwrap_or_default();
    if let Some(code) = fake_app_server::as_codex(&arg) {
        return code;
    }
    let scale = if std::env::args().any(|a| a == "--bench") {
        FULL
    } else {
        SMOKE
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run(&scale));
    ExitCode::SUCCESS
}

async fn run(scale: &Scale) {
    let agent = std::env::current_exe().expect("the bench's own path");
    println!("kai_bench, {} run", scale.name);
    let clock_ok = match clock::check() {
        Ok(v) => {
            println!("clock: std Instant is CLOCK_MONOTONIC here: {v}");
            true
        }
        Err(v) => {
            println!("clock: WARNING, std Instant is not CLOCK_MONOTONIC: {v}; [3] pairs clocks that differ");
            false
        }
    };
    let anchor = clock::Anchor::now();

    println!(
        "\n[1] idle daemon, 10 configured users, {:?} after READY=1 (target < 15 MiB, aim 8 MiB)",
        scale.settle
    );
    let idle = startup::idle_memory(&agent, &[], scale.settle).await;
    let rss_mib = idle.rss as f64 / 1024.0;
    println!("    {idle}  -> {}", verdict(rss_mib < 15.0));
    for arenas in ["2", "1"] {
        let m = startup::idle_memory(&agent, &[("MALLOC_ARENA_MAX", arenas)], scale.settle).await;
        println!("    with MALLOC_ARENA_MAX={arenas}: {m}");
    }

    println!("\n[2] spawn -> READY=1 on NOTIFY_SOCKET, local fake Telegram, {} cold starts (target < 100 ms)", scale.ready_runs);
    let s = startup::ready_times(&agent, scale.ready_runs).await;
    if let (Some(ready), Some(get_me)) = (Summary::of(&s.ready), Summary::of(&s.get_me)) {
        println!(
            "    READY=1: median {} ms, max {} ms  -> {}",
            ms(ready.p50),
            ms(ready.max),
            verdict(ready.p50 < Duration::from_millis(100))
        );
        println!(
            "    of which spawn -> getMe request received: median {} ms, max {} ms",
            ms(get_me.p50),
            ms(get_me.max)
        );
    }

    for conversations in [1, 10] {
        let place = match conversations {
            1 => "a chat's only conversation".to_string(),
            n => format!("one topic of {n}, each with its agent"),
        };
        println!(
            "\n[3] bridge overhead per turn, {} turns in {place}, instant fake agent (target < 2 ms p50)",
            scale.turns
        );
        let o = turns::run(&agent, scale.turns, &anchor, conversations).await;
        overhead(&o, clock_ok);
    }

    println!(
        "\n[4] {} chats; {} rounds of one message to each of {} chats at once; complete-reply latency",
        scale.chats,
        scale.rounds,
        scale.chats - 1
    );
    let c = concurrency::run(&agent, scale.chats, scale.rounds, scale.slow_secs).await;
    if let (Some(alone), Some(beside)) = (Summary::of(&c.baseline), Summary::of(&c.with_slow)) {
        println!("    without a slow chat:            {alone}");
        println!(
            "    while one chat runs `slow {}`: {beside}",
            scale.slow_secs
        );
        // "Delayed" = the median at least doubled and grew by over 5 ms: a
        // slow chat blocking others would add whole seconds.
        let delayed =
            beside.p50 > alone.p50 * 2 && beside.p50 > alone.p50 + Duration::from_millis(5);
        println!(
            "    (target: not delayed; counted as delayed if the median doubles and grows by > 5 ms) -> {}{}",
            verdict(!delayed),
            if c.slow_overlapped {
                ""
            } else {
                " (WARNING: the slow reply had ended before the last round)"
            }
        );
    }
    if let Some(m) = c.memory_after {
        println!("    daemon with {} agents running: {m}", scale.chats);
    }

    println!(
        "\n[5] GitHub webhook: {} signed deliveries back to back while a review runs (target p99 < 20 ms)",
        scale.deliveries
    );
    let w = webhook::run(scale.deliveries, scale.review_secs).await;
    if let Some(s) = Summary::of(&w.latencies) {
        println!(
            "    request sent -> 202 received: {s}  -> {}{}",
            verdict(s.p99 < Duration::from_millis(20) && w.refused == 0),
            if w.review_overlapped {
                ""
            } else {
                " (WARNING: the review had ended before the burst did)"
            }
        );
    }
    if w.refused > 0 {
        println!("    {} deliveries were not answered 202", w.refused);
    }
}

/// Prints what [3] measured.
fn overhead(o: &turns::Overhead, clock_ok: bool) {
    if let (Some(inb), Some(out)) = (Summary::of(&o.inbound), Summary::of(&o.outbound)) {
        println!(
            "    (a) update delivered to kai's pending getUpdates -> turn/start read by the agent:"
        );
        println!(
            "        {inb}  -> {}",
            verdict(inb.p50 < Duration::from_millis(2))
        );
        println!("    (b) first delta written by the agent -> first sendMessage of the reply received by Telegram");
        println!("        (the first message only: later edits are throttled to 1/s on purpose):");
        println!(
            "        {out}  -> {}",
            verdict(out.p50 < Duration::from_millis(2))
        );
    }
    if o.unpaired + o.negative > 0 || !clock_ok {
        println!(
            "    {} turn(s) unpaired, {} with a negative interval",
            o.unpaired, o.negative
        );
    }
    if let Some(m) = o.memory_after {
        println!("    daemon after these turns: {m}");
    }
}
