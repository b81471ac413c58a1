//! The audit log v1 (DESIGN §5): record format, hash chain, forward-secure sealing,
//! durable append, recovery on open, and streaming verification.
//!
//! # Format
//! One record per line: `{"body":{…},"hash":"<64 hex>","mac":"<64 hex>"}\n`. The body is
//! `{"seq","ts","prev","kind","peer","data"}` in that order; its bytes exactly as written
//! are what is hashed (readers take them with `RawValue`, never re-serialize).
//!
//! # Chain
//! `hash_0 = SHA-256("holdfast audit v1" ‖ log_id)` with `log_id` the 16 **raw** bytes whose
//! hex the genesis record (seq 1, kind `genesis`) carries in `data.log_id`;
//! `hash_n = SHA-256(hash_{n-1} ‖ body_bytes_n)` with `hash_{n-1}` as its 32 **raw** bytes.
//! `prev` in a body is the hex of `hash_{n-1}`.
//!
//! # Sealing
//! Every record of epoch `e` carries `mac = HMAC-SHA256(k_e, hash_n)` (raw 32-byte hash).
//! An epoch holds at most [`EPOCH_RECORDS`] records and lasts at most [`EPOCH_SECS`] seconds
//! (clock restarted at each daemon start); a clean daemon stop also ends it. Its **last**
//! record is a `seal`, MACed with the key of the epoch it closes (`k_e`), with data
//! `{"epoch": e, "records": n, "first_seq": s}` — `n` counts the epoch's records including
//! the seal, `s` is the epoch's first seq. After the seal is on disk the writer ratchets
//! `k_{e+1} = HMAC-SHA256(k_e, "holdfast ratchet v1")`, overwrites `k_e` in memory and
//! stores `k_{e+1}` atomically in `data_dir/seal.key` (0600). The epoch of a record is the
//! number of seals before it. `k_0` is the verification key: it derives every `k_e`;
//! the current key cannot be turned back into an earlier one.
//!
//! # Recovery and damage
//! On open the file is scanned from the newest checkpoint that verifies (see [`checkpoint`]),
//! else from its beginning. A torn final line (no newline, or unparsable) is
//! copied to `audit.jsonl.torn-<ts>` (0600), the log is truncated to the last good newline,
//! and a `recovered` record notes `{bytes, quarantine}`. Any other damage is never repaired:
//! it is listed in `status.log_damage` and in a `damage` record `{problems, key?, epoch?}`,
//! and the chain continues from the last line's hash as written.
//!
//! `seal.key` versus the log: one epoch **behind** is the crash window between a seal and the
//! key store, so the writer ratchets forward (not damage). **Ahead** means seals are missing
//! from the log: damage, recorded with `"epoch": K` — from that record on the key of epoch
//! `K` MACs (verifiers ratchet forward to it). **Missing, unreadable or belonging to another
//! log**: the old key is gone; the writer records damage with `"key": "replaced"` and seals
//! with a fresh random key from then on. Those later records stay hash-chained, but no
//! verification key covers their MACs, so `log verify` reports the rekey and fails.
//!
//! Verification of a record stream lives in [`verify`]; reading records back to rebuild
//! state at start in [`read_records`].

mod chain;
pub mod checkpoint;
mod layout;
mod record;
mod recover;
mod seal;
pub mod segments;
pub mod verify;
mod writer;

use std::time::Duration;

pub use checkpoint::Checkpoint;
pub use record::{Record, RecordError, Records, read_log_records, read_records, read_records_from};
pub use seal::{EpochKey, VerificationKey, write_verification_key};
pub use segments::SegmentPolicy;
pub use verify::{VerifyOptions, VerifyReport, verify_file, verify_log};
pub use writer::{AuditLog, OpenReport, Recovered};

/// Records per epoch, the seal included.
pub const EPOCH_RECORDS: u64 = 1024;
/// Longest epoch, in seconds, by default (`AuditLog::set_seal_interval`): the time-based seal.
pub const EPOCH_SECS: u64 = 60;
/// Default sync interval of `durability = "batch"`.
pub const DEFAULT_BATCH: Duration = Duration::from_millis(5);

/// When an appended record is made durable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// `fdatasync` before `append` returns (the default).
    #[default]
    Always,
    /// `fdatasync` at most every `every`; a power loss may lose what was acknowledged within it.
    Batch {
        /// The longest time between two syncs.
        every: Duration,
    },
}

impl std::fmt::Display for Durability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Durability::Always => write!(f, "always"),
            Durability::Batch { every } => write!(f, "batch (every {} ms)", every.as_millis()),
        }
    }
}

/// Why the audit log could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file operation failed; `what` says which.
    #[error("{what}: {source}")]
    Io {
        /// The operation and path.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another process holds the log's lock.
    #[error("another process holds the audit log {0} (is a second daemon running on another endpoint?)")]
    Locked(String),
    /// The OS gave no randomness (for the log id or a key).
    #[error("no randomness from the OS: {0}")]
    Random(String),
    /// The sealing key file is unusable.
    #[error("bad key: {0}")]
    BadKey(String),
    /// An earlier write failed in a way that leaves the log unusable until restart.
    #[error("the audit log is unusable until restart: {0}")]
    Broken(String),
    /// A record could not be encoded as JSON.
    #[error("cannot encode the record: {0}")]
    Encode(String),
}

impl AuditError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        AuditError::Io { what: what.into(), source }
    }
}
