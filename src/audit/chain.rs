//! The hash chain and seal bookkeeping, checked one line at a time.
//!
//! [`Chain`] is shared by recovery (no key: chain, order, seals) and `log verify`
//! (optionally with `k_0`: every MAC too). After a problem it re-anchors on the record
//! as written, so one edit yields one finding and the rest of the file is still checked.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::record::{ParseError, parse_line};
use super::seal::EpochKey;

/// Domain label of `hash_0`.
const CHAIN_LABEL: &[u8] = b"holdfast audit v1";

/// `hash_0 = SHA-256("holdfast audit v1" ‖ log_id)` (raw log id bytes).
pub(crate) fn hash_0(log_id: &[u8; 16]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(CHAIN_LABEL);
    h.update(log_id);
    h.finalize().into()
}

/// `hash_n = SHA-256(hash_{n-1} ‖ body)` (raw previous hash).
pub(crate) fn next_hash(prev: &[u8; 32], body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(body);
    h.finalize().into()
}

/// Something wrong with one line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// 1-based line number in the file.
    pub line: u64,
    /// The record's seq, when it could be read.
    pub seq: Option<u64>,
    pub what: String,
    /// The segment file, when a verification walked several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        match self.seq {
            Some(seq) => write!(f, "record seq {seq} (line {}): {}", self.line, self.what),
            None => write!(f, "line {}: {}", self.line, self.what),
        }
    }
}

#[derive(Deserialize)]
struct GenesisData<'a> {
    #[serde(borrow)]
    log_id: std::borrow::Cow<'a, str>,
}

#[derive(Deserialize)]
struct SealData {
    epoch: u64,
    records: u64,
}

#[derive(Deserialize, Default)]
struct DamageData<'a> {
    #[serde(default)]
    epoch: Option<u64>,
    #[serde(default, borrow)]
    key: Option<std::borrow::Cow<'a, str>>,
}

/// What one good-enough line contributed.
pub(crate) struct Seen<'a> {
    pub seq: u64,
    pub kind: std::borrow::Cow<'a, str>,
    /// The raw JSON of `data`.
    pub data: &'a str,
}

/// Chain state between lines.
pub(crate) struct Chain {
    /// Seq the next record must carry.
    pub next_seq: u64,
    /// Hash the next record must chain from (the last record's hash as written).
    pub prev: [u8; 32],
    /// Hex log id from the genesis record.
    pub log_id: Option<String>,
    /// Current epoch: seals seen (or a damage record's jump).
    pub epoch: u64,
    /// Records of the current epoch so far.
    pub in_epoch: u64,
    /// First seq of the current epoch.
    pub epoch_first: u64,
    /// Records read (parsable bodies).
    pub records: u64,
    /// Seal records seen.
    pub seals: u64,
    /// `k_e`, when MACs are checked.
    pub key: Option<EpochKey>,
    /// Seq from which MACs cannot be checked (the sealing key was replaced there).
    pub macs_stop: Option<u64>,
    /// Seq of the first record read when it is a `segment` record: earlier history is not here.
    pub history_start: Option<u64>,
    /// The next record re-anchors: its seq and prev are taken as written.
    resync: bool,
    started: bool,
}

impl Chain {
    /// A chain at the start of a file; with `key` (k_0) MACs are checked.
    pub fn new(key: Option<EpochKey>) -> Self {
        Chain {
            next_seq: 1,
            prev: [0; 32],
            log_id: None,
            epoch: 0,
            in_epoch: 0,
            epoch_first: 1,
            records: 0,
            seals: 0,
            key,
            macs_stop: None,
            history_start: None,
            resync: false,
            started: false,
        }
    }

    /// A chain resuming at a verified checkpoint record (`cp.seq` is the next record to check).
    pub fn resume(cp: &super::checkpoint::Checkpoint) -> Self {
        Chain {
            next_seq: cp.seq,
            prev: cp.prev,
            log_id: Some(cp.log_id.clone()),
            epoch: cp.epoch,
            in_epoch: cp.in_epoch,
            epoch_first: cp.epoch_first,
            started: true,
            ..Chain::new(None)
        }
    }

    /// The last record's seq (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// Checks one line (without its newline). Problems are pushed to `out`; state always moves on.
    pub fn check<'a>(&mut self, line_no: u64, text: &'a [u8], out: &mut Vec<Problem>) -> Option<Seen<'a>> {
        let first = !self.started;
        self.started = true;
        let problem = |seq: Option<u64>, what: String| Problem { line: line_no, seq, what, file: None };
        let body = match parse_line(text) {
            Ok(b) => b,
            Err(e) => {
                out.push(match e {
                    ParseError::Line(e) => problem(None, format!("not a record line ({e})")),
                    ParseError::Body(e) => problem(None, format!("the record body is malformed ({e})")),
                });
                self.resync = true;
                return None;
            }
        };
        let seq = body.seq;
        let body_bytes = body.body.as_bytes();
        let (hash_ok, stored_hash) = (body.hash.is_some(), body.hash.unwrap_or_default());
        let (mac_ok, stored_mac) = (body.mac.is_some(), body.mac.unwrap_or_default());
        let (prev_ok, body_prev) = (body.prev.is_some(), body.prev.unwrap_or_default());

        if body.kind == "segment" {
            self.segment_start(first, seq, body.data, &problem, out);
        } else if first || body.kind == "genesis" {
            if !(first && seq == 1 && body.kind == "genesis") {
                let what = if first {
                    "the log does not start with a genesis record (seq 1): its beginning was removed or replaced"
                } else {
                    "a second genesis record: another log was spliced in"
                };
                out.push(problem(Some(seq), what.into()));
            }
            match serde_json::from_str::<GenesisData>(body.data).ok().and_then(|g| {
                let mut id = [0u8; 16];
                hex::decode_to_slice(g.log_id.as_ref(), &mut id).ok().map(|()| (g.log_id.into_owned(), id))
            }) {
                Some((hex_id, id)) if first => {
                    self.log_id = Some(hex_id);
                    self.prev = hash_0(&id);
                }
                Some(_) => {}
                None if body.kind == "genesis" => {
                    out.push(problem(Some(seq), "the genesis record has no valid 16-byte log_id".into()))
                }
                None => {}
            }
            if first && self.log_id.is_none() {
                self.resync = true;
            }
        }

        if !prev_ok {
            out.push(problem(Some(seq), "`prev` is not 64 hex digits".into()));
        }
        if self.resync {
            self.resync = false;
            if prev_ok {
                self.prev = body_prev;
            }
        } else {
            if seq != self.next_seq {
                let what = if seq > self.next_seq {
                    format!(
                        "seq {seq} follows seq {}: record(s) {}..{} are missing",
                        self.last_seq(),
                        self.next_seq,
                        seq - 1
                    )
                } else {
                    format!(
                        "seq {seq} out of order after seq {} (records moved, duplicated or inserted)",
                        self.last_seq()
                    )
                };
                out.push(problem(Some(seq), what));
            }
            if prev_ok && body_prev != self.prev {
                out.push(problem(
                    Some(seq),
                    "`prev` does not match the hash of the record before it (a record was removed, inserted or moved)"
                        .into(),
                ));
            }
        }

        let computed = next_hash(&self.prev, body_bytes);
        if !hash_ok {
            out.push(problem(Some(seq), "`hash` is not 64 hex digits".into()));
        } else if computed != stored_hash {
            out.push(problem(
                Some(seq),
                "`hash` does not match SHA-256(prev ‖ body): the body or the hash was edited".into(),
            ));
        }

        // Kind effects that change which key MACs this record.
        if body.kind == "damage" {
            let d: DamageData = serde_json::from_str(body.data).unwrap_or_default();
            if d.key.as_deref() == Some("replaced") && self.macs_stop.is_none() {
                self.macs_stop = Some(seq);
            }
            if let Some(e) = d.epoch.filter(|e| *e > self.epoch) {
                self.jump_to(e, seq);
            }
        }

        if let Some(key) = &self.key
            && self.macs_stop.is_none()
        {
            if !mac_ok {
                out.push(problem(Some(seq), "`mac` is not 64 hex digits".into()));
            } else if !key.verify(&stored_hash, &stored_mac) {
                out.push(problem(
                    Some(seq),
                    format!(
                        "the MAC does not verify under epoch {}'s key: the record was forged or rewritten by someone without the key",
                        self.epoch
                    ),
                ));
            }
        }

        self.in_epoch += 1;
        if body.kind == "seal" {
            match serde_json::from_str::<SealData>(body.data) {
                Ok(s) if s.epoch == self.epoch && s.records == self.in_epoch => {}
                Ok(s) => out.push(problem(
                    Some(seq),
                    format!(
                        "seal claims epoch {} with {} records, but the log has epoch {} with {} records (records or seals removed or added)",
                        s.epoch, s.records, self.epoch, self.in_epoch
                    ),
                )),
                Err(e) => out.push(problem(Some(seq), format!("malformed seal data ({e})"))),
            }
            self.seals += 1;
            self.epoch += 1;
            self.in_epoch = 0;
            self.epoch_first = seq + 1;
            if let Some(k) = &mut self.key {
                k.ratchet();
            }
        }

        self.records += 1;
        // Continue from the record as written, so one edit is one finding.
        self.prev = if hash_ok { stored_hash } else { computed };
        self.next_seq = seq.saturating_add(1).max(1);
        Some(Seen { seq, kind: body.kind, data: body.data })
    }

    /// A `segment` record. As the first record read (older segments are not here): the chain
    /// starts from it as written, with its log id and seal bookkeeping. Later: it must belong to
    /// this log and agree with the bookkeeping so far.
    fn segment_start(
        &mut self,
        first: bool,
        seq: u64,
        data: &str,
        problem: &dyn Fn(Option<u64>, String) -> Problem,
        out: &mut Vec<Problem>,
    ) {
        let Ok(s) = serde_json::from_str::<super::segments::SegmentData>(data) else {
            out.push(problem(Some(seq), "malformed segment record data".into()));
            if first {
                self.resync = true;
            }
            return;
        };
        if first {
            self.log_id = Some(s.log_id);
            self.history_start = Some(seq);
            self.resync = true;
            self.jump_to(s.epoch, s.epoch_first);
            self.in_epoch = s.in_epoch;
            return;
        }
        if self.log_id.as_deref().is_some_and(|id| id != s.log_id) {
            out.push(problem(Some(seq), format!("a segment of another log ({}) was spliced in", s.log_id)));
        }
        if (s.epoch, s.in_epoch, s.previous_last_seq) != (self.epoch, self.in_epoch, self.last_seq()) {
            out.push(problem(
                Some(seq),
                format!(
                    "segment {} says it follows seq {} in epoch {} after {} records; the log before it ends at seq {} in epoch {} after {}",
                    s.segment,
                    s.previous_last_seq,
                    s.epoch,
                    s.in_epoch,
                    self.last_seq(),
                    self.epoch,
                    self.in_epoch
                ),
            ));
        }
    }

    fn jump_to(&mut self, epoch: u64, seq: u64) {
        self.epoch = epoch;
        self.in_epoch = 0;
        self.epoch_first = seq;
        if let Some(k) = &mut self.key {
            k.ratchet_to(epoch);
        }
    }
}
