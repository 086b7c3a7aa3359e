//! A loopback fake of an OpenAI-compatible transcription endpoint
//! (`POST <base>/audio/transcriptions`, a multipart form with `file` and
//! `model`), as kai's `TRANSCRIBE_URL` names it. It records what each
//! request carried — the path, the `Authorization` header, the model and
//! the file's exact bytes — and answers as the test last set with
//! [`FakeTranscribe::answer`]: a transcript, an HTTP error with a body, a
//! body that is not JSON, or silence.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::loopback::{read_request, Loopback, Recorded};

/// What the fake answers the next requests with.
#[derive(Clone, Debug)]
pub enum Answer {
    /// 200 `{"text": …}`.
    Text(String),
    /// This status with this body (JSON or not).
    Status(u16, String),
    /// 200 with a body that is not JSON.
    Garbage,
    /// Headers never come; the connection stays open until kai gives up.
    Hang,
}

/// One request as the fake saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    pub path: String,
    pub authorization: Option<String>,
    pub model: Option<String>,
    pub file_name: Option<String>,
    pub file: Vec<u8>,
}

pub struct FakeTranscribe {
    server: Loopback,
    answer: Arc<Mutex<Answer>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeTranscribe {
    pub async fn start() -> FakeTranscribe {
        let answer = Arc::new(Mutex::new(Answer::Text("hello from the fake".into())));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (a, s) = (answer.clone(), seen.clone());
        let server =
            Loopback::start(move |socket, recorded| serve(socket, recorded, a.clone(), s.clone()))
                .await;
        FakeTranscribe {
            server,
            answer,
            seen,
        }
    }

    /// The base URL for `TRANSCRIBE_URL` (kai appends `/audio/transcriptions`).
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.server.addr())
    }

    pub fn answer(&self, a: Answer) {
        *self.answer.lock().unwrap() = a;
    }

    /// Every request so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(
    mut socket: TcpStream,
    _recorded: Recorded,
    answer: Arc<Mutex<Answer>>,
    seen: Arc<Mutex<Vec<Seen>>>,
) {
    let Some((head, body)) = read_request(&mut socket).await else {
        return;
    };
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let path = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_owned();
    let boundary = header("content-type")
        .and_then(|t| {
            t.split("boundary=")
                .nth(1)
                .map(|b| b.trim_matches('"').to_owned())
        })
        .unwrap_or_default();
    let parts = multipart(&body, &boundary);
    let field = |name: &str| parts.iter().find(|p| p.name == name);
    seen.lock().unwrap().push(Seen {
        path,
        authorization: header("authorization"),
        model: field("model").map(|p| String::from_utf8_lossy(&p.data).into_owned()),
        file_name: field("file").and_then(|p| p.file_name.clone()),
        file: field("file").map(|p| p.data.clone()).unwrap_or_default(),
    });
    let a = answer.lock().unwrap().clone();
    let _ = match a {
        Answer::Text(t) => respond(&mut socket, 200, &json!({ "text": t }).to_string()).await,
        Answer::Status(code, body) => respond(&mut socket, code, &body).await,
        Answer::Garbage => respond(&mut socket, 200, "<html>surprise</html>").await,
        Answer::Hang => {
            let mut sink = [0u8; 1024];
            while socket.read(&mut sink).await.unwrap_or(0) > 0 {}
            Ok(())
        }
    };
    let _ = socket.shutdown().await;
}

async fn respond(socket: &mut TcpStream, status: u16, body: &str) -> std::io::Result<()> {
    let kind = if serde_json::from_str::<Value>(body).is_ok() {
        "application/json"
    } else {
        "text/html"
    };
    let head = format!(
        "HTTP/1.1 {status} Fake\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(body.as_bytes()).await?;
    socket.flush().await
}

struct Part {
    name: String,
    file_name: Option<String>,
    data: Vec<u8>,
}

/// The parts of a `multipart/form-data` body, bytes untouched.
fn multipart(body: &[u8], boundary: &str) -> Vec<Part> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut starts = Vec::new();
    let mut i = 0;
    while i + delimiter.len() <= body.len() {
        if body[i..].starts_with(&delimiter) {
            starts.push(i);
            i += delimiter.len();
        } else {
            i += 1;
        }
    }
    for w in starts.windows(2) {
        // Between "--boundary\r\n" and the "\r\n" before the next delimiter.
        let chunk = &body[w[0] + delimiter.len()..w[1]];
        let chunk = chunk.strip_prefix(b"\r\n").unwrap_or(chunk);
        let chunk = chunk.strip_suffix(b"\r\n").unwrap_or(chunk);
        let Some(split) = chunk.windows(4).position(|x| x == b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&chunk[..split]).into_owned();
        let attr = |key: &str| {
            headers
                .split(';')
                .find_map(|s| s.trim().strip_prefix(&format!("{key}=\"")))
                .and_then(|s| s.split('"').next())
                .map(str::to_owned)
        };
        parts.push(Part {
            name: attr("name").unwrap_or_default(),
            file_name: attr("filename"),
            data: chunk[split + 4..].to_vec(),
        });
    }
    parts
}
