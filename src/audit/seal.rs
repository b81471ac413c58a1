//! Forward-secure sealing keys: the epoch key ratchet, record MACs and the key files.
//!
//! `mac_n = HMAC-SHA256(k_e, hash_n)` (the 32 raw bytes of the record hash) with the key
//! of the record's epoch; `k_{e+1} = HMAC-SHA256(k_e, "holdfast ratchet v1")`. `k_0` is the
//! verification key. The writer keeps only the current key, in `data_dir/seal.key`.

use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::AuditError;

type HmacSha256 = Hmac<Sha256>;

/// Label of the ratchet step.
const RATCHET_LABEL: &[u8] = b"holdfast ratchet v1";

/// A 32-byte epoch key, wiped from memory when dropped or ratcheted.
#[derive(Clone)]
pub struct EpochKey {
    epoch: u64,
    key: Zeroizing<[u8; 32]>,
    /// The keyed HMAC state, cloned per record so each MAC costs two compressions.
    mac: HmacSha256,
}

impl EpochKey {
    /// The key of `epoch`.
    pub fn new(epoch: u64, key: [u8; 32]) -> Self {
        let key = Zeroizing::new(key);
        let mac = HmacSha256::new_from_slice(&key[..]).expect("HMAC takes any key length");
        EpochKey { epoch, key, mac }
    }

    /// A fresh random `k_0`.
    pub fn generate() -> Result<Self, AuditError> {
        let mut k = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut k[..]).map_err(|e| AuditError::Random(e.to_string()))?;
        Ok(EpochKey::new(0, *k))
    }

    /// The epoch this key seals.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// `HMAC(k_e, hash)`.
    pub fn mac(&self, hash: &[u8; 32]) -> [u8; 32] {
        let mut m = self.mac.clone();
        m.update(hash);
        m.finalize().into_bytes().into()
    }

    /// Checks a MAC in constant time.
    pub fn verify(&self, hash: &[u8; 32], mac: &[u8]) -> bool {
        let mut m = self.mac.clone();
        m.update(hash);
        m.verify_slice(mac).is_ok()
    }

    /// Replaces this key by the next epoch's; the old key bytes are overwritten.
    pub fn ratchet(&mut self) {
        let mut m = self.mac.clone();
        m.update(RATCHET_LABEL);
        let mut next: [u8; 32] = m.finalize().into_bytes().into();
        // Forward security: the old key must not survive in memory.
        self.key.copy_from_slice(&next);
        next.zeroize();
        self.mac = HmacSha256::new_from_slice(&self.key[..]).expect("HMAC takes any key length");
        self.epoch += 1;
    }

    /// Ratchets forward until this key is `epoch`'s (never backward).
    pub fn ratchet_to(&mut self, epoch: u64) {
        while self.epoch < epoch {
            self.ratchet();
        }
    }

    fn hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(&self.key[..]))
    }
}

impl std::fmt::Debug for EpochKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EpochKey {{ epoch: {}, key: <secret> }}", self.epoch)
    }
}

/// `k_0`: whoever holds it can recompute every epoch key and check every MAC.
#[derive(Clone, Debug)]
pub struct VerificationKey(EpochKey);

impl VerificationKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(key: [u8; 32]) -> Self {
        VerificationKey(EpochKey::new(0, key))
    }

    /// The verification key of a log whose epoch-0 key is `k`.
    pub(crate) fn from_epoch_key(k: EpochKey) -> Self {
        debug_assert_eq!(k.epoch, 0);
        VerificationKey(k)
    }

    /// Parses the hex form (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, AuditError> {
        let mut key = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), &mut key[..])
            .map_err(|_| AuditError::BadKey("a verification key is 64 hex digits".into()))?;
        Ok(VerificationKey::from_bytes(*key))
    }

    /// Reads a key file holding the hex key.
    pub fn read_file(path: &Path) -> Result<Self, AuditError> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| AuditError::io(format!("cannot read {}", path.display()), e))?,
        );
        Self::from_hex(&text)
    }

    /// The raw key bytes (for wrapping under the admin password).
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0.key
    }

    /// The hex form, as written to a key file.
    pub fn to_hex(&self) -> Zeroizing<String> {
        self.0.hex()
    }

    /// The epoch-0 key, to ratchet from.
    pub fn epoch_key(&self) -> EpochKey {
        self.0.clone()
    }
}

/// `seal.key`: the current epoch key and the log it belongs to.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    v: u32,
    log_id: String,
    epoch: u64,
    key: String,
}

/// What `seal.key` holds, when it can be read.
pub enum StoredKey {
    Missing,
    Unreadable(String),
    Found { log_id: String, key: EpochKey },
}

/// Stores the current key atomically (temp + fsync + rename + dir fsync), 0600.
pub fn store(path: &Path, log_id: &str, key: &EpochKey) -> Result<(), AuditError> {
    let file = KeyFile { v: 1, log_id: log_id.into(), epoch: key.epoch, key: key.hex().to_string() };
    let text = Zeroizing::new(serde_json::to_string(&file).expect("key file serializes"));
    let mut file = file;
    file.key.zeroize();
    crate::paths::write_atomic(path, text.as_bytes())
        .map_err(|e| AuditError::io(format!("cannot store the sealing key {}", path.display()), e))
}

/// Loads `seal.key`.
pub fn load(path: &Path) -> Result<StoredKey, AuditError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => Zeroizing::new(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(StoredKey::Missing),
        Err(e) => return Err(AuditError::io(format!("cannot read the sealing key {}", path.display()), e)),
    };
    let mut file: KeyFile = match serde_json::from_str(&text) {
        Ok(f) => f,
        Err(e) => return Ok(StoredKey::Unreadable(format!("not a holdfast key file: {e}"))),
    };
    let mut key = Zeroizing::new([0u8; 32]);
    let ok = hex::decode_to_slice(file.key.trim(), &mut key[..]).is_ok();
    file.key.zeroize();
    if !ok || file.v != 1 {
        return Ok(StoredKey::Unreadable("the key is not 64 hex digits (or an unknown version)".into()));
    }
    Ok(StoredKey::Found { log_id: file.log_id, key: EpochKey::new(file.epoch, *key) })
}

/// Writes `k_0` once to `path` (0600, hex) — the no-vault delivery of the verification key.
///
/// The one place the key touches disk: the plaintext hand-over file that `holdfast vault init` or
/// `vault wrap-key` wraps into the vault and then deletes.
pub fn write_verification_key(path: &Path, key: &VerificationKey) -> Result<(), AuditError> {
    let mut text = key.to_hex();
    text.push('\n');
    crate::paths::write_atomic(path, text.as_bytes())
        .map_err(|e| AuditError::io(format!("cannot write the verification key {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratchet_is_deterministic_and_one_way() {
        let k0 = VerificationKey::from_bytes([7; 32]);
        let mut a = k0.epoch_key();
        a.ratchet();
        a.ratchet();
        let mut b = k0.epoch_key();
        b.ratchet_to(2);
        let h = [1u8; 32];
        assert_eq!(a.mac(&h), b.mac(&h));
        assert!(b.verify(&h, &a.mac(&h)));
        assert!(!k0.epoch_key().verify(&h, &a.mac(&h)));
        assert_eq!(a.epoch(), 2);
    }
}
