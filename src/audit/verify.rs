//! Streaming verification: constant memory, one line at a time.
//!
//! Without a key: the hash chain, seq order, genesis, seal bookkeeping and `damage`
//! records. With `k_0` (from a key file, or unwrapped from the vault by the caller):
//! every MAC too, which catches a chain recomputed by someone without the key. With an
//! anchor (the running daemon's `log_head`, or one saved earlier): tail truncation.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use super::AuditError;
use super::chain::{Chain, Problem};
use super::seal::VerificationKey;
use crate::wire::LogHead;

/// Findings kept in a report (the rest are counted).
const MAX_PROBLEMS: usize = 50;

/// What to check against.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// `k_0`: check every MAC and seal.
    pub key: Option<VerificationKey>,
    /// A head the file must contain (seq and hash): catches tail truncation.
    pub anchor: Option<LogHead>,
}

/// The outcome of a verification.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// True when everything checked is good.
    pub ok: bool,
    /// Records read.
    pub records: u64,
    /// Lines read (a torn or damaged line is a line but not a record).
    pub lines: u64,
    /// Seal records (closed epochs).
    pub seals: u64,
    /// Bytes read.
    pub bytes: u64,
    /// The log id from the genesis record, when it was read.
    pub log_id: Option<String>,
    /// The file's last record.
    pub head: Option<LogHead>,
    /// True when the seals' MACs were checked (a key was given).
    pub macs_checked: bool,
    /// Seq from which MACs could not be checked (the sealing key was replaced there).
    pub macs_unchecked_from: Option<u64>,
    /// True when the head was compared with an external anchor (the running daemon's `log_head`).
    pub anchor_checked: bool,
    /// Seqs of `recovered` records (torn writes moved aside after a crash; not damage).
    pub recovered: Vec<u64>,
    /// The first findings, in file order.
    pub problems: Vec<Problem>,
    /// How many problems were found in all (only the first are kept in `problems`).
    pub problem_count: u64,
    /// Wall time of the verification.
    pub seconds: f64,
    /// Throughput, in MB read per second.
    pub mb_per_s: f64,
}

impl VerifyReport {
    /// The first bad record, if any.
    pub fn first_problem(&self) -> Option<&Problem> {
        self.problems.first()
    }
}

/// Verifies the log file at `path`.
pub fn verify_file(path: &Path, options: &VerifyOptions) -> Result<VerifyReport, AuditError> {
    let file = std::fs::File::open(path).map_err(|e| AuditError::io(format!("cannot open {}", path.display()), e))?;
    verify(BufReader::with_capacity(1 << 20, file), options)
        .map_err(|e| AuditError::io(format!("cannot read {}", path.display()), e))
}

/// Verifies a record stream.
pub fn verify(mut reader: impl BufRead, options: &VerifyOptions) -> std::io::Result<VerifyReport> {
    let started = Instant::now();
    let mut chain = Chain::new(options.key.as_ref().map(VerificationKey::epoch_key));
    let mut found: Vec<Problem> = Vec::new();
    let mut kept: Vec<Problem> = Vec::new();
    let mut count = 0u64;
    let mut recovered = Vec::new();
    let mut buf = Vec::with_capacity(4096);
    let (mut bytes, mut lines) = (0u64, 0u64);
    let mut anchor_seen = false;
    let flush = |found: &mut Vec<Problem>, kept: &mut Vec<Problem>, count: &mut u64| {
        *count += found.len() as u64;
        let room = MAX_PROBLEMS.saturating_sub(kept.len());
        kept.extend(found.drain(..).take(room));
    };
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        lines += 1;
        let Some(text) = buf.strip_suffix(b"\n") else {
            if options.anchor.is_none() {
                found.push(Problem {
                    line: lines,
                    seq: None,
                    what: "incomplete last line (a torn write; the daemon quarantines it when it next starts)".into(),
                });
            }
            flush(&mut found, &mut kept, &mut count);
            break;
        };
        let macs_before = chain.macs_stop;
        if let Some(seen) = chain.check(lines, text, &mut found) {
            match seen.kind.as_ref() {
                "recovered" => recovered.push(seen.seq),
                "damage" => found.push(Problem {
                    line: lines,
                    seq: Some(seen.seq),
                    what: format!("the daemon recorded damage found at its start: {}", damage_text(seen.data)),
                }),
                _ => {}
            }
            if let Some(anchor) = &options.anchor
                && seen.seq == anchor.seq
            {
                anchor_seen = true;
                if hex::encode(chain.prev) != anchor.hash {
                    found.push(Problem {
                        line: lines,
                        seq: Some(seen.seq),
                        what: format!("hash differs from the anchor's hash for this seq ({})", anchor.hash),
                    });
                }
            }
            if options.key.is_some() && macs_before.is_none() && chain.macs_stop.is_some() {
                found.push(Problem {
                    line: lines,
                    seq: Some(seen.seq),
                    what: "the sealing key was replaced here (it was lost); later MACs cannot be checked with this verification key".into(),
                });
            }
        }
        flush(&mut found, &mut kept, &mut count);
    }
    let head = (chain.records > 0).then(|| LogHead {
        seq: chain.last_seq(),
        hash: hex::encode(chain.prev),
        log_id: chain.log_id.clone().unwrap_or_default(),
    });
    if lines == 0 {
        found.push(Problem { line: 0, seq: None, what: "the log is empty".into() });
    }
    if let Some(anchor) = &options.anchor {
        if !anchor.log_id.is_empty() && chain.log_id.as_deref().is_some_and(|id| id != anchor.log_id) {
            found.push(Problem {
                line: lines,
                seq: None,
                what: format!(
                    "this file is log {}, the anchor is log {}",
                    chain.log_id.as_deref().unwrap_or("?"),
                    anchor.log_id
                ),
            });
        } else if !anchor_seen {
            let last = chain.last_seq();
            found.push(Problem {
                line: lines,
                seq: Some(last),
                what: if last < anchor.seq {
                    format!(
                        "the file ends at seq {last} but the anchor (daemon head) is seq {}: records {}..{} were truncated",
                        anchor.seq,
                        last + 1,
                        anchor.seq
                    )
                } else {
                    format!("the anchor's seq {} is not in the file", anchor.seq)
                },
            });
        }
    }
    flush(&mut found, &mut kept, &mut count);
    let seconds = started.elapsed().as_secs_f64();
    Ok(VerifyReport {
        ok: count == 0,
        records: chain.records,
        lines,
        seals: chain.seals,
        bytes,
        log_id: chain.log_id.clone(),
        head,
        macs_checked: options.key.is_some(),
        macs_unchecked_from: chain.macs_stop,
        anchor_checked: options.anchor.is_some(),
        recovered,
        problems: kept,
        problem_count: count,
        seconds,
        mb_per_s: if seconds > 0.0 { bytes as f64 / 1e6 / seconds } else { 0.0 },
    })
}

fn damage_text(data: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
    match v["problems"].as_array() {
        Some(list) if !list.is_empty() => list.iter().filter_map(|p| p.as_str()).collect::<Vec<_>>().join("; "),
        _ => "(no details)".into(),
    }
}
