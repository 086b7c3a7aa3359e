//! The webhook listener's connections: how many kai holds and how long each
//! may take (docs/design.md, "The webhook listener's limits"). The port
//! faces the internet, so a client that does not know the secret must not be
//! able to make kai hold descriptors, memory or tasks for long:
//! - at most [`connection_cap`] connections, well under the open-files
//!   limit, so agents, state files and Telegram always get a descriptor;
//! - a connection whose request head has not arrived is the cheapest to
//!   lose: past the cap, the oldest such one makes room for the newcomer
//!   (GitHub sends its whole head at once, a stalling client never does);
//!   when every connection is busy with a request, a newcomer is refused at
//!   once with a 503, never queued;
//! - a head must arrive within [`HEAD_TIMEOUT`], a body within the
//!   webhook's `BODY_TIMEOUT`, a whole exchange within [`EXCHANGE_TIMEOUT`];
//! - one request per connection (no keep-alive), so no idle connection
//!   lingers between deliveries; after the answer kai reads and drops what
//!   the client still sends for at most 2 s (and 32 MiB), so a refusal
//!   reaches a client still sending its body.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::webhook::{self, Intake};
use crate::logging::Throttle;

/// The most connections the listener holds, when the open-files limit
/// allows (systemd's default soft limit 1024 does; the unit sets 8192).
pub const MAX_CONNECTIONS: usize = 256;

/// How long a connection may take to send its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one exchange may take from connecting to the last byte of the
/// answer: the head, the body and recording the delivery, with room.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long, and how much, a closing connection is read and dropped so the
/// client gets its answer before the close (see `linger`).
const LINGER_TIME: Duration = Duration::from_secs(2);
/// More than any body kai would take: a refused one can be read to its end.
const LINGER_BYTES: usize = 32 * 1024 * 1024;

/// How long a stop waits for requests already being received.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Room past the cap for connections that were made way for but have not
/// closed yet: past it the accept loop waits for them to close (new
/// connections wait in the kernel's backlog, holding none of kai's
/// descriptors), so the count stays bounded however fast they come, and a
/// newcomer is never refused only because kai was slow to close the old.
const EVICTION_SLACK: usize = 32;

/// hyper's read buffer per connection: a head must fit (GitHub's are about
/// 2 KiB), and bodies pass through in pieces of at most this size.
const READ_BUFFER: usize = 16 * 1024;

/// Written, without waiting, to a connection refused at the cap.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\
connection: close\r\nretry-after: 10\r\n\r\n";

/// The cap for a process whose soft open-files limit is `soft_nofile`: a
/// quarter of it at most, so three quarters stay for everything else.
pub fn connection_cap(soft_nofile: u64) -> usize {
    let quarter = usize::try_from(soft_nofile / 4).unwrap_or(usize::MAX);
    quarter.clamp(1, MAX_CONNECTIONS)
}

/// The cap for this process, from its soft `RLIMIT_NOFILE`.
pub fn own_connection_cap() -> usize {
    use nix::sys::resource::{getrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, _hard)) => connection_cap(soft),
        Err(_) => connection_cap(1024),
    }
}

/// Serves `listener` until `shutdown`; then stops accepting, drops the
/// connections still waiting for a head, and gives requests being received
/// a short grace.
pub async fn serve(
    listener: TcpListener,
    intake: Arc<Intake>,
    cap: usize,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Slots::new(cap));
    let tasks = TaskTracker::new();
    let hard_stop = CancellationToken::new();
    let full = Throttle::new(Duration::from_secs(10));
    let failed = Throttle::new(Duration::from_secs(10));
    loop {
        while slots.over_slack() {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                _ = slots.freed.notified() => {}
            }
        }
        let accepted = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            r = listener.accept() => r,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // Out of descriptors (the cap should prevent it) or a
                // connection gone before it was taken: wait a moment rather
                // than spin on the same error.
                if let Some(more) = failed.allow() {
                    tracing::warn!("the webhook listener could not accept: {e} ({more} more)");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = Slots::admit(&slots) else {
            if let Some(more) = full.allow() {
                tracing::warn!(
                    cap,
                    "the webhook listener is full of requests being received; \
                     refused a connection ({more} more refused since the last such line)"
                );
            }
            // Best effort and never waiting: the socket buffer is empty.
            let _ = stream.try_write(BUSY);
            continue;
        };
        tasks.spawn(connection(
            stream,
            slot,
            Arc::clone(&intake),
            hard_stop.clone(),
        ));
    }
    drop(listener);
    slots.drop_waiting();
    tasks.close();
    if tokio::time::timeout(STOP_GRACE, tasks.wait())
        .await
        .is_err()
    {
        hard_stop.cancel();
        tasks.wait().await;
    }
}

/// One connection: its head within [`HEAD_TIMEOUT`] (unless it is made way
/// for first), then one exchange within [`EXCHANGE_TIMEOUT`].
async fn connection(
    stream: TcpStream,
    slot: Slot,
    intake: Arc<Intake>,
    hard_stop: CancellationToken,
) {
    let slot = Arc::new(slot);
    let started = tokio::time::Instant::now();
    let service = {
        let slot = Arc::clone(&slot);
        service_fn(move |req| {
            slot.head_arrived();
            let intake = Arc::clone(&intake);
            async move { Ok::<_, Infallible>(webhook::handle(&intake, req).await) }
        })
    };
    let conn = http1::Builder::new()
        .keep_alive(false)
        .max_buf_size(READ_BUFFER)
        .serve_connection(TokioIo::new(stream), service)
        // The socket comes back after the answer, to close it gently.
        .without_shutdown();
    tokio::pin!(conn);
    tokio::select! {
        r = &mut conn => return finished(r).await,
        _ = slot.made_way.cancelled() => {
            tracing::debug!("dropped a webhook connection without a request head to make room");
            return;
        }
        _ = tokio::time::sleep_until(started + HEAD_TIMEOUT) => {}
        // A request whose head came in time is in the first phase too: a
        // stop must not wait for its head deadline.
        _ = hard_stop.cancelled() => return,
    }
    if !slot.has_head() {
        tracing::debug!("dropped a webhook connection that sent no request head in time");
        return;
    }
    tokio::select! {
        r = &mut conn => finished(r).await,
        _ = tokio::time::sleep_until(started + EXCHANGE_TIMEOUT) => {
            tracing::debug!("dropped a webhook connection whose exchange took too long");
        }
        _ = hard_stop.cancelled() => {}
    }
}

async fn finished<S>(r: Result<http1::Parts<TokioIo<TcpStream>, S>, hyper::Error>) {
    match r {
        Ok(parts) => linger(parts.io.into_inner()).await,
        Err(e) => tracing::debug!("a webhook connection ended: {e}"),
    }
}

/// After the answer: ends the sending side, then reads and drops what the
/// client still sends, briefly, before closing. Closing a socket that holds
/// unread data sends a reset, and a client still writing a body kai refused
/// on its headers (a 413 before 25 MiB arrive) would lose the answer to it.
async fn linger(mut stream: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if stream.shutdown().await.is_err() {
        return;
    }
    let until = tokio::time::Instant::now() + LINGER_TIME;
    let mut buf = [0u8; 4096];
    let mut dropped = 0;
    while dropped < LINGER_BYTES {
        match tokio::time::timeout_at(until, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => dropped += n,
            _ => return,
        }
    }
}

/// The listener's connections: how many, and which may be dropped to make
/// room (those still waiting for a head, oldest first).
struct Slots {
    cap: usize,
    inner: Mutex<Inner>,
    /// Signalled whenever a connection closes.
    freed: tokio::sync::Notify,
}

struct Inner {
    next_id: u64,
    open: usize,
    waiting: VecDeque<(u64, CancellationToken)>,
}

/// One connection's place; freed when dropped.
struct Slot {
    id: u64,
    slots: Arc<Slots>,
    made_way: CancellationToken,
    head: std::sync::atomic::AtomicBool,
}

impl Slots {
    fn new(cap: usize) -> Slots {
        Slots {
            cap,
            inner: Mutex::new(Inner {
                next_id: 0,
                open: 0,
                waiting: VecDeque::new(),
            }),
            freed: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for a new connection, making way if need be; None when every
    /// connection is busy with a request.
    fn admit(slots: &Arc<Slots>) -> Option<Slot> {
        let mut inner = slots.lock();
        if inner.open >= slots.cap {
            let (_, oldest) = inner.waiting.pop_front()?;
            oldest.cancel();
        }
        inner.next_id += 1;
        inner.open += 1;
        let id = inner.next_id;
        let made_way = CancellationToken::new();
        inner.waiting.push_back((id, made_way.clone()));
        Some(Slot {
            id,
            slots: Arc::clone(slots),
            made_way,
            head: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Whether so many connections were made way for and have not closed
    /// yet that the accept loop must wait for them.
    fn over_slack(&self) -> bool {
        self.lock().open >= self.cap + EVICTION_SLACK
    }

    /// At a stop: nobody waits for a head any more.
    fn drop_waiting(&self) {
        for (_, token) in self.lock().waiting.drain(..) {
            token.cancel();
        }
    }
}

impl Slot {
    /// The request head is in: from now on this connection is busy, and
    /// never dropped to make room.
    fn head_arrived(&self) {
        self.head.store(true, Ordering::Release);
        self.slots.lock().waiting.retain(|(id, _)| *id != self.id);
    }

    fn has_head(&self) -> bool {
        self.head.load(Ordering::Acquire)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut inner = self.slots.lock();
        inner.open -= 1;
        inner.waiting.retain(|(id, _)| *id != self.id);
        drop(inner);
        self.slots.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_three_quarters_of_the_descriptors() {
        assert_eq!(connection_cap(1024), 256);
        assert_eq!(connection_cap(8192), MAX_CONNECTIONS);
        assert_eq!(connection_cap(256), 64);
        assert_eq!(connection_cap(0), 1);
    }

    #[test]
    fn past_the_cap_the_oldest_waiting_connection_makes_way() {
        let slots = Arc::new(Slots::new(2));
        let a = Slots::admit(&slots).unwrap();
        let b = Slots::admit(&slots).unwrap();
        let c = Slots::admit(&slots).unwrap();
        assert!(a.made_way.is_cancelled() && !b.made_way.is_cancelled());
        drop(a);
        // b got its head: busy, never dropped; c is the one to go next.
        b.head_arrived();
        let d = Slots::admit(&slots).unwrap();
        assert!(!b.made_way.is_cancelled() && c.made_way.is_cancelled());
        drop(c);
        // Both places busy with requests: a newcomer is refused.
        d.head_arrived();
        assert!(Slots::admit(&slots).is_none());
        drop(d);
        assert!(Slots::admit(&slots).is_some());
    }

    #[test]
    fn connections_made_way_for_but_not_yet_closed_are_bounded() {
        let slots = Arc::new(Slots::new(1));
        // Each newcomer cancels the one before, but none of them has closed:
        // past the slack the accept loop stops taking newcomers.
        let mut held = Vec::new();
        while !slots.over_slack() {
            held.push(Slots::admit(&slots).unwrap());
        }
        assert_eq!(held.len(), 1 + EVICTION_SLACK);
        assert!(held[..EVICTION_SLACK]
            .iter()
            .all(|s| s.made_way.is_cancelled()));
        // One of them closing lets the next one in.
        held.remove(0);
        assert!(!slots.over_slack());
        drop(held);
        assert_eq!(slots.lock().open, 0);
        assert!(slots.lock().waiting.is_empty());
    }
}
