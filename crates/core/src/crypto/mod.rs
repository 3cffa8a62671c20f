//! The key hierarchy as types: a [`Passphrase`] derives a [`Kek`] (Argon2id), which wraps
//! a [`Dek`] (AES-256-GCM), which seals records (AES-256-GCM). One type per kind of key,
//! so keys cannot be mixed up, and every ciphertext is bound to its place by associated
//! data built here, never by the caller.

mod hazmat;
mod refresher;
pub(crate) use refresher::{transit_refresher_aad, RefresherKey};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Overwrites the part of this thread's stack that the calls it made before used (48
/// KiB below the caller's frame), so key bytes that functions left in their frames
/// (Argon2's output, a cipher's key schedule moved on return) do not outlive them. Safe on
/// any thread (agent client threads have 256 KiB stacks). Called after unlocking, after
/// each agent request and when locking.
pub fn scrub_stack() {
    scrub::<{ 48 * 1024 }>();
}

/// [`scrub_stack`] 512 KiB deep, for threads with a stack of the default 2 MiB or more
/// (the main thread, `std` and tokio's blocking workers), whose earlier calls may have
/// gone deeper (an unoptimised build's Argon2 and AES).
pub fn scrub_deep_stack() {
    scrub::<{ 512 * 1024 }>();
}

#[inline(never)]
fn scrub<const N: usize>() {
    let mut block = [0u8; N];
    zeroize::Zeroize::zeroize(&mut block[..]);
    std::hint::black_box(&block);
}

/// The version of the associated-data layout below (`token-wallet/dek/v`,
/// `token-wallet/record/v` and a 32-bit big-endian number). A fixed label, 1 since the
/// first vault: it is not the vault's format version (`docs/format.md`), which lives in
/// the header and may change without re-encrypting anything.
pub const AAD_VERSION: u32 = 1;

/// A master passphrase. Never empty; never printed.
pub struct Passphrase(SecretString);

impl Passphrase {
    /// Wraps a passphrase. `None` when it is empty (or only a line ending), which is never
    /// accepted.
    pub fn new(mut text: String) -> Option<Self> {
        while text.ends_with('\n') || text.ends_with('\r') {
            text.pop();
        }
        if text.is_empty() {
            return None;
        }
        Some(Self(SecretString::from(text)))
    }

    /// The passphrase as a secret string (to hand it to the agent over its socket).
    pub fn secret(&self) -> &SecretString {
        &self.0
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// Argon2id cost parameters, stored in the vault header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Parallelism (lanes).
    pub p: u32,
}

impl KdfParams {
    /// RFC 9106's second recommended option: 64 MiB, 3 passes, 4 lanes. The floor.
    pub const RFC9106_SECOND: KdfParams = KdfParams {
        m_kib: 64 * 1024,
        t: 3,
        p: 4,
    };
    /// 1 MiB, 1 pass, 1 lane: far below the floor, for tests only (a vault created with it
    /// records that in its header).
    pub const INSECURE_FOR_TESTS: KdfParams = KdfParams {
        m_kib: 1024,
        t: 1,
        p: 1,
    };
    /// The most memory a header may ask for (1 GiB). A header asking for more is refused
    /// before any work is done: a hostile header must not be able to exhaust the machine.
    pub const MAX_M_KIB: u32 = 1024 * 1024;
    /// The most passes a header may ask for.
    pub const MAX_T: u32 = 64;
    /// The most lanes a header may ask for.
    pub const MAX_P: u32 = 64;

    /// Whether these parameters are at least RFC 9106's second recommendation.
    pub fn meets_floor(&self) -> bool {
        let f = Self::RFC9106_SECOND;
        self.m_kib >= f.m_kib && self.t >= f.t && self.p >= f.p
    }

    /// Whether these parameters are within the cost cap.
    pub fn within_cap(&self) -> bool {
        self.m_kib <= Self::MAX_M_KIB
            && self.t <= Self::MAX_T
            && self.p <= Self::MAX_P
            && self.t >= 1
            && self.p >= 1
            && self.m_kib >= 8 * self.p
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::RFC9106_SECOND
    }
}

impl std::fmt::Display for KdfParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Argon2id m={} KiB, t={}, p={}",
            self.m_kib, self.t, self.p
        )
    }
}

/// A vault's random identity, bound into every ciphertext of that vault.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VaultId(pub(crate) [u8; 16]);

impl VaultId {
    pub(crate) fn generate() -> Self {
        Self(hazmat::random())
    }
    /// Hex form, for display.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    pub(crate) fn from_hex(s: &str) -> Option<Self> {
        let v = hex::decode(s).ok()?;
        Some(Self(v.try_into().ok()?))
    }
}

impl std::fmt::Debug for VaultId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VaultId({})", self.to_hex())
    }
}

/// A 16-byte Argon2 salt.
pub(crate) type Salt = [u8; 16];

/// Random bytes from the OS generator, for values that are not keys (ids, stamps, one-time
/// path segments, jitter, the audit key's material). Keys come from their own types.
pub(crate) fn random<const N: usize>() -> [u8; N] {
    hazmat::random()
}

/// Generates a fresh salt.
pub(crate) fn new_salt() -> Salt {
    hazmat::random()
}

/// A new boxed key buffer, its page locked in RAM (never swapped) where the OS allows.
fn key_box() -> Box<Zeroizing<[u8; 32]>> {
    let key = Box::new(Zeroizing::new([0u8; 32]));
    if !token_wallet_harden::lock_in_memory(&key[..]) {
        tracing::debug!("could not lock a key in memory (RLIMIT_MEMLOCK); it may be swapped");
    }
    key
}

/// A boxed key holding `raw` (unwrapped or decrypted elsewhere); `None` unless it is 32
/// bytes.
fn key_from(raw: &[u8]) -> Option<Box<Zeroizing<[u8; 32]>>> {
    if raw.len() != 32 {
        return None;
    }
    let mut key = key_box();
    key.copy_from_slice(raw);
    Some(key)
}

/// A new boxed random key.
fn random_key() -> Box<Zeroizing<[u8; 32]>> {
    let mut key = key_box();
    hazmat::fill_random(&mut key[..]);
    key
}

/// The key-encryption key, derived from the passphrase. Only wraps and unwraps [`Dek`]s.
/// Boxed: the key is written once, in place, and moving a `Kek` moves only the pointer,
/// so no copy of the key is left behind in a stack frame; wiped when dropped.
pub(crate) struct Kek(Box<Zeroizing<[u8; 32]>>);

/// The data key. Only seals and opens records. Boxed like [`Kek`].
pub(crate) struct Dek(Box<Zeroizing<[u8; 32]>>);

/// Where a wrapped data key belongs: binds it to the vault, generation and KDF settings.
pub(crate) struct DekPlace<'a> {
    pub vault: VaultId,
    pub generation: u64,
    pub kdf: &'a KdfParams,
    pub salt: &'a Salt,
}

impl DekPlace<'_> {
    fn aad(&self) -> Vec<u8> {
        let mut a = b"token-wallet/dek/v".to_vec();
        a.extend_from_slice(&AAD_VERSION.to_be_bytes());
        a.extend_from_slice(&self.vault.0);
        a.extend_from_slice(&self.generation.to_be_bytes());
        a.extend_from_slice(&self.kdf.m_kib.to_be_bytes());
        a.extend_from_slice(&self.kdf.t.to_be_bytes());
        a.extend_from_slice(&self.kdf.p.to_be_bytes());
        a.extend_from_slice(self.salt);
        a
    }
}

/// Where a sealed record belongs: vault, generation and keystore entry name.
pub(crate) struct RecordPlace<'a> {
    pub vault: VaultId,
    pub generation: u64,
    pub entry: &'a str,
}

impl RecordPlace<'_> {
    fn aad(&self) -> Vec<u8> {
        let mut a = b"token-wallet/record/v".to_vec();
        a.extend_from_slice(&AAD_VERSION.to_be_bytes());
        a.extend_from_slice(&self.vault.0);
        a.extend_from_slice(&self.generation.to_be_bytes());
        a.extend_from_slice(&(self.entry.len() as u64).to_be_bytes());
        a.extend_from_slice(self.entry.as_bytes());
        a
    }
}

impl Kek {
    /// The raw key, for the memory-scan tests only.
    #[cfg(feature = "test-secrets")]
    pub(crate) fn bytes_for_tests(&self) -> Vec<u8> {
        self.0.to_vec()
    }

    /// Derives the KEK. The caller has checked `kdf.within_cap()`.
    pub(crate) fn derive(
        passphrase: &Passphrase,
        kdf: &KdfParams,
        salt: &Salt,
    ) -> Result<Self, argon2::Error> {
        let mut key = key_box();
        hazmat::argon2id_into(
            passphrase.bytes(),
            salt,
            kdf.m_kib,
            kdf.t,
            kdf.p,
            key.as_mut(),
        )?;
        Ok(Self(key))
    }

    pub(crate) fn wrap(&self, dek: &Dek, place: &DekPlace<'_>) -> Vec<u8> {
        hazmat::seal(&self.0, &place.aad(), &dek.0[..])
    }

    /// `None`: wrong passphrase (or a wrapped key that does not belong to this place).
    pub(crate) fn unwrap(&self, wrapped: &[u8], place: &DekPlace<'_>) -> Option<Dek> {
        let raw = hazmat::open(&self.0, &place.aad(), wrapped)?;
        key_from(&raw).map(Dek)
    }
}

/// The associated data an OpenBao Transit key binds a wrapped data key to: the vault and
/// the generation (the Transit key itself is bound by OpenBao).
pub(crate) fn transit_dek_aad(vault: VaultId, generation: u64) -> Vec<u8> {
    let mut a = b"token-wallet/transit-dek/v".to_vec();
    a.extend_from_slice(&AAD_VERSION.to_be_bytes());
    a.extend_from_slice(&vault.0);
    a.extend_from_slice(&generation.to_be_bytes());
    a
}

impl Dek {
    /// The raw key, to be wrapped by a key held elsewhere (an OpenBao Transit key).
    pub(crate) fn expose_for_wrapping(&self) -> &[u8] {
        &self.0[..]
    }

    /// A data key unwrapped elsewhere (by Transit); `None` unless it is 32 bytes.
    pub(crate) fn from_unwrapped(raw: &[u8]) -> Option<Self> {
        key_from(raw).map(Self)
    }

    /// The raw key, for the memory-scan tests only.
    #[cfg(feature = "test-secrets")]
    pub(crate) fn bytes_for_tests(&self) -> Vec<u8> {
        self.0.to_vec()
    }

    pub(crate) fn generate() -> Self {
        Self(random_key())
    }

    pub(crate) fn seal(&self, place: &RecordPlace<'_>, plaintext: &[u8]) -> Vec<u8> {
        hazmat::seal(&self.0, &place.aad(), plaintext)
    }

    /// `None`: the blob was modified, moved from another entry or vault, or is damaged.
    pub(crate) fn open(&self, place: &RecordPlace<'_>, blob: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        hazmat::open(&self.0, &place.aad(), blob)
    }
}

/// A backup file's key: seals the backup's one payload. Its own type, so it is never
/// taken for a vault's data key; wrapped by a [`Kek`] with its own associated data.
pub(crate) struct BackupKey(Box<Zeroizing<[u8; 32]>>);

/// Where a backup's key and payload belong: the backup's random id and the KDF settings
/// its key-encryption key came from.
pub(crate) struct BackupPlace<'a> {
    pub id: [u8; 16],
    pub kdf: &'a KdfParams,
    pub salt: &'a Salt,
}

impl BackupPlace<'_> {
    fn key_aad(&self) -> Vec<u8> {
        let mut a = b"token-wallet/backup-key/v".to_vec();
        a.extend_from_slice(&AAD_VERSION.to_be_bytes());
        a.extend_from_slice(&self.id);
        a.extend_from_slice(&self.kdf.m_kib.to_be_bytes());
        a.extend_from_slice(&self.kdf.t.to_be_bytes());
        a.extend_from_slice(&self.kdf.p.to_be_bytes());
        a.extend_from_slice(self.salt);
        a
    }

    fn payload_aad(&self) -> Vec<u8> {
        let mut a = b"token-wallet/backup/v".to_vec();
        a.extend_from_slice(&AAD_VERSION.to_be_bytes());
        a.extend_from_slice(&self.id);
        a
    }
}

impl Kek {
    pub(crate) fn wrap_backup(&self, key: &BackupKey, place: &BackupPlace<'_>) -> Vec<u8> {
        hazmat::seal(&self.0, &place.key_aad(), &key.0[..])
    }

    /// `None`: wrong passphrase, or a key that does not belong to this backup.
    pub(crate) fn unwrap_backup(
        &self,
        wrapped: &[u8],
        place: &BackupPlace<'_>,
    ) -> Option<BackupKey> {
        let raw = hazmat::open(&self.0, &place.key_aad(), wrapped)?;
        key_from(&raw).map(BackupKey)
    }
}

impl BackupKey {
    pub(crate) fn generate() -> Self {
        Self(random_key())
    }

    pub(crate) fn seal(&self, place: &BackupPlace<'_>, plaintext: &[u8]) -> Vec<u8> {
        hazmat::seal(&self.0, &place.payload_aad(), plaintext)
    }

    /// `None`: the payload was modified, or belongs to another backup.
    pub(crate) fn open(&self, place: &BackupPlace<'_>, blob: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        hazmat::open(&self.0, &place.payload_aad(), blob)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEAK: KdfParams = KdfParams {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    #[test]
    fn passphrase_rejects_empty_and_strips_line_end() {
        assert!(Passphrase::new(String::new()).is_none());
        assert!(Passphrase::new("\n".into()).is_none());
        assert_eq!(Passphrase::new("pw\n".into()).unwrap().bytes(), b"pw");
        assert_eq!(
            format!("{:?}", Passphrase::new("hunter2".into()).unwrap()),
            "Passphrase(<redacted>)"
        );
    }

    #[test]
    fn dek_wrap_is_bound_to_its_place() {
        let salt = new_salt();
        let kek = Kek::derive(&Passphrase::new("pw".into()).unwrap(), &WEAK, &salt).unwrap();
        let dek = Dek::generate();
        let vault = VaultId::generate();
        let place = DekPlace {
            vault,
            generation: 1,
            kdf: &WEAK,
            salt: &salt,
        };
        let w = kek.wrap(&dek, &place);
        assert!(kek.unwrap(&w, &place).is_some());
        let other_gen = DekPlace {
            generation: 2,
            ..place
        };
        assert!(kek.unwrap(&w, &other_gen).is_none());
        let other_vault = DekPlace {
            vault: VaultId::generate(),
            ..place
        };
        assert!(kek.unwrap(&w, &other_vault).is_none());
        let wrong = Kek::derive(&Passphrase::new("px".into()).unwrap(), &WEAK, &salt).unwrap();
        assert!(wrong.unwrap(&w, &place).is_none());
    }

    #[test]
    fn record_seal_is_bound_to_entry_vault_and_generation() {
        let dek = Dek::generate();
        let v = VaultId::generate();
        let p = RecordPlace {
            vault: v,
            generation: 3,
            entry: "rec.a",
        };
        let blob = dek.seal(&p, b"secret");
        assert_eq!(dek.open(&p, &blob).unwrap().as_slice(), b"secret");
        for other in [
            RecordPlace {
                entry: "rec.b",
                ..p
            },
            RecordPlace { generation: 4, ..p },
            RecordPlace {
                vault: VaultId::generate(),
                ..p
            },
        ] {
            assert!(dek.open(&other, &blob).is_none());
        }
    }

    #[test]
    fn kdf_cap_and_floor() {
        assert!(KdfParams::default().meets_floor());
        assert!(KdfParams::default().within_cap());
        assert!(!WEAK.meets_floor());
        let four_gib = KdfParams {
            m_kib: 4 * 1024 * 1024,
            t: 3,
            p: 4,
        };
        assert!(!four_gib.within_cap());
    }
}
