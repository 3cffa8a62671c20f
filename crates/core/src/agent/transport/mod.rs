//! The agent's local transport, one side per platform, behind one small API:
//!
//! - **Unix** ([`unix`]): a Unix socket in a private (0700) directory, the socket 0600;
//!   the peer's uid from the kernel (`SO_PEERCRED`, `getpeereid`).
//! - **Windows** ([`windows`]): a named pipe (the `interprocess` crate) whose DACL admits
//!   only this user, created as the first instance of its name (a squatter's pipe makes
//!   the agent refuse to start); the client's user from its token, impersonated at
//!   identification level; the server's from its process. Clients open the pipe at
//!   identification level, so a server can never act as them.
//!
//! Both ends check the other on every connection: the server refuses a client of another
//! user, the client refuses a server of another user before it sends anything.

#[cfg(unix)]
mod unix;
#[cfg(windows)]
mod windows;

#[cfg(unix)]
pub use unix::*;
#[cfg(windows)]
pub use windows::*;

use super::peer::{self, Peer, User};

/// Why a client was refused.
#[derive(Debug)]
pub enum Refusal {
    /// It runs as another user (who, and who we are).
    OtherUser(User, User),
    /// Who it is could not be told.
    Unknown(std::io::Error),
}

/// The client on the other end of a server-side stream, if it runs as this user.
pub fn client_of(s: &Stream) -> Result<Peer, Refusal> {
    let (user, pid) = client_user(s).map_err(Refusal::Unknown)?;
    let me = peer::me().map_err(Refusal::Unknown)?;
    if user != me {
        return Err(Refusal::OtherUser(user, me));
    }
    Ok(Peer { pid })
}

/// Makes sure the server on the other end of a client-side stream runs as this user.
fn check_server(path: &std::path::Path, s: &Stream) -> Result<(), super::AgentError> {
    let (user, _) = server_user(s)?;
    let me = peer::me()?;
    if user != me {
        return Err(super::AgentError::NotYourAgent(
            path.display().to_string(),
            format!(
                "the process serving it runs as {user}, not as this user ({me}); it is not your agent"
            ),
        ));
    }
    Ok(())
}
