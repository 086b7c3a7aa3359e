//! An instant stand-in for `codex app-server`: the same NDJSON JSON-RPC
//! over stdio that kai speaks to the real codex 0.169.0 (`initialize`,
//! `account/read`, `thread/start`/`thread/resume`, `turn/start`,
//! `turn/interrupt`; replies as `item/agentMessage/delta`,
//! `item/completed`, `turn/completed`), with no model behind it, so that
//! tests can make an agent misbehave on cue and benchmarks can time kai
//! alone. Built as an example so it never ships in the `kai` package;
//! `benches/kai_bench/main.rs` compiles this same file in and becomes the agent
//! when run as `<bench> app-server`.
//!
//! The user text of `turn/start` is the script:
//! - default: `echo: <text>` in three deltas, then completion;
//! - `slow N`: N seconds of deltas (four a second) ending with `done.`;
//!   `turn/interrupt` ends it early;
//! - `pause MS …`: the first delta, MS milliseconds of silence, the rest;
//! - `huge N`: a small delta, then one stdout line of exactly N MiB (a
//!   delta notification), then a small delta and `turn/completed` — no
//!   `item/completed`, whose text would be just as long;
//! - `garbage`: non-JSON lines, binary junk, JSON that is not JSON-RPC and
//!   an answer to a request nobody made, then the default reply;
//! - `exit`: one delta, a helper process (`sleep`) left running as a tool
//!   would, then exit status 1 in the middle of the turn.
//!
//! When `CODEX_HOME` is set (kai passes it to agents of its own account),
//! every process start, thread and turn is appended as one JSON line to
//! `$CODEX_HOME/fake-agent.ndjson`. A turn carries the CLOCK_MONOTONIC
//! nanoseconds at which its `turn/start` line was read and each delta line
//! handed to stdout, which is what the benchmark compares with the fake
//! Telegram's clock.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Where the records go, inside `CODEX_HOME`.
pub const RECORD_FILE: &str = "fake-agent.ndjson";

/// The codex version this stands in for (kai compares it with `CODEX_VERSION`).
pub const VERSION: &str = "0.169.0";

fn main() -> ExitCode {
    let arg = std::env::args().nth(1).unwrap_or_default();
    as_codex(&arg).unwrap_or_else(|| {
        eprintln!("usage: fake_app_server app-server | --version");
        ExitCode::from(2)
    })
}

/// Behaves as `codex <arg>` for the two invocations kai makes; `None` for
/// anything else.
pub fn as_codex(arg: &str) -> Option<ExitCode> {
    match arg {
        "app-server" => Some(serve()),
        "--version" => {
            println!("codex-cli {VERSION}");
            Some(ExitCode::SUCCESS)
        }
        _ => None,
    }
}

/// Serves one agent session on stdin/stdout until stdin closes.
pub fn serve() -> ExitCode {
    let (tx, rx) = mpsc::channel();
    // A reader thread, so a streaming turn can still see `turn/interrupt`.
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().split(b'\n') {
            let Ok(line) = line else { break };
            let read_ns = monotonic_ns();
            if let Ok(v) = serde_json::from_slice::<Value>(&line) {
                if tx.send((read_ns, v)).is_err() {
                    break;
                }
            }
        }
    });
    let mut agent = Agent {
        rx,
        out: std::io::stdout(),
        record: std::env::var_os("CODEX_HOME").map(|d| PathBuf::from(d).join(RECORD_FILE)),
        thread: String::new(),
        turns: 0,
    };
    agent.record(json!({"event": "start"}));
    while let Ok((read_ns, msg)) = agent.rx.recv() {
        if let Err(code) = agent.handle(read_ns, &msg) {
            return code;
        }
    }
    ExitCode::SUCCESS
}

/// CLOCK_MONOTONIC in nanoseconds, the clock std's `Instant` reads on Linux.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to; CLOCK_MONOTONIC exists on every Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

struct Agent {
    rx: Receiver<(u64, Value)>,
    out: std::io::Stdout,
    record: Option<PathBuf>,
    thread: String,
    turns: u64,
}

/// What a turn's script decided about the rest of the session.
type Flow = Result<(), ExitCode>;

impl Agent {
    fn handle(&mut self, read_ns: u64, msg: &Value) -> Flow {
        let (Some(id), Some(method)) = (msg.get("id"), msg.get("method").and_then(Value::as_str))
        else {
            // Notifications (`initialized`) and answers need nothing from us.
            return Ok(());
        };
        let params = msg.get("params").cloned().unwrap_or(Value::Null);
        match method {
            "initialize" => self.answer(
                id,
                json!({"userAgent": "kai-fake-app-server/0.169.0", "platformFamily": "unix", "platformOs": "linux"}),
            ),
            "account/read" => self.answer(
                id,
                json!({"account": {"type": "apiKey"}, "requiresOpenaiAuth": true}),
            ),
            "thread/start" | "thread/resume" => {
                let resumed = method == "thread/resume";
                self.thread = match params.get("threadId").and_then(Value::as_str) {
                    Some(t) if resumed => t.to_string(),
                    _ => format!("fake-thread-{}-{}", std::process::id(), monotonic_ns()),
                };
                self.record(json!({"event": "thread", "thread": self.thread, "resumed": resumed}));
                let thread = json!({"thread": {"id": self.thread, "preview": "", "cwd": params.get("cwd")}});
                self.answer(id, thread)
            }
            "turn/start" => return self.turn(read_ns, id, &params),
            // No turn is running (a running one handles its own interrupt).
            "turn/interrupt" => self.answer(id, json!({})),
            other => self.send(&json!({"jsonrpc": "2.0", "id": id,
                "error": {"code": -32601, "message": format!("the fake app-server does not implement `{other}`")}})),
        }
        Ok(())
    }

    fn turn(&mut self, read_ns: u64, id: &Value, params: &Value) -> Flow {
        self.turns += 1;
        let text: String = params
            .get("input")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|i| i.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n");
        let mut turn = Turn {
            id: format!("turn-{}", self.turns),
            item: format!("msg-{}", self.turns),
            deltas: Vec::new(),
            interrupted: false,
        };
        self.answer(
            id,
            json!({"turn": {"id": turn.id, "status": "inProgress", "items": [], "error": null}}),
        );
        self.notify(
            "turn/started",
            json!({"threadId": self.thread, "turn": {"id": turn.id, "status": "inProgress"}}),
        );
        self.notify(
            "item/started",
            json!({"threadId": self.thread, "turnId": turn.id,
                "item": {"type": "agentMessage", "id": turn.item, "text": ""}}),
        );
        let words: Vec<&str> = text.split_whitespace().collect();
        let number = |default: u64| words.get(1).and_then(|w| w.parse().ok()).unwrap_or(default);
        let echo = format!("echo: {text}");
        let mut completed = Some(echo.clone());
        match words.first().copied().unwrap_or("") {
            "slow" => {
                let ticks = number(6) * 4;
                let mut reply = String::new();
                for i in 1..=ticks {
                    let part = if i == ticks {
                        "done.".to_string()
                    } else {
                        format!("slow part {i} of {ticks}, still going ")
                    };
                    self.delta(&mut turn, &part);
                    reply.push_str(&part);
                    if i < ticks && !self.wait(&mut turn, Duration::from_millis(250)) {
                        break;
                    }
                }
                completed = Some(reply);
            }
            "pause" => {
                let parts = thirds(&echo);
                self.delta(&mut turn, &parts[0]);
                if self.wait(&mut turn, Duration::from_millis(number(100))) {
                    for p in &parts[1..] {
                        self.delta(&mut turn, p);
                    }
                }
            }
            "huge" => {
                self.delta(&mut turn, &format!("{echo}: before the big line. "));
                self.huge_line(&turn, number(17) as usize * 1024 * 1024);
                self.delta(&mut turn, "After the big line.");
                completed = None;
            }
            "garbage" => {
                self.garbage();
                for p in thirds(&echo) {
                    self.delta(&mut turn, &p);
                }
            }
            "exit" => {
                self.delta(&mut turn, &format!("{echo}: the agent is about to crash. "));
                // Its own stdio, as codex gives its tools: only the agent's
                // exit can close kai's end of the pipe.
                let helper = std::process::Command::new("sleep")
                    .arg("300")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn();
                let helper_pid = helper.as_ref().map(|c| c.id()).unwrap_or(0);
                self.record(json!({"event": "helper", "helper_pid": helper_pid}));
                self.record_turn(&turn, &text, read_ns);
                eprintln!("fake app-server: exiting in the middle of a turn, as scripted");
                return Err(ExitCode::from(1));
            }
            _ => {
                for p in thirds(&echo) {
                    self.delta(&mut turn, &p);
                }
            }
        }
        if let (Some(full), false) = (&completed, turn.interrupted) {
            self.notify(
                "item/completed",
                json!({"threadId": self.thread, "turnId": turn.id,
                    "item": {"type": "agentMessage", "id": turn.item, "text": full}}),
            );
        }
        let status = if turn.interrupted {
            "interrupted"
        } else {
            "completed"
        };
        self.notify(
            "turn/completed",
            json!({"threadId": self.thread, "turn": {"id": turn.id, "status": status, "error": null}}),
        );
        self.record_turn(&turn, &text, read_ns);
        Ok(())
    }

    /// Waits `d` while answering requests; false once the turn was interrupted.
    fn wait(&mut self, turn: &mut Turn, d: Duration) -> bool {
        let until = Instant::now() + d;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Err(RecvTimeoutError::Timeout) => return true,
                // kai went away: nothing left to say to anyone.
                Err(RecvTimeoutError::Disconnected) => std::process::exit(0),
                Ok((_, msg)) => {
                    let id = msg.get("id").cloned().unwrap_or(Value::Null);
                    match msg.get("method").and_then(Value::as_str) {
                        Some("turn/interrupt") => {
                            self.answer(&id, json!({}));
                            turn.interrupted = true;
                            return false;
                        }
                        Some(_) if !id.is_null() => self.send(&json!({"jsonrpc": "2.0", "id": id,
                            "error": {"code": -32600, "message": "a turn is running"}})),
                        _ => {}
                    }
                }
            }
        }
    }

    fn delta(&mut self, turn: &mut Turn, text: &str) {
        let params =
            json!({"threadId": self.thread, "turnId": turn.id, "itemId": turn.item, "delta": text});
        // Read before the write: the write wakes kai, which often runs
        // before this thread does again, so a later reading can postdate
        // kai's whole reaction to the delta.
        turn.deltas.push(monotonic_ns());
        self.notify("item/agentMessage/delta", params);
    }

    /// One delta notification padded to exactly `len` bytes before its newline.
    fn huge_line(&mut self, turn: &Turn, len: usize) {
        let head = json!({"jsonrpc": "2.0", "method": "item/agentMessage/delta",
            "params": {"threadId": self.thread, "turnId": turn.id, "itemId": turn.item, "delta": ""}})
        .to_string();
        // `…"delta":""}}`: the padding goes between the two quotes.
        let cut = head.len() - 3;
        let mut line = Vec::with_capacity(len + 1);
        line.extend_from_slice(&head.as_bytes()[..cut]);
        line.resize(len.max(head.len()) - 3, b'x');
        line.extend_from_slice(&head.as_bytes()[cut..]);
        line.push(b'\n');
        self.write(&line);
    }

    fn garbage(&mut self) {
        let mut junk: Vec<u8> = Vec::new();
        junk.extend_from_slice(b"this is not JSON at all\n");
        junk.extend_from_slice(b"\xff\xfe\x00\x01binary\x1b[31m junk\x00\n");
        junk.extend_from_slice(b"{\"truncated\": \n");
        junk.extend_from_slice(b"[1, 2, 3]\n");
        junk.extend_from_slice(b"{\"method\": 42}\n");
        junk.extend_from_slice(b"{\"jsonrpc\": \"2.0\", \"id\": 987654, \"result\": {}}\n");
        junk.extend_from_slice(b"\n\r\n   \n");
        junk.extend(std::iter::repeat_n(b'#', 100_000));
        junk.push(b'\n');
        self.write(&junk);
    }

    fn answer(&mut self, id: &Value, result: Value) {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "result": result}));
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn send(&mut self, v: &Value) {
        let mut line = v.to_string().into_bytes();
        line.push(b'\n');
        self.write(&line);
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut out = self.out.lock();
        if out.write_all(bytes).and_then(|()| out.flush()).is_err() {
            // kai closed our stdout: it is done with us.
            std::process::exit(0);
        }
    }

    fn record_turn(&mut self, turn: &Turn, text: &str, read_ns: u64) {
        self.record(json!({"event": "turn", "thread": self.thread, "text": text,
            "turn_start_ns": read_ns, "delta_ns": turn.deltas, "interrupted": turn.interrupted}));
    }

    fn record(&self, mut v: Value) {
        let Some(path) = &self.record else { return };
        v["pid"] = json!(std::process::id());
        let mut line = v.to_string();
        line.push('\n');
        // One write per line on an O_APPEND file: lines of concurrent agents never mix.
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path);
        if let Ok(mut f) = file {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

struct Turn {
    id: String,
    item: String,
    /// CLOCK_MONOTONIC ns just before each delta line was written.
    deltas: Vec<u64>,
    interrupted: bool,
}

/// The text in three pieces (at character boundaries), as a model streams it.
fn thirds(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len().div_ceil(3).max(1);
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}
