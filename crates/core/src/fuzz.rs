//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing` only): every parser
//! that reads bytes an attacker can supply. Each takes arbitrary bytes and must return
//! (an error is fine) without panicking, hanging or allocating without bound.
#![allow(missing_docs)]

use std::time::Duration;

/// The vault header (a keystore entry anyone with keystore access can replace).
pub fn header(data: &[u8]) {
    let _ = crate::vault::fuzz_header(data);
}

/// A keystore value's head (inline or chunked).
pub fn chunk_head(data: &[u8]) {
    let _ = crate::keystore::fuzz_head(data);
}

/// The agent's frame reader and request parser, over a stream of arbitrary bytes.
pub fn agent_frames(data: &[u8]) {
    use crate::agent::protocol::{Frame, FrameReader, Request};
    let mut frames = FrameReader::new(Bytes(std::io::Cursor::new(data)));
    for _ in 0..64 {
        match frames.next(Duration::from_secs(1)) {
            Ok(Frame::Line(l)) => {
                let _ = Request::parse(&l);
            }
            Ok(Frame::Closed) | Err(_) => break,
        }
    }
}

/// The loopback listener's request head and callback judgement.
pub fn loopback_request(data: &[u8]) {
    crate::oauth::loopback::fuzz_request(data);
}

/// A `providers.toml` text.
pub fn providers_toml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::oauth::fuzz_parse_config(text);
    }
}

/// A discovery document served at a fixed URL.
pub fn discovery(data: &[u8]) {
    let _ = crate::oauth::fuzz_discovery(data);
}

/// A token endpoint's JSON answer.
pub fn token_response(data: &[u8]) {
    let _ = crate::oauth::fuzz_token_response(data);
}

/// An in-memory stream for the frame reader.
struct Bytes<'a>(std::io::Cursor<&'a [u8]>);

impl std::io::Read for Bytes<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl crate::agent::protocol::Timed for Bytes<'_> {
    fn set_timeout(&self, _: Option<Duration>) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    /// Every target takes the corpus seeds and some hostile bytes without panicking.
    #[test]
    fn targets_take_hostile_input() {
        let inputs: [&[u8]; 6] = [
            b"",
            b"\xff\xfe\x00",
            b"{\"v\":1,\"op\":\"token\",\"name\":\"a\"}\n{nope\n",
            b"GET /callback?code=x&state=y HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n",
            b"[providers.x]\nauthorize_url = \"https://a/\"\n",
            b"{\"access_token\":\"a\",\"token_type\":\"bearer\",\"expires_in\":-1}",
        ];
        for d in inputs {
            super::header(d);
            super::chunk_head(d);
            super::agent_frames(d);
            super::loopback_request(d);
            super::providers_toml(d);
            super::discovery(d);
            super::token_response(d);
        }
    }
}
