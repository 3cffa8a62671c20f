//! The agent's server: one thread per client, each client checked and each request
//! answered, over the platform's [`transport`](super::transport).

use super::peer::Peer;
use super::protocol::{write_frame, Frame, FrameReader, Reply, Request};
use super::session::Agent;
use super::transport::{self, Listener, Refusal, Stream};
use super::AgentError;
use crate::guard;
use crate::oauth::{Interaction, SignInLink};
use crate::ops::{ConnectRequest, OpError, Session};
use crate::vault::VaultError;
use crate::Passphrase;
use secrecy::ExposeSecret;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Decrements the client count when a client thread ends.
struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Agent {
    /// Asks a running [`Self::serve`] to lock and return.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        if let Some(p) = guard(&self.socket).clone() {
            transport::wake(&p);
        }
    }

    /// Serves the socket (named pipe) at `path` until a `stop` request (or
    /// [`Self::request_stop`]); then locks and removes the socket. `ready` is called once
    /// it is listening.
    pub fn serve(self: &Arc<Self>, path: &Path, ready: impl FnOnce()) -> Result<(), AgentError> {
        let listener = Listener::bind(path)?;
        *guard(&self.socket) = Some(path.to_path_buf());
        tracing::info!(socket = %path.display(), "agent listening");
        ready();
        let me = self.clone();
        let ticker = std::thread::spawn(move || {
            while !me.stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(250));
                me.tick();
                // The idle lock and its wipe run here.
                crate::crypto::scrub_stack();
            }
        });
        // Keeping connections fresh: on its own thread, so a slow provider delays neither
        // the idle lock nor a client.
        let upkeep = self.opts.maintain.clone().map(|opts| {
            let me = self.clone();
            std::thread::spawn(move || {
                while !me.stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(500));
                    for done in me.maintain(&opts) {
                        tracing::info!(?done, "kept fresh");
                    }
                    // What the step's refreshes left in this thread's stack.
                    crate::crypto::scrub_deep_stack();
                }
            })
        });
        loop {
            let conn = listener.accept();
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            let s = match conn {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors, say: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
            };
            let n = self.clients.fetch_add(1, Ordering::SeqCst) + 1;
            if n > self.opts.max_clients {
                self.clients.fetch_sub(1, Ordering::SeqCst);
                let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
                let _ = write_frame(&s, &Reply::Error(AgentError::Busy(n - 1)).encode());
                continue;
            }
            let me = self.clone();
            let spawned = std::thread::Builder::new()
                .name("agent-client".into())
                // Reserved, not touched: a write deflates the vault's index, and an
                // unoptimised build makes the compressor's ~300 KiB state on the stack.
                .stack_size(1024 * 1024)
                .spawn(move || {
                    let _slot = Slot(&me.clients);
                    me.handle(s);
                });
            if let Err(e) = spawned {
                self.clients.fetch_sub(1, Ordering::SeqCst);
                tracing::warn!(error = %e, "could not start a client thread");
            }
        }
        self.lock();
        transport::remove(path);
        let _ = ticker.join();
        // A refresh in flight finishes (its rotated token saved) before the agent ends.
        if let Some(u) = upkeep {
            let _ = u.join();
        }
        tracing::info!("agent stopped");
        Ok(())
    }

    fn handle(&self, s: Stream) {
        self.serve_client(s);
        // Whatever this thread's requests left in its stack (a token, a key schedule) is
        // overwritten before the thread (and its reusable stack) goes. The thread's stack
        // is 1 MiB.
        crate::crypto::scrub_deep_stack();
    }

    fn serve_client(&self, s: Stream) {
        let peer = match transport::client_of(&s) {
            Ok(p) => p,
            Err(Refusal::OtherUser(them, me)) => {
                tracing::warn!(user = %them, "refused a client of another user");
                let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
                let _ = write_frame(&s, &Reply::Error(AgentError::PeerRefused(me)).encode());
                return;
            }
            Err(Refusal::Unknown(e)) => {
                tracing::warn!(error = %e, "refused a client whose credentials are unknown");
                return;
            }
        };
        let _ = s.set_write_timeout(Some(self.opts.frame_timeout));
        let mut frames = FrameReader::new(&s);
        loop {
            let (reply, close) = match frames.next(self.opts.frame_timeout) {
                Ok(Frame::Closed) => return,
                Ok(Frame::Line(f)) => match Request::parse(&f) {
                    Ok(req) => self.dispatch(req, &peer, &s),
                    // The framing is intact: answer and read on.
                    Err(e) => (Reply::Error(e), false),
                },
                // Too large, too slow, or broken: answer and hang up.
                Err(e) => (Reply::Error(e), true),
            };
            if let Reply::Error(e) = &reply {
                tracing::debug!(kind = e.kind(), "request failed");
            }
            let written = write_frame(&s, &reply.encode());
            if self.stop.load(Ordering::SeqCst) {
                self.request_stop();
                return;
            }
            if written.is_err() || close {
                return;
            }
        }
    }

    fn dispatch(&self, req: Request, peer: &Peer, s: &Stream) -> (Reply, bool) {
        let reply = |r: Result<Reply, AgentError>| r.unwrap_or_else(Reply::Error);
        match req {
            Request::Token { name, min_ttl } => (
                reply(
                    self.token(
                        &name,
                        min_ttl,
                        peer.pid
                            .map(crate::ops::Requester::of_process)
                            .unwrap_or_default(),
                    )
                    .map(|t| Reply::Token(Box::new(t))),
                ),
                false,
            ),
            Request::Refresh { name } => (
                reply(self.refresh(&name).map(|c| Reply::Refreshed(Box::new(c)))),
                false,
            ),
            Request::Check { name } => (
                reply(
                    self.run(|s| s.check(&name))
                        .map(|c| Reply::Checked(Box::new(c.outcome), Box::new(c.info))),
                ),
                false,
            ),
            Request::Disconnect { name, force } => (
                reply(
                    self.run(|s| s.disconnect(&name, force))
                        .map(Reply::Disconnected),
                ),
                false,
            ),
            Request::Prune {
                inactive_days,
                dry_run,
            } => (
                reply(
                    self.run(|s| s.prune(inactive_days, dry_run))
                        .map(Reply::Pruned),
                ),
                false,
            ),
            Request::AddKey {
                name,
                provider,
                secret,
                expires_at,
                verify,
            } => (
                reply(pasted(&secret).and_then(|key| {
                    self.run(|s| s.add_api_key(&name, &provider, &key, expires_at, verify))
                        .map(|c| Reply::Added(Box::new(c)))
                })),
                false,
            ),
            Request::AddToken {
                name,
                kind,
                label,
                secret,
                expires_at,
            } => (
                reply(pasted(&secret).and_then(|token| {
                    self.run(|s| s.add_static(&name, kind, &label, &token, expires_at))
                        .map(|c| Reply::Added(Box::new(c)))
                })),
                false,
            ),
            Request::RotateSecret {
                name,
                secret,
                expires_at,
                verify,
            } => (
                reply(pasted(&secret).and_then(|new| {
                    self.run(|s| s.rotate_secret(&name, &new, expires_at, verify))
                        .map(|r| Reply::Rotated(Box::new(r)))
                })),
                false,
            ),
            Request::Audit { since } => (
                reply(self.audit(since).map(|(l, v)| Reply::Audit(l, v))),
                false,
            ),
            Request::Connect {
                name,
                provider,
                client_id,
                scopes,
                client_secret,
                timeout,
            } => {
                let req = ConnectRequest {
                    name: &name,
                    provider: &provider,
                    client_id,
                    client_secret,
                    scopes,
                };
                let r = self.sign_in(s, timeout, |session, ui| {
                    session.connect(req, ui).map(|c| Reply::Added(Box::new(c)))
                });
                (reply(r), false)
            }
            Request::Reauthorise { name, timeout } => {
                let r = self.sign_in(s, timeout, |session, ui| {
                    session
                        .reauthorise(&name, false, ui)
                        .map(|r| Reply::Reauthorised(Box::new(r.info), r.replaced))
                });
                (reply(r), false)
            }
            Request::Proxied { name, requests } => (
                reply(
                    self.run(|s| s.record_proxied(&name, requests))
                        .map(|()| Reply::Done),
                ),
                false,
            ),
            Request::List => (reply(self.list().map(Reply::List)), false),
            Request::Status => (Reply::Status(self.status()), false),
            Request::Lock => {
                self.lock();
                (Reply::Done, false)
            }
            Request::Unlock { passphrase } => {
                let r = match Passphrase::new(passphrase.expose_secret().to_string()) {
                    Some(p) => self.unlock(&p).map(|_| Reply::Done).map_err(|e| match e {
                        VaultError::WrongPassphrase => AgentError::WrongPassphrase,
                        other => AgentError::Vault(other.to_string()),
                    }),
                    // No passphrase: a vault that unlocks by OpenBao identity.
                    None => self
                        .unlock_by_identity()
                        .map(|_| Reply::Done)
                        .map_err(|e| match e {
                            VaultError::PassphraseNeeded => {
                                AgentError::BadRequest("empty passphrase".into())
                            }
                            other => AgentError::Vault(other.to_string()),
                        }),
                };
                (reply(r), false)
            }
            Request::Stop => {
                self.stop.store(true, Ordering::SeqCst);
                (Reply::Done, true)
            }
        }
    }
}

impl Agent {
    /// A sign-in for a client (`connect`, `reauthorise`), run here by `f` on the
    /// operations layer, with the loopback listener in this process. Each link goes to the
    /// client as a [`Reply::SignIn`] frame for it to open; a client gone by then fails the
    /// sign-in (one that goes later is noticed only when the wait for the browser ends).
    /// The client's pasted addresses reach the listener as a browser's would.
    fn sign_in(
        &self,
        s: &Stream,
        timeout: Duration,
        f: impl FnOnce(&Session<'_>, Interaction<'_>) -> Result<Reply, OpError>,
    ) -> Result<Reply, AgentError> {
        let cancel = AtomicBool::new(false);
        let open = |link: &SignInLink<'_>| {
            let frame = Reply::SignIn {
                start: link.start.to_string(),
                direct: link.direct.to_string(),
            };
            write_frame(s, &frame.encode()).map_err(|e| format!("the client has gone: {e}"))
        };
        self.run(|session| {
            f(
                session,
                Interaction {
                    open: &open,
                    pasted: None,
                    cancel: &cancel,
                    reopen: None,
                    timeout,
                },
            )
        })
    }
}

/// A secret a client sent, held to the rule for pasted secrets.
fn pasted(secret: &secrecy::SecretString) -> Result<crate::ops::Pasted, AgentError> {
    crate::ops::Pasted::new(secret.expose_secret())
        .map_err(|_| AgentError::BadRequest("the secret is empty".into()))
}
