//! Loopback fake of the Telegram Bot API for integration tests.
//!
//! Speaks the same wire format as `https://api.telegram.org`: `POST
//! {url}/bot{token}/{method}` with a JSON body (what teloxide sends), answered
//! with `{"ok":true,"result":...}` or `{"ok":false,"error_code":..,
//! "description":..}`. Error descriptions are copied verbatim from Telegram
//! because teloxide turns them into `ApiError` variants by exact string match.
//!
//! Files: users' photos, documents and voice notes are queued with their
//! bytes; `getFile` hands out a path (refusing files over 20 MB with
//! Telegram's wording) and `GET {url}/file/bot{token}/{path}` serves the
//! bytes. `sendDocument`/`sendPhoto` multipart uploads are parsed and kept.
//!
//! Topics (`topics.rs`): messages in a topic of a private chat or of a forum
//! supergroup carry `message_thread_id`; every message the bot sends records
//! the `message_thread_id` (and the message it replies to) it was sent with.
#![allow(dead_code)] // each test binary uses a different subset

mod topics;
pub use topics::Where;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::poll_until;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::Notify;

/// Telegram's limit on message text, in UTF-16 code units after entity parsing.
const MAX_TEXT: usize = 4096;
/// Canonical spellings, so recorded calls don't depend on the client's casing.
const METHODS: &str = "getMe getUpdates sendMessage editMessageText deleteMessage sendChatAction \
    getFile sendDocument sendPhoto setMyCommands getMyCommands deleteMyCommands deleteWebhook setWebhook getWebhookInfo logOut close";
const NOT_MODIFIED: &str = "Bad Request: message is not modified: specified new message content \
    and reply markup are exactly the same as a current content and reply markup of the message";

/// A loopback Bot API server; clones share state. Dropping it does not stop the server.
#[derive(Clone)]
pub struct FakeTelegram {
    inner: Arc<Inner>,
    addr: std::net::SocketAddr,
}

/// One HTTP request the fake received, recorded even when it failed.
#[derive(Clone, Debug)]
pub struct Call {
    /// Canonical camelCase method name, e.g. "sendMessage".
    pub method: String,
    /// Request parameters (JSON body merged with query string).
    pub params: Value,
    /// HTTP status answered; 0 while still in flight or when the call was hung.
    pub status: u16,
    /// When the request arrived.
    pub at: Instant,
}

/// A file the bot uploaded (sendDocument / sendPhoto).
#[derive(Clone, Debug)]
pub struct Uploaded {
    /// "sendDocument" or "sendPhoto".
    pub method: String,
    pub chat_id: i64,
    /// The `message_thread_id` it was sent with.
    pub thread_id: Option<i64>,
    /// The file name of the multipart part.
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What a user's file message carries.
pub struct FileMessage<'a> {
    /// "photo", "document" or "voice".
    pub kind: &'a str,
    pub bytes: Vec<u8>,
    pub file_name: Option<&'a str>,
    pub mime_type: Option<&'a str>,
    pub caption: Option<&'a str>,
    pub media_group_id: Option<&'a str>,
}

/// Telegram's limit on files a bot may download.
const MAX_DOWNLOAD: usize = 20 * 1024 * 1024;

/// Current state of a message the bot sent.
#[derive(Clone, Debug)]
pub struct BotMessage {
    /// Chat the message lives in.
    pub chat_id: i64,
    /// Telegram message id, unique per chat.
    pub message_id: i64,
    /// Latest text, exactly as the bot sent it (markup not parsed).
    pub text: String,
    /// parse_mode of the latest send/edit.
    pub parse_mode: Option<String>,
    /// Number of successful edits.
    pub edits: usize,
    /// The `message_thread_id` it was sent with (its topic).
    pub thread_id: Option<i64>,
    /// The message it replies to (`reply_parameters.message_id`).
    pub reply_to: Option<i64>,
}

#[derive(Clone, Copy)]
enum Fault {
    Fail(u16),
    RateLimit(u64),
    Hang,
}

struct FaultRule {
    method: String, // lowercase, or "*"
    remaining: usize,
    fault: Fault,
}

#[derive(Default)]
struct State_ {
    calls: Vec<Call>,
    /// Queued updates not yet confirmed by an offset: (update_id, update JSON).
    updates: Vec<(i64, Value)>,
    next_update_id: i64,
    /// Last message id used per chat (user and bot messages share the sequence).
    last_message_id: HashMap<i64, i64>,
    bot_messages: HashMap<i64, Vec<BotMessage>>,
    commands: Value,
    reject_formatting: bool,
    faults: Vec<FaultRule>,
    /// Chats whose user blocked the bot: every sendMessage to them is 403.
    blocked: Vec<i64>,
    /// Bumped by every getUpdates; an older long poll that sees a newer one gets 409, like Telegram.
    poll_generation: u64,
    /// Files users sent, by file_id: (file_path, bytes).
    files: HashMap<String, (String, Vec<u8>)>,
    uploads: Vec<Uploaded>,
    /// Group chats the tests created (`topics.rs`), by id; any other chat
    /// is the private chat of the user with that id.
    groups: HashMap<i64, Value>,
}

struct Inner {
    state: Mutex<State_>,
    /// Wakes long-polling getUpdates when an update is queued.
    new_update: Notify,
}

type Reply = (StatusCode, Value);

impl FakeTelegram {
    /// The only bot token the fake accepts.
    pub const TOKEN: &'static str = "123456:TEST-TOKEN";
    /// Bot user id (the part of TOKEN before the colon).
    pub const BOT_ID: i64 = 123456;

    /// Binds 127.0.0.1 on an ephemeral port and serves from a thread of its own until the process exits.
    pub async fn start() -> FakeTelegram {
        let inner = Arc::new(Inner {
            state: Mutex::new(State_ {
                next_update_id: 1000,
                commands: json!([]),
                ..Default::default()
            }),
            new_update: Notify::new(),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().fallback(handle).with_state(inner.clone());
        // Own runtime, so the fake keeps answering even while the test's runtime
        // (often current_thread) is blocked, e.g. in std::process::Command::output().
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap()
            })
        });
        FakeTelegram { inner, addr }
    }

    /// Base URL to pass as TELEGRAM_API_URL (no trailing slash, no path).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues a private-chat text message from user `from_id`; returns its update_id.
    pub fn send_text(&self, from_id: i64, text: &str) -> i64 {
        self.send_text_in(from_id, Where::private(from_id), text)
    }

    /// Queues a text message from user `from_id` in a chat and topic; returns its update_id.
    pub fn send_text_in(&self, from_id: i64, at: Where, text: &str) -> i64 {
        let mut st = self.inner.state.lock().unwrap();
        let message_id = next_message_id(&mut st, at.chat);
        let user = json!({"id": from_id, "is_bot": false, "first_name": format!("User{from_id}"),
            "username": format!("user{from_id}"), "language_code": "en"});
        let mut msg = json!({"message_id": message_id, "from": user, "chat": chat_json(&st, at.chat),
            "date": now(), "text": text});
        at.mark(&mut msg);
        // Telegram marks a leading /command with a bot_command entity.
        if text.starts_with('/') {
            let cmd = text.split_whitespace().next().unwrap_or("");
            msg["entities"] =
                json!([{"type": "bot_command", "offset": 0, "length": utf16_len(cmd)}]);
        }
        let update_id = push_update(&mut st, msg);
        drop(st);
        self.inner.new_update.notify_waiters();
        update_id
    }

    /// Queues a private-chat message with a file (photo, document, voice)
    /// from user `from_id`; returns its update_id.
    pub fn send_file(&self, from_id: i64, f: FileMessage) -> i64 {
        self.send_files(from_id, vec![f])
    }

    /// Queues several file messages at once, so one `getUpdates` answers
    /// them together (what Telegram does with an album); returns the last
    /// update_id.
    pub fn send_files(&self, from_id: i64, files: Vec<FileMessage>) -> i64 {
        self.send_files_in(from_id, Where::private(from_id), files)
    }

    /// [`send_files`](Self::send_files) in a chat and topic.
    pub fn send_files_in(&self, from_id: i64, at: Where, files: Vec<FileMessage>) -> i64 {
        let mut st = self.inner.state.lock().unwrap();
        let mut last = 0;
        for f in files {
            let mut msg = file_message(&mut st, from_id, at.chat, f);
            at.mark(&mut msg);
            last = push_update(&mut st, msg);
        }
        drop(st);
        self.inner.new_update.notify_waiters();
        last
    }
}

/// A message carrying `f`, its file registered for `getFile`.
fn file_message(st: &mut State_, from_id: i64, chat: i64, f: FileMessage) -> Value {
    let message_id = next_message_id(st, chat);
    let n = st.files.len();
    let (file_id, unique) = (format!("file-{from_id}-{n}"), format!("u{from_id}x{n}"));
    let path = format!("{}s/file_{n}", f.kind);
    let meta = json!({"file_id": file_id, "file_unique_id": unique, "file_size": f.bytes.len()});
    st.files.insert(file_id, (path, f.bytes));
    let user = json!({"id": from_id, "is_bot": false, "first_name": format!("User{from_id}")});
    let mut msg = json!({"message_id": message_id, "from": user, "chat": chat_json(st, chat),
            "date": now()});
    match f.kind {
        "photo" => {
            // Telegram sends a thumbnail size too; the bot must pick the largest.
            let mut thumb = meta.clone();
            thumb["file_id"] = json!("thumbnail-not-served");
            thumb["file_size"] = json!(100);
            let mut big = meta;
            big["width"] = json!(800);
            big["height"] = json!(600);
            thumb["width"] = json!(90);
            thumb["height"] = json!(67);
            msg["photo"] = json!([thumb, big]);
        }
        "document" => {
            let mut doc = meta;
            if let Some(n) = f.file_name {
                doc["file_name"] = json!(n);
            }
            if let Some(m) = f.mime_type {
                doc["mime_type"] = json!(m);
            }
            msg["document"] = doc;
        }
        "voice" => {
            let mut voice = meta;
            voice["duration"] = json!(3);
            voice["mime_type"] = json!("audio/ogg");
            msg["voice"] = voice;
        }
        other => panic!("unknown file kind {other}"),
    }
    if let Some(c) = f.caption {
        msg["caption"] = json!(c);
    }
    if let Some(g) = f.media_group_id {
        msg["media_group_id"] = json!(g);
    }
    msg
}

/// Queues `msg` as the next update; returns its update_id.
fn push_update(st: &mut State_, msg: Value) -> i64 {
    let update_id = st.next_update_id;
    st.next_update_id += 1;
    st.updates
        .push((update_id, json!({"update_id": update_id, "message": msg})));
    update_id
}

impl FakeTelegram {
    /// The files the bot uploaded, in order.
    pub fn uploads(&self) -> Vec<Uploaded> {
        self.inner.state.lock().unwrap().uploads.clone()
    }

    /// Polls until the bot has uploaded at least `n` files; returns them.
    pub async fn wait_uploads(&self, n: usize, timeout: Duration) -> Option<Vec<Uploaded>> {
        poll_until(timeout, || Some(self.uploads()).filter(|u| u.len() >= n)).await
    }

    /// All calls so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.state.lock().unwrap().calls.clone()
    }

    /// Calls of one method (case-insensitive), in arrival order.
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        let calls = self.calls();
        calls
            .into_iter()
            .filter(|c| c.method.eq_ignore_ascii_case(method))
            .collect()
    }

    /// Current state of each bot message in the chat, in send order.
    pub fn messages(&self, chat_id: i64) -> Vec<BotMessage> {
        let st = self.inner.state.lock().unwrap();
        st.bot_messages.get(&chat_id).cloned().unwrap_or_default()
    }

    /// Text of the newest bot message in the chat.
    pub fn last_text(&self, chat_id: i64) -> Option<String> {
        self.messages(chat_id).pop().map(|m| m.text)
    }

    /// Polls (every ~20ms) until `pred` holds over the bot messages of `chat_id`, or timeout; returns the messages at that point or None.
    pub async fn wait_messages(
        &self,
        chat_id: i64,
        timeout: Duration,
        pred: impl Fn(&[BotMessage]) -> bool,
    ) -> Option<Vec<BotMessage>> {
        poll_until(timeout, || Some(self.messages(chat_id)).filter(|m| pred(m))).await
    }

    /// Polls until a call matching pred was recorded; returns it.
    pub async fn wait_call(&self, timeout: Duration, pred: impl Fn(&Call) -> bool) -> Option<Call> {
        poll_until(timeout, || self.calls().into_iter().find(|c| pred(c))).await
    }

    /// When on, any sendMessage/editMessageText with a parse_mode fails with "can't parse entities".
    pub fn reject_formatting(&self, on: bool) {
        self.inner.state.lock().unwrap().reject_formatting = on;
    }

    /// Answers the next `n` calls of `method` ("*" = any) with HTTP `status` and ok:false.
    pub fn fail_next(&self, method: &str, n: usize, status: u16) {
        self.add_fault(method, n, Fault::Fail(status));
    }

    /// Answers the next `n` calls of `method` with 429 and parameters.retry_after.
    pub fn rate_limit_next(&self, method: &str, n: usize, retry_after_secs: u64) {
        self.add_fault(method, n, Fault::RateLimit(retry_after_secs));
    }

    /// Accepts the next `n` calls of `method` and never answers them.
    pub fn hang_next(&self, method: &str, n: usize) {
        self.add_fault(method, n, Fault::Hang);
    }

    /// The user of `chat` blocks the bot: sending there is refused with
    /// Telegram's 403 until `unblock_chat`.
    pub fn block_chat(&self, chat: i64) {
        self.inner.state.lock().unwrap().blocked.push(chat);
    }

    pub fn unblock_chat(&self, chat: i64) {
        self.inner
            .state
            .lock()
            .unwrap()
            .blocked
            .retain(|c| *c != chat);
    }

    /// Drops every fault not yet used up: Telegram is back.
    pub fn clear_faults(&self) {
        self.inner.state.lock().unwrap().faults.clear();
    }

    fn add_fault(&self, method: &str, n: usize, fault: Fault) {
        let method = method.to_ascii_lowercase();
        let rule = FaultRule {
            method,
            remaining: n,
            fault,
        };
        self.inner.state.lock().unwrap().faults.push(rule);
    }
}

/// Single entry point: the path carries token and method, so routing is done by hand.
async fn handle(
    State(inner): State<Arc<Inner>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // File downloads: GET /file/bot<token>/<file_path>.
    if let Some(rest) = uri.path().strip_prefix("/file/bot") {
        let (token, path) = rest.split_once('/').unwrap_or((rest, ""));
        let st = inner.state.lock().unwrap();
        let found = st.files.values().find(|(p, _)| p == path);
        return match found {
            Some((_, bytes)) if token == FakeTelegram::TOKEN => {
                (StatusCode::OK, bytes.clone()).into_response()
            }
            _ => (StatusCode::NOT_FOUND, "Not Found").into_response(),
        };
    }
    let multipart = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("boundary=").nth(1))
        .map(|b| parse_multipart(&body, b.trim_matches('"')));
    // Path is "[/prefix]/bot<token>/<method>"; tolerate prefixes and doubled slashes.
    let mut segs = uri.path().split('/').filter(|s| !s.is_empty());
    let (token, raw_method) = match segs.by_ref().find(|s| s.starts_with("bot")) {
        Some(t) => (
            t["bot".len()..].to_string(),
            segs.next().unwrap_or("").to_string(),
        ),
        None => (String::new(), String::new()),
    };
    let method = METHODS
        .split_whitespace()
        .find(|m| m.eq_ignore_ascii_case(&raw_method))
        .map_or(raw_method.clone(), String::from);
    let mut params = parse_params(&uri, &body);
    let mut upload = Vec::new();
    for (name, file_name, data) in multipart.unwrap_or_default() {
        match file_name {
            Some(f) => upload.push((name, f, data)),
            None => {
                let text = String::from_utf8_lossy(&data).into_owned();
                params[name] = Value::String(text);
            }
        }
    }

    let idx = {
        let mut st = inner.state.lock().unwrap();
        let call = Call {
            method: method.clone(),
            params: params.clone(),
            status: 0,
            at: Instant::now(),
        };
        st.calls.push(call);
        st.calls.len() - 1
    };
    let (status, body) = if token != FakeTelegram::TOKEN {
        error(401, "Unauthorized")
    } else {
        match take_fault(&inner, &method) {
            Some(Fault::Hang) => std::future::pending().await,
            Some(Fault::Fail(code)) => {
                let reason = StatusCode::from_u16(code)
                    .ok()
                    .and_then(|s| s.canonical_reason());
                error(code, reason.unwrap_or("Injected failure"))
            }
            Some(Fault::RateLimit(secs)) => {
                let (s, mut b) = error(429, &format!("Too Many Requests: retry after {secs}"));
                b["parameters"] = json!({ "retry_after": secs });
                (s, b)
            }
            None if method == "getUpdates" => get_updates(&inner, &params).await,
            None if method == "sendDocument" || method == "sendPhoto" => {
                let mut st = inner.state.lock().unwrap();
                uploaded(&mut st, &method, &params, upload)
            }
            None => {
                let mut st = inner.state.lock().unwrap();
                dispatch(&mut st, &method, &params)
            }
        }
    };
    inner.state.lock().unwrap().calls[idx].status = status.as_u16();
    (status, axum::Json(body)).into_response()
}

/// Consumes one use of the first matching fault rule.
fn take_fault(inner: &Inner, method: &str) -> Option<Fault> {
    let mut st = inner.state.lock().unwrap();
    let rule = st
        .faults
        .iter_mut()
        .find(|r| r.remaining > 0 && (r.method == "*" || r.method.eq_ignore_ascii_case(method)))?;
    rule.remaining -= 1;
    Some(rule.fault)
}

/// Long poll: answer as soon as updates at/after `offset` exist, or `[]` after `timeout` s.
async fn get_updates(inner: &Inner, p: &Value) -> Reply {
    let offset = int(&p["offset"]).unwrap_or(0);
    let limit = int(&p["limit"]).unwrap_or(100).clamp(1, 100) as usize;
    let timeout = int(&p["timeout"]).unwrap_or(0).clamp(0, 3600) as u64;
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let generation = {
        let mut st = inner.state.lock().unwrap();
        st.poll_generation += 1;
        st.poll_generation
    };
    inner.new_update.notify_waiters(); // let an older poll notice it was superseded
    loop {
        // Registered before checking the queue, so a send_text in between still wakes us.
        let notified = inner.new_update.notified();
        {
            let mut st = inner.state.lock().unwrap();
            if st.poll_generation != generation {
                let d = "Conflict: terminated by other getUpdates request; \
                    make sure that only one bot instance is running";
                return error(409, d);
            }
            // A positive offset confirms (drops) everything before it; a negative one keeps the last -offset.
            if offset > 0 {
                st.updates.retain(|(id, _)| *id >= offset);
            } else if offset < 0 {
                let keep = st
                    .updates
                    .len()
                    .saturating_sub(offset.unsigned_abs() as usize);
                st.updates.drain(..keep);
            }
            if !st.updates.is_empty() || Instant::now() >= deadline {
                let batch = st.updates.iter().take(limit).map(|(_, u)| u.clone());
                return ok(Value::Array(batch.collect()));
            }
        }
        let _ = tokio::time::timeout_at(deadline.into(), notified).await;
    }
}

fn dispatch(st: &mut State_, method: &str, p: &Value) -> Reply {
    match method {
        "getMe" => {
            let mut me = bot_user();
            // Bot API 9.3: the bot's threaded mode (topics in private chats).
            me["has_topics_enabled"] = json!(true);
            me["allows_users_to_create_topics"] = json!(true);
            for k in [
                "can_read_all_group_messages",
                "supports_inline_queries",
                "has_main_web_app",
            ] {
                me[k] = json!(false);
            }
            me["can_join_groups"] = json!(true);
            ok(me)
        }
        "sendMessage" => {
            let (chat_id, text, parse_mode) = text_params(p);
            if st.blocked.contains(&chat_id) {
                return error(403, "Forbidden: bot was blocked by the user");
            }
            if let Some(err) = check_text(st, &text, &parse_mode, false) {
                return err;
            }
            let message_id = next_message_id(st, chat_id);
            let m = BotMessage {
                chat_id,
                message_id,
                text,
                parse_mode,
                edits: 0,
                thread_id: int(&p["message_thread_id"]),
                reply_to: int(&p["reply_parameters"]["message_id"]),
            };
            let result = message_json(st, &m, false);
            st.bot_messages.entry(chat_id).or_default().push(m);
            ok(result)
        }
        "editMessageText" => {
            let (chat_id, text, parse_mode) = text_params(p);
            let message_id = int(&p["message_id"]).unwrap_or(0);
            if let Some(err) = check_text(st, &text, &parse_mode, true) {
                return err;
            }
            let last_id = st.last_message_id.get(&chat_id).copied().unwrap_or(0);
            let msgs = st.bot_messages.entry(chat_id).or_default();
            let Some(m) = msgs.iter_mut().find(|m| m.message_id == message_id) else {
                // Ids that exist but belong to the user can't be edited by the bot.
                return if message_id > 0 && message_id <= last_id {
                    error(400, "Bad Request: message can't be edited")
                } else {
                    error(400, "Bad Request: message to edit not found")
                };
            };
            if m.text == text && m.parse_mode == parse_mode {
                return error(400, NOT_MODIFIED);
            }
            (m.text, m.parse_mode) = (text, parse_mode);
            m.edits += 1;
            let m = m.clone();
            ok(message_json(st, &m, true))
        }
        "deleteMessage" => {
            let (chat_id, id) = (int(&p["chat_id"]).unwrap_or(0), int(&p["message_id"]));
            let msgs = st.bot_messages.entry(chat_id).or_default();
            match msgs.iter().position(|m| Some(m.message_id) == id) {
                Some(i) => {
                    msgs.remove(i);
                    ok(json!(true))
                }
                None => error(400, "Bad Request: message to delete not found"),
            }
        }
        "getFile" => {
            let id = p["file_id"].as_str().unwrap_or_default();
            match st.files.get(id) {
                Some((_, bytes)) if bytes.len() > MAX_DOWNLOAD => {
                    error(400, "Bad Request: file is too big")
                }
                Some((path, bytes)) => {
                    ok(json!({"file_id": id, "file_unique_id": format!("u-{id}"),
                    "file_size": bytes.len(), "file_path": path}))
                }
                None => error(400, "Bad Request: invalid file_id"),
            }
        }
        "setMyCommands" => {
            st.commands = p["commands"].clone();
            ok(json!(true))
        }
        "getMyCommands" => ok(st.commands.clone()),
        "sendChatAction" | "deleteWebhook" | "deleteMyCommands" | "logOut" | "close" => {
            ok(json!(true))
        }
        "getWebhookInfo" => ok(
            json!({"url": "", "has_custom_certificate": false, "pending_update_count": st.updates.len()}),
        ),
        _ => error(404, "Not Found"), // what Telegram answers for an unknown method
    }
}

/// sendDocument / sendPhoto: the multipart file part is kept; the answer
/// is the message Telegram would return.
fn uploaded(
    st: &mut State_,
    method: &str,
    p: &Value,
    parts: Vec<(String, String, Vec<u8>)>,
) -> Reply {
    let chat_id = int(&p["chat_id"]).unwrap_or(0);
    let field = if method == "sendPhoto" {
        "photo"
    } else {
        "document"
    };
    // The file is the part named like the field, or the part the field
    // points at with `attach://<name>` (what teloxide sends).
    let wanted = p[field]
        .as_str()
        .and_then(|v| v.strip_prefix("attach://"))
        .unwrap_or(field)
        .to_string();
    let Some((_, name, bytes)) = parts.into_iter().find(|(n, ..)| *n == wanted) else {
        return error(
            400,
            &format!("Bad Request: there is no {field} in the request"),
        );
    };
    if bytes.len() > 50 * 1024 * 1024 {
        return error(413, "Request Entity Too Large");
    }
    let message_id = next_message_id(st, chat_id);
    let meta = json!({"file_id": format!("sent-{message_id}"), "file_unique_id": format!("s{message_id}"),
        "file_size": bytes.len()});
    let mut msg = json!({"message_id": message_id, "from": bot_user(), "chat": chat_json(st, chat_id), "date": now()});
    let thread_id = int(&p["message_thread_id"]);
    if let Some(t) = thread_id {
        msg["message_thread_id"] = json!(t);
    }
    if method == "sendPhoto" {
        let mut size = meta;
        size["width"] = json!(800);
        size["height"] = json!(600);
        msg["photo"] = json!([size]);
    } else {
        let mut doc = meta;
        doc["file_name"] = json!(name);
        msg["document"] = doc;
    }
    st.uploads.push(Uploaded {
        method: method.to_string(),
        chat_id,
        thread_id,
        name,
        bytes,
    });
    ok(msg)
}

/// A multipart/form-data body as (field name, file name, bytes) parts.
fn parse_multipart(body: &[u8], boundary: &str) -> Vec<(String, Option<String>, Vec<u8>)> {
    let delim = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut starts = Vec::new();
    let mut i = 0;
    while i + delim.len() <= body.len() {
        if body[i..].starts_with(&delim) {
            starts.push(i);
            i += delim.len();
        } else {
            i += 1;
        }
    }
    for w in starts.windows(2) {
        // Each part: CRLF, headers, CRLF CRLF, data, CRLF (before the next delimiter).
        let part = &body[w[0] + delim.len()..w[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let Some(split) = part.windows(4).position(|x| x == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]).into_owned();
        let data = part[split + 4..].to_vec();
        let attr = |key: &str| {
            let pat = format!("{key}=\"");
            let start = head.find(&pat)? + pat.len();
            Some(head[start..].split('"').next()?.to_string())
        };
        if let Some(name) = attr(" name") {
            parts.push((name, attr("filename"), data));
        }
    }
    parts
}

/// Validation shared by send and edit, in Telegram's order: entities, emptiness, length.
fn check_text(st: &State_, text: &str, parse_mode: &Option<String>, edit: bool) -> Option<Reply> {
    if parse_mode.is_some() && st.reject_formatting {
        let d = "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 0";
        return Some(error(400, d));
    }
    let visible = match parse_mode.as_deref() {
        Some(m) if m.eq_ignore_ascii_case("html") => html_visible(text),
        _ => text.to_string(),
    };
    if visible.trim().is_empty() {
        return Some(error(400, "Bad Request: message text is empty"));
    }
    if utf16_len(&visible) > MAX_TEXT {
        // Telegram words this differently for edits, and teloxide maps them to different variants.
        let d = if edit {
            "Bad Request: MESSAGE_TOO_LONG"
        } else {
            "Bad Request: message is too long"
        };
        return Some(error(400, d));
    }
    None
}

/// Text as Telegram counts it for HTML: tags removed, entities as one character.
fn html_visible(s: &str) -> String {
    let (mut out, mut in_tag) = (String::new(), false);
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let entities = [
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&amp;", "&"),
    ];
    entities.iter().fold(out, |s, (e, c)| s.replace(e, c))
}

fn next_message_id(st: &mut State_, chat_id: i64) -> i64 {
    let id = st.last_message_id.entry(chat_id).or_insert(0);
    *id += 1;
    *id
}

fn message_json(st: &State_, m: &BotMessage, edited: bool) -> Value {
    let mut v = json!({"message_id": m.message_id, "from": bot_user(),
        "chat": chat_json(st, m.chat_id), "date": now(), "text": m.text});
    if let Some(t) = m.thread_id {
        v["message_thread_id"] = json!(t);
        v["is_topic_message"] = json!(true);
    }
    if edited {
        v["edit_date"] = json!(now());
    }
    v
}

/// The bot as a `User` (getMe adds the capability fields teloxide's `Me` requires).
fn bot_user() -> Value {
    json!({"id": FakeTelegram::BOT_ID, "is_bot": true, "first_name": "Kai Test", "username": "kai_test_bot"})
}

/// The chat `id` as Telegram describes it: a group the test created, or
/// the private chat of the user with that id.
fn chat_json(st: &State_, id: i64) -> Value {
    st.groups
        .get(&id)
        .cloned()
        .unwrap_or_else(|| private_chat(id))
}

fn private_chat(id: i64) -> Value {
    json!({"id": id, "type": "private", "first_name": format!("User{id}"), "username": format!("user{id}")})
}

/// JSON body (what teloxide sends) merged over query-string parameters (what curl users send).
fn parse_params(uri: &Uri, body: &[u8]) -> Value {
    let mut params = serde_json::Map::new();
    let query = uri.query().unwrap_or("");
    for pair in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        params.insert(k.to_string(), Value::String(v.to_string()));
    }
    if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) {
        params.extend(obj);
    }
    Value::Object(params)
}

/// Integer parameter, accepting the string form Telegram also accepts.
fn int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.parse().ok())
}

/// chat_id, text and parse_mode of sendMessage/editMessageText.
fn text_params(p: &Value) -> (i64, String, Option<String>) {
    let text = p["text"].as_str().unwrap_or_default().to_string();
    (
        int(&p["chat_id"]).unwrap_or(0),
        text,
        p["parse_mode"].as_str().map(String::from),
    )
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn ok(result: Value) -> Reply {
    (StatusCode::OK, json!({"ok": true, "result": result}))
}

fn error(code: u16, description: &str) -> Reply {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        json!({"ok": false, "error_code": code, "description": description}),
    )
}
