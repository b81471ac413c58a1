//! Checkpoints: the state the daemon rebuilds at start, bound into the hash chain, so a start
//! reads only the records after the newest checkpoint instead of the whole log.
//!
//! A checkpoint is two things written in this order:
//! 1. a `checkpoint` record in the log, with data `{"state_sha256", "state_bytes", "epoch",
//!    "in_epoch", "epoch_first", "file"}`: the SHA-256 of the state's exact bytes, and where the
//!    epoch bookkeeping stood before this record (so the chain check can resume at it);
//! 2. the sidecar `data_dir/checkpoint.json` (0600, replaced atomically): `{"v":1, "log_id",
//!    "seq", "offset", "hash", "state"}` — the record's seq, the byte offset of its line in the
//!    log, its hash, and the state itself (opaque JSON owned by the daemon).
//!
//! On open the sidecar is trusted only when all of this holds: the log starts with the genesis
//! of `log_id`; the line at `offset` is a `checkpoint` record with `seq`, whose hash is
//! `SHA-256(prev ‖ body)` as written and equals `hash`; and the SHA-256 of `state` equals the
//! record's `state_sha256`. Otherwise the whole log is scanned and replayed, and the reason is
//! reported. Records before a trusted checkpoint are not re-read at start: `log verify` checks
//! them (the start only checks what it reads).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::AuditError;
use super::chain::next_hash;
use super::record::parse_line;

/// Records between periodic checkpoints, at least (a large state stretches it: see [`due`]).
pub const CHECKPOINT_RECORDS: u64 = 4096;
/// Name of the sidecar in the data directory.
pub const SIDECAR: &str = "checkpoint.json";
/// Longest line read back at a checkpoint's offset (a checkpoint record is a few hundred bytes).
const MAX_LINE: u64 = 4096;

/// The sidecar file.
#[derive(Serialize, Deserialize)]
struct Sidecar {
    v: u32,
    log_id: String,
    seq: u64,
    offset: u64,
    /// 1-based line number of the checkpoint record.
    line: u64,
    /// The segment whose file holds the record (absent in sidecars from before segments: 1).
    #[serde(default = "first_segment")]
    segment: u64,
    hash: String,
    state: Box<RawValue>,
}

fn first_segment() -> u64 {
    1
}

/// The `data` of a `checkpoint` record.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub(crate) struct CheckpointData {
    pub state_sha256: String,
    pub state_bytes: u64,
    /// Epoch bookkeeping before this record.
    pub epoch: u64,
    pub in_epoch: u64,
    pub epoch_first: u64,
    pub file: String,
}

/// A checkpoint that verified against the log: where the chain resumes and the state.
#[derive(Debug)]
pub struct Checkpoint {
    /// The log id the checkpoint was made for (hex).
    pub log_id: String,
    /// Seq of the `checkpoint` record.
    pub seq: u64,
    /// Byte offset of its line in the log.
    pub offset: u64,
    /// Its 1-based line number.
    pub line: u64,
    /// `prev` of the checkpoint record: the chain hash before it.
    pub(crate) prev: [u8; 32],
    pub(crate) epoch: u64,
    pub(crate) in_epoch: u64,
    pub(crate) epoch_first: u64,
    /// The daemon's state as of the checkpoint record (opaque JSON).
    pub state: Box<RawValue>,
}

/// Why no checkpoint was used.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejected {
    /// There is no sidecar.
    Missing,
    /// The sidecar exists but does not verify: never trusted.
    Invalid(String),
    /// The sidecar names a record in an archived segment (the daemon stopped between a roll
    /// and the checkpoint that follows it): not damage, but not used.
    Archived(u64),
}

/// The sidecar's path.
pub fn sidecar_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SIDECAR)
}

/// SHA-256 of the state bytes, in hex.
pub(crate) fn state_digest(state: &RawValue) -> String {
    hex::encode(Sha256::digest(state.get().as_bytes()))
}

/// Whether a checkpoint is due `since` records after the last one, for a state of `state_bytes`:
/// every [`CHECKPOINT_RECORDS`] records, stretched for a large state so that checkpoints write at
/// most 256 state bytes per record appended (a record is itself a few hundred bytes).
pub fn due(since: u64, state_bytes: u64) -> bool {
    since >= CHECKPOINT_RECORDS.max(state_bytes / 256)
}

/// Writes the sidecar for the record just written (atomically, 0600).
pub(crate) fn store(
    data_dir: &Path,
    log_id: &str,
    (segment, seq, offset, line): (u64, u64, u64, u64),
    hash: &[u8; 32],
    state: &RawValue,
) -> Result<(), AuditError> {
    let path = sidecar_path(data_dir);
    let side = Sidecar {
        v: 1,
        log_id: log_id.into(),
        seq,
        offset,
        line,
        segment,
        hash: hex::encode(hash),
        state: state.to_owned(),
    };
    let bytes = serde_json::to_vec(&side).map_err(|e| AuditError::Encode(e.to_string()))?;
    crate::paths::write_atomic(&path, &bytes)
        .map_err(|e| AuditError::io(format!("cannot store the checkpoint {}", path.display()), e))
}

/// Loads the sidecar and checks it against the log `file` (the active segment, number
/// `segment`); never trusts one that does not verify.
pub(crate) fn load(data_dir: &Path, file: &File, segment: u64) -> Result<Checkpoint, Rejected> {
    let path = sidecar_path(data_dir);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Rejected::Missing),
        Err(e) => return Err(Rejected::Invalid(format!("cannot read {}: {e}", path.display()))),
    };
    let side: Sidecar = serde_json::from_slice(&bytes)
        .map_err(|e| Rejected::Invalid(format!("{} is not a holdfast checkpoint: {e}", path.display())))?;
    if side.v == 1 && side.segment < segment {
        return Err(Rejected::Archived(side.segment));
    }
    check(&side, file)
        .map_err(|why| Rejected::Invalid(format!("the checkpoint {} does not verify: {why}", path.display())))
}

fn check(side: &Sidecar, file: &File) -> Result<Checkpoint, String> {
    if side.v != 1 {
        return Err(format!("unknown version {}", side.v));
    }
    let genesis = read_line_at(file, 0)?;
    let g = parse_line(&genesis).map_err(|_| "the log's first line is not a record".to_string())?;
    let log_id =
        serde_json::from_str::<serde_json::Value>(g.data).ok().and_then(|d| d["log_id"].as_str().map(String::from));
    // Segment 1 starts with genesis, later segments with a `segment` record naming the log.
    let first_ok = match g.kind.as_ref() {
        "genesis" => side.segment == 1,
        "segment" => {
            serde_json::from_str::<serde_json::Value>(g.data).is_ok_and(|d| d["segment"].as_u64() == Some(side.segment))
        }
        _ => false,
    };
    if !first_ok {
        return Err(format!("the log file is not segment {} of the log", side.segment));
    }
    if log_id.as_deref() != Some(side.log_id.as_str()) {
        return Err(format!("it belongs to log {}, which is not the log in this file", side.log_id));
    }
    let line = read_line_at(file, side.offset)?;
    let p = parse_line(&line).map_err(|_| format!("no record at offset {}", side.offset))?;
    if p.seq != side.seq || p.kind != "checkpoint" {
        return Err(format!("the record at offset {} is not checkpoint seq {}", side.offset, side.seq));
    }
    let prev = p.prev.ok_or("the checkpoint record's `prev` is malformed")?;
    let hash = next_hash(&prev, p.body.as_bytes());
    if p.hash != Some(hash) || hex::encode(hash) != side.hash {
        return Err(format!("checkpoint record seq {} does not hash to the checkpoint's hash", side.seq));
    }
    let data: CheckpointData =
        serde_json::from_str(p.data).map_err(|e| format!("the checkpoint record's data is malformed: {e}"))?;
    if data.state_sha256 != state_digest(&side.state) || data.state_bytes != side.state.get().len() as u64 {
        return Err(format!("the state's SHA-256 differs from the one checkpoint record seq {} carries", side.seq));
    }
    Ok(Checkpoint {
        log_id: side.log_id.clone(),
        seq: side.seq,
        offset: side.offset,
        line: side.line,
        prev,
        epoch: data.epoch,
        in_epoch: data.in_epoch,
        epoch_first: data.epoch_first,
        state: side.state.clone(),
    })
}

/// The line (without its newline) at `offset`, at most [`MAX_LINE`] bytes.
fn read_line_at(mut file: &File, offset: u64) -> Result<Vec<u8>, String> {
    file.seek(SeekFrom::Start(offset)).map_err(|e| format!("cannot seek the log: {e}"))?;
    let mut line = Vec::new();
    BufReader::new(file.take(MAX_LINE))
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("cannot read the log: {e}"))?;
    match line.strip_suffix(b"\n") {
        Some(text) => Ok(text.to_vec()),
        None => Err(format!("the log has no whole record at offset {offset} (it is shorter, or was cut)")),
    }
}
