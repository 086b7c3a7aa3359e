//! Feeds bytes to `kai::agent::ndjson::LineReader` the way a pipe would:
//! in reads of varying size, sometimes "not ready yet", through the same
//! `tokio::io::BufReader` the daemon uses. No runtime is needed: the source
//! is in memory, so polling in a loop always finishes.

use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

use kai::agent::ndjson::{Frame, LineReader};
use tokio::io::{AsyncRead, BufReader, ReadBuf};

/// How the stream is cut into reads.
#[derive(Debug, Clone, Copy)]
pub enum Split {
    /// One read returns everything; a large buffer.
    Whole,
    /// One byte per read into a one-byte buffer: every boundary is a split.
    Bytewise,
    /// Read sizes, buffer size and "not ready" answers drawn from the seed.
    Random(u64),
}

/// What the reader must produce: the stream cut at each `\n` (a final piece
/// without one still counts unless empty), pieces over `cap` reported by
/// length instead of content.
pub fn expected_frames(data: &[u8], cap: usize) -> Vec<Frame> {
    let mut pieces: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    pieces
        .into_iter()
        .map(|p| {
            if p.len() > cap {
                Frame::TooLong(p.len())
            } else {
                Frame::Line(p.to_vec())
            }
        })
        .collect()
}

/// Every frame the reader yields for `data`, cut as `split` says.
pub fn read_frames(data: &[u8], cap: usize, split: Split) -> Vec<Frame> {
    let mut rng = Rng(match split {
        Split::Random(seed) => seed,
        _ => 0,
    });
    let buffer = match split {
        Split::Whole => data.len().max(1),
        Split::Bytewise => 1,
        Split::Random(_) => 1 + rng.below(64),
    };
    let source = Chunked {
        data,
        pos: 0,
        split,
        rng,
        stalled: false,
    };
    let mut reader = LineReader::with_limit(BufReader::with_capacity(buffer, source), cap);
    block_on(async {
        let mut frames = Vec::new();
        while let Some(frame) = reader
            .next_frame()
            .await
            .expect("an in-memory source cannot fail")
        {
            frames.push(frame);
        }
        frames
    })
}

/// A seed that follows the data, so a crashing input replays identically.
pub fn seed_of(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

struct Chunked<'a> {
    data: &'a [u8],
    pos: usize,
    split: Split,
    rng: Rng,
    stalled: bool,
}

impl AsyncRead for Chunked<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let size = match this.split {
            Split::Whole => usize::MAX,
            Split::Bytewise => 1,
            Split::Random(_) => {
                // A pipe that is momentarily empty: never twice in a row, so
                // polling in a loop always makes progress.
                if !this.stalled && this.rng.below(4) == 0 {
                    this.stalled = true;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                1 + this.rng.below(24)
            }
        };
        this.stalled = false;
        let n = size.min(buf.remaining()).min(this.data.len() - this.pos);
        buf.put_slice(&this.data[this.pos..this.pos + n]);
        this.pos += n;
        Poll::Ready(Ok(()))
    }
}

/// splitmix64: tiny, and good enough to vary cut points.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z % n as u64) as usize
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}
