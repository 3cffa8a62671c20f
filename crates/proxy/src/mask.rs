//! Conceals the credential in what the upstream answers (an API that echoes the request's
//! headers would otherwise hand it to the client): every occurrence of the token, of the
//! whole `Authorization` value and of its encoded part (a Pleo API key's `Basic` base64),
//! in a header value or anywhere in a body (across chunk boundaries), is overwritten with
//! a marker of the same length, so `Content-Length` stays true. Bodies are concealed as
//! they stream; the upstream is asked for uncompressed answers (`Accept-Encoding:
//! identity`), and an answer compressed anyway is not passed on (the server refuses it),
//! so there is no compressed body to hide one in. Trailers are dropped.

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use zeroize::Zeroizing;

/// What a concealed token turns into, cut or padded with `*` to the token's length.
pub const MARKER: &[u8] = b"<concealed by token-wallet>";

/// The marker for a secret of `len` bytes.
fn marker(len: usize) -> Vec<u8> {
    let mut m: Vec<u8> = MARKER.iter().copied().take(len).collect();
    m.resize(len, b'*');
    m
}

/// The byte strings to conceal, longest first (so a header holding the token is
/// concealed whole); empty ones left out.
#[derive(Clone)]
pub struct Secrets(Vec<Zeroizing<Vec<u8>>>);

impl Secrets {
    /// `all`, sorted longest first.
    pub fn new(mut all: Vec<Zeroizing<Vec<u8>>>) -> Self {
        all.retain(|s| !s.is_empty());
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        all.dedup();
        Self(all)
    }

    /// The longest one's length.
    fn longest(&self) -> usize {
        self.0.first().map_or(0, |s| s.len())
    }
}

/// Overwrites every occurrence of each of `secrets` in `buf`; whether there was one.
pub fn conceal(buf: &mut [u8], secrets: &Secrets) -> bool {
    let mut found = false;
    for secret in &secrets.0 {
        if buf.len() < secret.len() {
            continue;
        }
        let finder = memchr::memmem::Finder::new(&secret[..]);
        let mut from = 0;
        while let Some(i) = finder.find(&buf[from..]) {
            let at = from + i;
            buf[at..at + secret.len()].copy_from_slice(&marker(secret.len()));
            from = at + secret.len();
            found = true;
        }
    }
    found
}

/// A body whose bytes are concealed as they pass, counted, and reported once, when it
/// ends or is dropped (a client that hangs up early).
pub struct Concealed<B> {
    inner: B,
    secrets: Secrets,
    /// The tail of what came so far that may be the start of the secret.
    carry: BytesMut,
    sent: u64,
    done: Option<Box<dyn FnOnce(u64) + Send>>,
    ended: bool,
}

impl<B> Concealed<B> {
    /// `inner`, with `secrets` concealed; `done(bytes sent)` is called once at the end.
    pub fn new(inner: B, secrets: Secrets, done: Box<dyn FnOnce(u64) + Send>) -> Self {
        Self {
            inner,
            secrets,
            carry: BytesMut::new(),
            sent: 0,
            done: Some(done),
            ended: false,
        }
    }

    fn finish(&mut self) {
        if let Some(d) = self.done.take() {
            d(self.sent);
        }
    }

    /// `data` after what was carried: all of it concealed, and all but what may start
    /// the secret handed on.
    fn pass(&mut self, data: &[u8]) -> Option<Bytes> {
        self.carry.extend_from_slice(data);
        conceal(&mut self.carry, &self.secrets);
        let keep = self
            .secrets
            .longest()
            .saturating_sub(1)
            .min(self.carry.len());
        let out = self.carry.split_to(self.carry.len() - keep).freeze();
        (!out.is_empty()).then(|| {
            self.sent += out.len() as u64;
            out
        })
    }
}

impl<B> Drop for Concealed<B> {
    fn drop(&mut self) {
        self.finish();
    }
}

impl<B> Body for Concealed<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let me = &mut *self;
        loop {
            if me.ended {
                return Poll::Ready(None);
            }
            match Pin::new(&mut me.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        if let Some(out) = me.pass(&data) {
                            return Poll::Ready(Some(Ok(Frame::data(out))));
                        }
                    }
                    // Trailers are dropped: they could carry an echo, and an API's
                    // answer needs none.
                    Err(_trailers) => {}
                },
                Poll::Ready(None) => {
                    me.ended = true;
                    let rest = me.carry.split().freeze();
                    me.sent += rest.len() as u64;
                    me.finish();
                    if rest.is_empty() {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Ok(Frame::data(rest))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended || (self.carry.is_empty() && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        // Same-length concealment: the inner body's size, plus what is carried.
        let inner = self.inner.size_hint();
        let c = self.carry.len() as u64;
        let mut h = SizeHint::new();
        if let Some(u) = inner.upper() {
            h.set_upper(u + c);
        }
        h.set_lower(inner.lower() + c);
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};
    use std::sync::{Arc, Mutex};

    #[test]
    fn conceal_overwrites_every_occurrence_with_a_marker_of_its_length() {
        let mut b = b"x SECRETTOKEN y SECRETTOKEN".to_vec();
        assert!(conceal(&mut b, &one(b"SECRETTOKEN")));
        assert_eq!(&b, b"x <concealed  y <concealed ");
        let long = vec![b'a'; 40];
        let mut b = long.clone();
        conceal(&mut b, &one(&long));
        assert_eq!(&b[..MARKER.len()], MARKER);
        assert!(b[MARKER.len()..].iter().all(|c| *c == b'*'));
        // A header holding the token is concealed whole, and its encoded form too.
        let s = Secrets::new(vec![
            Zeroizing::new(b"tok".to_vec()),
            Zeroizing::new(b"Basic dG9rOg==".to_vec()),
            Zeroizing::new(b"dG9rOg==".to_vec()),
        ]);
        let mut b = b"[Basic dG9rOg==] [dG9rOg==] [tok]".to_vec();
        assert!(conceal(&mut b, &s));
        assert_eq!(&b, b"[<concealed by ] [<conceal] [<co]");
    }

    #[tokio::test]
    async fn a_body_is_concealed_across_chunks_and_counted() {
        let secret = b"tok-0123456789abcdef".to_vec();
        let text =
            b"{\"echo\":\"Bearer tok-0123456789abcdef\",\"n\":1} tok-0123456789abcdef".to_vec();
        for split in 1..text.len() {
            let chunks: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = text
                .chunks(split)
                .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
                .collect();
            let inner = StreamBody::new(tokio_stream_iter(chunks));
            let counted = Arc::new(Mutex::new(None));
            let c2 = counted.clone();
            let body = Concealed::new(
                inner,
                one(&secret),
                Box::new(move |n| *c2.lock().unwrap() = Some(n)),
            );
            let out = body.collect().await.unwrap().to_bytes();
            assert_eq!(out.len(), text.len(), "split {split}");
            assert!(
                memchr::memmem::find(&out, &secret).is_none(),
                "split {split}: {}",
                String::from_utf8_lossy(&out)
            );
            assert!(memchr::memmem::find(&out, b"<concealed by token-").is_some());
            assert_eq!(*counted.lock().unwrap(), Some(text.len() as u64));
        }
    }

    fn one(s: &[u8]) -> Secrets {
        Secrets::new(vec![Zeroizing::new(s.to_vec())])
    }

    fn tokio_stream_iter<T>(v: Vec<T>) -> impl futures_util::Stream<Item = T> + Unpin {
        futures_util::stream::iter(v)
    }
}
