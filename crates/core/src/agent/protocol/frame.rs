//! Framing: one line per request or reply, read whole within a deadline, capped in size.

use super::{MAX_FRAME, MAX_REPLY};
use crate::agent::AgentError;
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Reads frames from a stream, each within a deadline; keeps bytes that follow a
/// frame for the next one. The buffer is zeroized.
pub struct FrameReader<R> {
    inner: R,
    buf: Zeroizing<Vec<u8>>,
    max: usize,
    /// How much of `buf` is known to hold no newline (each byte is looked at once).
    scanned: usize,
}

/// What reading a frame gave.
pub enum Frame {
    /// A whole line (without its newline).
    Line(Zeroizing<Vec<u8>>),
    /// The peer closed the stream between frames.
    Closed,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Line(l) => write!(f, "Line(<{} bytes>)", l.len()),
            Self::Closed => f.write_str("Closed"),
        }
    }
}

/// Something that can wait for input with a timeout (a socket).
pub trait Timed {
    /// Waits at most `d` for the next read (`None`: forever).
    fn set_timeout(&self, d: Option<Duration>) -> std::io::Result<()>;
}

impl<R: Read + Timed> FrameReader<R> {
    /// Reads requests from `inner` (frames of at most [`MAX_FRAME`] bytes).
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buf: Zeroizing::new(Vec::new()),
            max: MAX_FRAME,
            scanned: 0,
        }
    }

    /// Reads replies from `inner` (frames of at most [`MAX_REPLY`] bytes).
    pub fn replies(inner: R) -> Self {
        Self {
            max: MAX_REPLY,
            ..Self::new(inner)
        }
    }

    /// The next frame, which must arrive whole within `timeout`.
    pub fn next(&mut self, timeout: Duration) -> Result<Frame, AgentError> {
        let deadline = Instant::now() + timeout;
        let mut chunk = Zeroizing::new([0u8; 4096]);
        loop {
            let newline = self.buf[self.scanned..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| self.scanned + i);
            self.scanned = self.buf.len();
            if let Some(i) = newline {
                self.scanned = 0;
                if i + 1 > self.max {
                    return Err(AgentError::TooLarge(self.max));
                }
                let mut line = Zeroizing::new(self.buf[..i].to_vec());
                self.buf.drain(..=i);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Frame::Line(line));
            }
            if self.buf.len() >= self.max {
                return Err(AgentError::TooLarge(self.max));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(AgentError::Timeout);
            }
            self.inner.set_timeout(Some(left))?;
            match self.inner.read(&mut chunk[..]) {
                Ok(0) if self.buf.is_empty() => return Ok(Frame::Closed),
                Ok(0) => {
                    return Err(AgentError::BadRequest(
                        "the stream ended inside a frame".into(),
                    ))
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(AgentError::Timeout)
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Writes one frame.
pub fn write_frame(mut w: impl Write, frame: &[u8]) -> Result<(), AgentError> {
    w.write_all(frame)?;
    w.flush()?;
    Ok(())
}
