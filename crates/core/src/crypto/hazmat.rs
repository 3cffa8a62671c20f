//! Raw primitives. Nothing outside `crypto` calls these: the rest of the crate uses the
//! typed envelope API in [`crate::crypto`], which cannot mix up keys or forget the
//! associated data.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

/// Length of an AES-256-GCM nonce.
pub(crate) const NONCE_LEN: usize = 12;
/// Length of an AES-256-GCM tag.
pub(crate) const TAG_LEN: usize = 16;

/// Fills an array with bytes from the OS random source.
pub(crate) fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // Invariant: the OS random source does not fail on the platforms we build for; if it
    // did, continuing with predictable keys would be far worse than stopping.
    getrandom::fill(&mut out).expect("the OS random number generator failed");
    out
}

/// Fills `out` from the OS random source, in place.
pub(crate) fn fill_random(out: &mut [u8]) {
    // Invariant: as in `random`.
    getrandom::fill(out).expect("the OS random number generator failed");
}

/// Seals `plaintext` under `key` with a fresh random nonce: returns `nonce || ciphertext || tag`.
pub(crate) fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(key.into());
    let nonce_bytes = random::<NONCE_LEN>();
    let nonce = Nonce::from_slice(&nonce_bytes);
    // Invariant: AES-GCM encryption only fails for plaintexts over 64 GiB.
    let ct = cipher
        .encrypt(
            nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("AES-GCM encryption of a small buffer cannot fail");
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&ct);
    out
}

/// Opens `nonce || ciphertext || tag`. `None` when the blob is too short or fails
/// authentication (wrong key, wrong associated data, or modified bytes).
pub(crate) fn open(key: &[u8; 32], aad: &[u8], blob: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if blob.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, ct) = blob.split_at(NONCE_LEN);
    let cipher = Aes256Gcm::new(key.into());
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .ok()
        .map(Zeroizing::new)
}

/// Argon2id (version 0x13) of `passphrase` with `salt`, written into `out` (in place:
/// the caller's key never exists anywhere else).
pub(crate) fn argon2id_into(
    passphrase: &[u8],
    salt: &[u8],
    m_kib: u32,
    t: u32,
    p: u32,
    out: &mut [u8; 32],
) -> Result<(), argon2::Error> {
    let params = argon2::Params::new(m_kib, t, p, Some(32))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    argon.hash_password_into(passphrase, salt, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_fresh_nonces() {
        let key = random::<32>();
        let a = seal(&key, b"aad", b"hello");
        let b = seal(&key, b"aad", b"hello");
        assert_ne!(
            a[..NONCE_LEN],
            b[..NONCE_LEN],
            "every write gets a fresh nonce"
        );
        assert_eq!(open(&key, b"aad", &a).unwrap().as_slice(), b"hello");
        assert!(open(&key, b"other", &a).is_none());
        assert!(open(&random::<32>(), b"aad", &a).is_none());
        assert!(open(&key, b"aad", &a[..10]).is_none());
    }

    #[test]
    fn argon2id_matches_rfc9106_shape() {
        // Deterministic for the same inputs, different for another salt.
        let run = |salt: &[u8]| {
            let mut out = [0u8; 32];
            argon2id_into(b"pw", salt, 64, 1, 1, &mut out).unwrap();
            out
        };
        let (a, b, c) = (
            run(b"saltsaltsaltsalt"),
            run(b"saltsaltsaltsalt"),
            run(b"saltsaltsaltsalx"),
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
