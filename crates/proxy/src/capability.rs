//! The capability a TCP client presents: a random key made when the proxy starts, held
//! only in its memory (and in a 0600 file in the user's runtime directory, for
//! `tw://proxy/NAME`), never the provider's token.

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// Prefix of every capability, so a leaked one is recognisable (and never taken for a
/// provider's token).
pub const PREFIX: &str = "twp_";

/// A proxy's capability.
pub struct Capability(SecretString);

impl Capability {
    /// A new one: 32 random bytes.
    pub fn new() -> Result<Self, String> {
        let mut raw = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut raw[..])
            .map_err(|e| format!("no randomness for the capability: {e}"))?;
        let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw[..]);
        Ok(Self(SecretString::from(format!("{PREFIX}{text}"))))
    }

    /// The capability, to show once or hand to `run`.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }

    /// Whether an `Authorization` or `Proxy-Authorization` value presents it
    /// (`Bearer <capability>`); compared in constant time.
    pub fn presented_in(&self, value: &[u8]) -> bool {
        let Some(sep) = value.iter().position(|b| *b == b' ') else {
            return false;
        };
        let (scheme, rest) = value.split_at(sep);
        if !scheme.eq_ignore_ascii_case(b"bearer") {
            return false;
        }
        let given = rest.trim_ascii();
        let mine = self.0.expose_secret().as_bytes();
        given.len() == mine.len() && bool::from(given.ct_eq(mine))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_its_own_value_as_a_bearer_is_accepted() {
        let c = Capability::new().unwrap();
        let other = Capability::new().unwrap();
        let v = c.secret().expose_secret().to_string();
        assert!(v.starts_with(PREFIX) && v.len() == PREFIX.len() + 43);
        assert!(c.presented_in(format!("Bearer {v}").as_bytes()));
        assert!(c.presented_in(format!("bearer {v}").as_bytes()));
        assert!(!c.presented_in(v.as_bytes()));
        assert!(!c.presented_in(format!("Basic {v}").as_bytes()));
        assert!(!c.presented_in(format!("Bearer {}", other.secret().expose_secret()).as_bytes()));
        assert!(!c.presented_in(format!("Bearer {}", &v[..v.len() - 1]).as_bytes()));
    }
}
