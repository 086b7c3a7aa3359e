//! Newline-delimited framing for agent stdio. Lines are capped (16 MiB by
//! default) so a runaway agent cannot make the daemon allocate without bound;
//! an over-long line is skipped whole and reported, not fatal.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// The largest line accepted: big tool outputs and diffs fit comfortably.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// One frame read from the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    Line(Vec<u8>),
    /// A line longer than the limit, skipped; carries its length.
    TooLong(usize),
}

pub struct LineReader<R> {
    inner: R,
    max: usize,
    buf: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    pub fn new(inner: R) -> Self {
        Self::with_limit(inner, MAX_LINE)
    }

    pub fn with_limit(inner: R, max: usize) -> Self {
        LineReader {
            inner,
            max,
            buf: Vec::new(),
        }
    }

    /// The next frame, or `None` at end of stream. A final line without a
    /// newline still counts: an agent killed mid-write leaves one behind.
    pub async fn next_frame(&mut self) -> std::io::Result<Option<Frame>> {
        let mut skipped: Option<usize> = None;
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                if let Some(n) = skipped {
                    return Ok(Some(Frame::TooLong(n)));
                }
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(Frame::Line(std::mem::take(&mut self.buf))));
            }
            let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], Some(i + 1)),
                None => (available, None),
            };
            match skipped.as_mut() {
                Some(n) => *n += chunk.len(),
                None if self.buf.len() + chunk.len() > self.max => {
                    skipped = Some(self.buf.len() + chunk.len());
                    self.buf = Vec::new();
                }
                None => self.buf.extend_from_slice(chunk),
            }
            let consumed = done.unwrap_or(available.len());
            self.inner.consume(consumed);
            if done.is_some() {
                if let Some(n) = skipped {
                    return Ok(Some(Frame::TooLong(n)));
                }
                return Ok(Some(Frame::Line(std::mem::take(&mut self.buf))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncWriteExt, BufReader};

    async fn frames(input: Vec<Vec<u8>>, max: usize) -> Vec<Frame> {
        let (mut w, r) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            for part in input {
                w.write_all(&part).await.unwrap();
            }
        });
        let mut reader = LineReader::with_limit(BufReader::with_capacity(16, r), max);
        let mut out = Vec::new();
        while let Some(f) = reader.next_frame().await.unwrap() {
            out.push(f);
        }
        writer.await.unwrap();
        out
    }

    #[tokio::test]
    async fn joins_partial_writes_and_keeps_a_final_unterminated_line() {
        let got = frames(
            vec![b"{\"a\"".to_vec(), b":1}\n{\"b\":".to_vec(), b"2}".to_vec()],
            100,
        )
        .await;
        assert_eq!(
            got,
            vec![
                Frame::Line(b"{\"a\":1}".to_vec()),
                Frame::Line(b"{\"b\":2}".to_vec())
            ]
        );
    }

    #[tokio::test]
    async fn skips_an_overlong_line_and_reads_on() {
        let long = vec![b'x'; 300];
        let got = frames(vec![long, b"\nok\n".to_vec()], 100).await;
        assert_eq!(got, vec![Frame::TooLong(300), Frame::Line(b"ok".to_vec())]);
    }

    #[tokio::test]
    async fn accepts_a_sixteen_mebibyte_line() {
        let mut line = vec![b'a'; MAX_LINE];
        line.push(b'\n');
        let (mut w, r) = tokio::io::duplex(1 << 16);
        let writer = tokio::spawn(async move { w.write_all(&line).await.unwrap() });
        let mut reader = LineReader::new(BufReader::new(r));
        match reader.next_frame().await.unwrap() {
            Some(Frame::Line(l)) => assert_eq!(l.len(), MAX_LINE),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(reader.next_frame().await.unwrap(), None);
        writer.await.unwrap();
    }

    #[tokio::test]
    async fn empty_lines_are_frames_too() {
        let got = frames(vec![b"\n\nx\n".to_vec()], 10).await;
        assert_eq!(got.len(), 3);
    }
}
