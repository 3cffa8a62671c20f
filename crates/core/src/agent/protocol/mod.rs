//! The agent's wire protocol, version 1: one JSON object per line; a request at most
//! [`MAX_FRAME`] bytes, a reply at most [`MAX_REPLY`] (a `list` of a thousand connections
//! is about 800 KB).
//!
//! ```text
//! -> {"v":1,"op":"token","name":"acme","min_ttl_secs":300}
//! <- {"v":1,"ok":true,"access_token":"…","expires_at":1790000000,"refreshed":false,"connection":{…}}
//! -> {"v":1,"op":"refresh","name":"acme"}  <- {"v":1,"ok":true,"connection":{…}}
//! -> {"v":1,"op":"check","name":"acme"}    <- {"v":1,"ok":true,"outcome":"ok","connection":{…}}
//! -> {"v":1,"op":"disconnect","name":"acme","force":false}
//! <- {"v":1,"ok":true,"outcome":"revoked"}  (no_revocation | forgotten | key_forgotten + "kind" | pending + "why")
//! -> {"v":1,"op":"prune","inactive_days":90,"dry_run":true}
//! <- {"v":1,"ok":true,"pruned":[{"name":"acme","reason":"unused for 90 days","outcome":null}]}
//! -> {"v":1,"op":"add_key","name":"k","provider":{…},"secret":"…","expires_at":null,"verify":true}
//! -> {"v":1,"op":"add_token","name":"t","kind":"static-bearer","label":"ci","secret":"…"}
//! <- {"v":1,"ok":true,"connection":{…}}
//! -> {"v":1,"op":"rotate_secret","name":"k","secret":"…","verify":true}
//! <- {"v":1,"ok":true,"connection":{…},"old":{"client_id":…,"application":…,"added_at":…,"expires_at":…}}
//! -> {"v":1,"op":"connect","name":"acme","provider":{…},"scopes":[],"timeout_secs":300}
//! <- {"v":1,"ok":true,"sign_in":{"start":"file:///…","direct":"https://…"}}  (the link)
//! <- {"v":1,"ok":true,"connection":{…}}
//! -> {"v":1,"op":"reauthorise","name":"acme","timeout_secs":300}
//! <- (sign_in frames) {"v":1,"ok":true,"connection":{…},"replaced":"revoked","why":null}
//! -> {"v":1,"op":"audit","since":null}
//! <- {"v":1,"ok":true,"lines":[…],"verdict":{"lines":12,"authenticated":12,"broken":null}}
//! -> {"v":1,"op":"status"}                 list | status | lock | unlock (+ "passphrase") | stop
//! <- {"v":1,"ok":false,"error":"locked","message":"the agent is locked; …"}
//! ```
//!
//! Requests are parsed into [`Request`] (parse, don't validate): an unknown version,
//! operation or field is refused with a clear error. Frame buffers are zeroized (an
//! `unlock` frame holds a passphrase, `add_key`, `add_token` and `rotate_secret` a pasted
//! secret, a `token` reply an access token).

mod frame;
mod reply;
mod request;

pub use frame::{write_frame, Frame, FrameReader, Timed};
pub use reply::{AgentStatus, Issued, Reply};
pub use request::{Request, MAX_PROXIED_BATCH, MAX_SIGN_IN_SECS};

use serde::Serialize;
use zeroize::Zeroizing;

/// The protocol version this build speaks.
pub const VERSION: u32 = 1;

/// The longest request line the agent reads, newline included (what any local process
/// may send it).
pub const MAX_FRAME: usize = 64 * 1024;

/// The longest reply line a client reads, newline included (what the agent, checked to be
/// this user's, sends back).
pub const MAX_REPLY: usize = 16 * 1024 * 1024;

pub(super) trait ClassifyMsg {
    fn classify_msg(&self) -> String;
}

impl ClassifyMsg for serde_json::Error {
    /// serde_json's messages name fields and positions, never values, except for
    /// `invalid type: string "…"`, which this drops.
    fn classify_msg(&self) -> String {
        match self.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!(
                    "invalid JSON at line {} column {}",
                    self.line(),
                    self.column()
                )
            }
            serde_json::error::Category::Data => {
                let m = self.to_string();
                if m.starts_with("unknown field") || m.starts_with("missing field") {
                    m.split(", expected").next().unwrap_or(&m).to_string()
                } else {
                    "a field has the wrong type".to_string()
                }
            }
            serde_json::error::Category::Io => "read error".to_string(),
        }
    }
}

/// `value` as one JSON line in a zeroized buffer.
pub(super) fn line(value: &impl Serialize) -> Zeroizing<Vec<u8>> {
    let mut buf = Zeroizing::new(Vec::with_capacity(256));
    // Invariant: these values are strings, numbers and plain structs; writing to a Vec
    // cannot fail.
    serde_json::to_writer(&mut *buf, value).expect("reply serialises");
    buf.push(b'\n');
    buf
}

#[cfg(test)]
mod tests;
