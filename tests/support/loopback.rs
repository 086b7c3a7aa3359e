//! What the loopback fakes of the model APIs share: a server on
//! 127.0.0.1:0 that hands each connection to a fake-specific handler and
//! records the JSON bodies it is given, plus the raw HTTP/1.1 and SSE
//! plumbing.
//!
//! Hand-rolled on a tokio `TcpListener` rather than axum: a streamed body in
//! axum needs a `Stream` impl (futures/tokio-stream), which are not among our
//! dev-dependencies, and the raw socket lets a fake hang or close exactly
//! where a test wants. Every response carries `connection: close`, so one
//! request is one connection and the end of a stream is the end of the
//! socket.

use std::future::Future;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The request bodies a fake has recorded, in order.
pub type Recorded = Arc<Mutex<Vec<Value>>>;

/// A running server; it stops accepting when dropped (connections being
/// served finish on their own).
pub struct Loopback {
    addr: std::net::SocketAddr,
    requests: Recorded,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Loopback {
    /// Binds 127.0.0.1:0 and runs `serve` for every connection.
    pub async fn start<F, Fut>(serve: F) -> Loopback
    where
        F: Fn(TcpStream, Recorded) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake");
        let addr = listener.local_addr().expect("fake local addr");
        let requests = Recorded::default();
        let recorded = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(serve(socket, recorded.clone()));
            }
        });
        Loopback {
            addr,
            requests,
            task,
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Every request body received so far (parsed JSON), in order.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }

    /// Models requested so far (the "model" field of each body).
    pub fn models_requested(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter_map(|b| b["model"].as_str().map(str::to_owned))
            .collect()
    }
}

/// Reads the request head and a `content-length` (or chunked) body.
pub async fn read_request(socket: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let mut body = buf[head_end..].to_vec();
    let chunked = header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        // Read until the terminating zero-size chunk, then decode.
        while find(&body, b"0\r\n\r\n").is_none() {
            let n = socket.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        return Some((head, decode_chunked(&body)));
    }
    let len: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while body.len() < len {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

/// Decodes a complete HTTP/1.1 chunked body.
fn decode_chunked(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = find(raw, b"\r\n") {
        let size_text = String::from_utf8_lossy(&raw[..eol]);
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).unwrap_or(0);
        if size == 0 || raw.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[(eol + 4 + size).min(raw.len())..];
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Writes a complete non-streamed plain-text response.
pub async fn write_plain(socket: &mut TcpStream, status: u16, text: &str) -> std::io::Result<()> {
    let reason = match status {
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        text.len()
    );
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(text.as_bytes()).await?;
    socket.flush().await
}

pub async fn write_sse_head(socket: &mut TcpStream) -> std::io::Result<()> {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
    socket.write_all(head.as_bytes()).await?;
    socket.flush().await
}

pub async fn send_event(socket: &mut TcpStream, event: Value) -> std::io::Result<()> {
    let kind = event["type"].as_str().unwrap_or_default().to_owned();
    let frame = format!("event: {kind}\ndata: {event}\n\n");
    socket.write_all(frame.as_bytes()).await?;
    socket.flush().await
}
