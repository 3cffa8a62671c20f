//! OpenBao's Transit engine as a key-encryption key: a vault's data key wrapped by a
//! named Transit key, so that unlocking is "this identity may decrypt with that key"
//! (`docs/team-vault.md`). The key never leaves OpenBao; the data key crosses the
//! connection (TLS) in base64 inside a JSON body, in buffers wiped after use.

use super::client::Client;
use base64::Engine as _;
use std::sync::Arc;
use zeroize::Zeroizing;

/// One Transit key of one mount, reached with this machine's OpenBao login.
#[derive(Clone)]
pub struct TransitKey {
    client: Arc<Client>,
    mount: String,
    key: String,
}

impl std::fmt::Debug for TransitKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TransitKey({}/{})", self.mount, self.key)
    }
}

/// Why Transit did not give a key back.
#[derive(Debug)]
pub enum TransitError {
    /// The ciphertext does not open under this key with this associated data: it was made
    /// for another place (or another key) or changed.
    NotThisPlace,
    /// OpenBao refused this identity (no policy for the key), or the key does not exist.
    Refused(String),
    /// OpenBao could not be reached, or answered something else.
    Unavailable(String),
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl TransitKey {
    pub(super) fn new(client: Arc<Client>, mount: &str, key: &str) -> Self {
        Self {
            client,
            mount: mount.into(),
            key: key.into(),
        }
    }

    /// `mount/key`, for messages.
    pub fn name(&self) -> String {
        format!("{}/{}", self.mount, self.key)
    }

    fn refused(&self, what: &str, a: &super::client::Answer) -> TransitError {
        let why = a.errors();
        if a.status == 403 {
            TransitError::Refused(format!(
                "permission denied to {what} with Transit key {} ({why})",
                self.name()
            ))
        } else if a.status == 400 && why.contains("authentication failed") {
            TransitError::NotThisPlace
        } else if a.status == 400 && why.contains("not found") || a.status == 404 {
            TransitError::Refused(format!(
                "Transit key {} does not exist ({why})",
                self.name()
            ))
        } else {
            TransitError::Unavailable(format!("Transit {what} with {}: {why}", self.name()))
        }
    }

    /// Encrypts `plaintext` bound to `aad`; the answer is Transit's text form
    /// (`vault:v<N>:<base64>`).
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<String, TransitError> {
        // Written by hand: base64 needs no JSON escaping, and no copy of the key is left
        // in a `serde_json::Value`.
        let body = Zeroizing::new(format!(
            "{{\"plaintext\":\"{}\",\"associated_data\":\"{}\"}}",
            Zeroizing::new(b64().encode(plaintext)).as_str(),
            b64().encode(aad)
        ));
        let a = self
            .client
            .call(
                "POST",
                &[&self.mount, "encrypt", &self.key],
                Some(body.as_bytes()),
            )
            .map_err(|e| TransitError::Unavailable(e.to_string()))?;
        if a.status != 200 {
            return Err(self.refused("encrypt", &a));
        }
        a.body["data"]["ciphertext"]
            .as_str()
            .filter(|c| c.starts_with("vault:v"))
            .map(str::to_string)
            .ok_or_else(|| TransitError::Unavailable("Transit gave no ciphertext".into()))
    }

    /// Decrypts `ciphertext` (Transit's text form) bound to `aad`.
    pub fn decrypt(
        &self,
        ciphertext: &str,
        aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, TransitError> {
        let body = serde_json::json!({
            "ciphertext": ciphertext,
            "associated_data": b64().encode(aad),
        });
        let body = super::client::json_bytes(&body);
        let mut a = self
            .client
            .call("POST", &[&self.mount, "decrypt", &self.key], Some(&body))
            .map_err(|e| TransitError::Unavailable(e.to_string()))?;
        if a.status != 200 {
            return Err(self.refused("decrypt", &a));
        }
        // Taken out of the parsed answer and wiped with it.
        let text = match a.body["data"]["plaintext"].take() {
            serde_json::Value::String(s) => Zeroizing::new(s),
            _ => {
                return Err(TransitError::Unavailable(
                    "Transit gave no plaintext".into(),
                ))
            }
        };
        let mut out = Zeroizing::new(Vec::with_capacity(text.len()));
        b64()
            .decode_vec(text.as_bytes(), &mut out)
            .map_err(|_| TransitError::Unavailable("Transit's plaintext is not base64".into()))?;
        Ok(out)
    }
}
