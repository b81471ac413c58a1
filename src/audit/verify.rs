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
#[derive(Debug, Clone, Default, Serialize)]
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
    /// Segment files read (0: a single file).
    pub segments: u64,
    /// Where history starts when the oldest segments were removed by retention.
    pub history_starts: Option<HistoryStart>,
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

/// Verifies the log file at `path` (one file: a segment, or a central copy of a whole log).
pub fn verify_file(path: &Path, options: &VerifyOptions) -> Result<VerifyReport, AuditError> {
    let file = std::fs::File::open(path).map_err(|e| AuditError::io(format!("cannot open {}", path.display()), e))?;
    verify(BufReader::with_capacity(1 << 20, file), options)
        .map_err(|e| AuditError::io(format!("cannot read {}", path.display()), e))
}

/// Verifies a record stream.
pub fn verify(reader: impl BufRead, options: &VerifyOptions) -> std::io::Result<VerifyReport> {
    let mut v = Verifier::new(options);
    v.feed(reader, None)?;
    Ok(v.finish())
}

/// Verifies every segment of the log whose active file is `active` (see [`super::segments`]),
/// oldest first, as one chain: a missing or edited segment is a finding, and when the oldest
/// segments were removed by retention the report says where history starts (a removal that no
/// `retention` record announces is a finding).
pub fn verify_log(active: &Path, options: &VerifyOptions) -> Result<VerifyReport, AuditError> {
    let io = |e| AuditError::io(format!("cannot read the segments of {}", active.display()), e);
    let segments = super::segments::all(active).map_err(io)?;
    if segments.is_empty() || (segments.len() == 1 && segments[0].path == active && segments[0].number == 1) {
        return verify_file(active, options);
    }
    let mut v = Verifier::new(options);
    let mut expected: Option<u64> = None;
    for seg in &segments {
        let label = seg.path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if let Some(n) = expected.filter(|n| *n < seg.number) {
            v.found.push(Problem {
                line: 0,
                seq: None,
                what: format!("segment(s) {n}..{} are missing: removed without a retention record", seg.number - 1),
                file: Some(label.clone()),
            });
        }
        expected = Some(seg.number + 1);
        v.segment_number = seg.number;
        v.feed(seg.open().map_err(io)?, Some(label)).map_err(io)?;
    }
    v.report.segments = segments.len() as u64;
    Ok(v.finish())
}

/// Where the history in the files starts, when its beginning was removed by retention.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryStart {
    /// The oldest segment present.
    pub segment: u64,
    /// Its first record.
    pub seq: u64,
    /// The newest `retention` record that announced the removal, if any.
    pub retention_seq: Option<u64>,
}

/// A verification in progress: one chain fed one or more files.
struct Verifier<'o> {
    options: &'o VerifyOptions,
    started: Instant,
    chain: Chain,
    found: Vec<Problem>,
    report: VerifyReport,
    anchor_seen: bool,
    /// Number of the segment being fed (0: a single file).
    segment_number: u64,
    /// The oldest segment fed and the first seq in it, when it starts with a `segment` record.
    oldest: Option<(u64, u64)>,
    /// Newest `retention` record: its seq and the segment it says history starts at.
    retention: Option<(u64, u64)>,
}

impl<'o> Verifier<'o> {
    fn new(options: &'o VerifyOptions) -> Self {
        Verifier {
            options,
            started: Instant::now(),
            chain: Chain::new(options.key.as_ref().map(VerificationKey::epoch_key)),
            found: Vec::new(),
            report: VerifyReport::default(),
            anchor_seen: false,
            segment_number: 0,
            oldest: None,
            retention: None,
        }
    }

    /// Moves findings into the report (the first [`MAX_PROBLEMS`] kept), labelled with `file`.
    fn flush(&mut self, file: &Option<String>) {
        self.report.problem_count += self.found.len() as u64;
        let room = MAX_PROBLEMS.saturating_sub(self.report.problems.len());
        for mut p in self.found.drain(..).take(room) {
            if p.file.is_none() {
                p.file.clone_from(file);
            }
            self.report.problems.push(p);
        }
    }

    /// Checks every line of one file (`file` names it when several are checked).
    fn feed(&mut self, mut reader: impl BufRead, file: Option<String>) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(4096);
        let mut line_no = 0u64;
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf)?;
            if n == 0 {
                break;
            }
            self.report.bytes += n as u64;
            self.report.lines += 1;
            line_no += 1;
            let Some(text) = buf.strip_suffix(b"\n") else {
                if self.options.anchor.is_none() {
                    self.found.push(Problem {
                        line: line_no,
                        seq: None,
                        what: "incomplete last line (a torn write; the daemon quarantines it when it next starts)"
                            .into(),
                        file: None,
                    });
                }
                break;
            };
            self.line(line_no, text, line_no == 1);
            self.flush(&file);
        }
        self.flush(&file);
        Ok(())
    }

    /// Checks one line and what its kind means for the report.
    fn line(&mut self, line_no: u64, text: &[u8], first_of_file: bool) {
        let macs_before = self.chain.macs_stop;
        let fresh = self.chain.records == 0;
        let Some(seen) = self.chain.check(line_no, text, &mut self.found) else { return };
        if fresh && seen.kind == "segment" {
            self.oldest = Some((self.segment_number, seen.seq));
        }
        if first_of_file && !fresh && self.segment_number > 0 && seen.kind != "segment" {
            self.found.push(Problem {
                line: line_no,
                seq: Some(seen.seq),
                what: format!("segment {} does not start with its segment record", self.segment_number),
                file: None,
            });
        }
        match seen.kind.as_ref() {
            "recovered" => self.report.recovered.push(seen.seq),
            "damage" => self.found.push(Problem {
                line: line_no,
                seq: Some(seen.seq),
                what: format!("the daemon recorded damage found at its start: {}", damage_text(seen.data)),
                file: None,
            }),
            "retention" => {
                let v: serde_json::Value = serde_json::from_str(seen.data).unwrap_or_default();
                if let Some(seg) = v["history_starts"]["segment"].as_u64() {
                    self.retention = Some((seen.seq, seg));
                }
            }
            _ => {}
        }
        if let Some(anchor) = &self.options.anchor
            && seen.seq == anchor.seq
        {
            self.anchor_seen = true;
            if hex::encode(self.chain.prev) != anchor.hash {
                self.found.push(Problem {
                    line: line_no,
                    seq: Some(seen.seq),
                    what: format!("hash differs from the anchor's hash for this seq ({})", anchor.hash),
                    file: None,
                });
            }
        }
        if self.options.key.is_some() && macs_before.is_none() && self.chain.macs_stop.is_some() {
            self.found.push(Problem {
                line: line_no,
                seq: Some(seen.seq),
                what: "the sealing key was replaced here (it was lost); later MACs cannot be checked with this verification key".into(),
                file: None,
            });
        }
    }

    /// The end of the stream: empty log, history start, anchor; the report.
    fn finish(mut self) -> VerifyReport {
        if self.report.lines == 0 {
            self.found.push(Problem { line: 0, seq: None, what: "the log is empty".into(), file: None });
        }
        if let Some((segment, seq)) = self.oldest {
            let retention_seq = self.retention.filter(|(_, from)| *from >= segment).map(|(s, _)| s);
            if retention_seq.is_none() {
                self.found.push(Problem {
                    line: 1,
                    seq: Some(seq),
                    what: format!(
                        "history starts at seq {seq} (segment {segment}), but no retention record announces the removal of what came before: earlier segments were deleted"
                    ),
                    file: None,
                });
            }
            self.report.history_starts = Some(HistoryStart { segment, seq, retention_seq });
        }
        self.anchor_findings();
        self.flush(&None);
        let chain = &self.chain;
        let r = &mut self.report;
        r.ok = r.problem_count == 0;
        r.records = chain.records;
        r.seals = chain.seals;
        r.log_id = chain.log_id.clone();
        r.head = (chain.records > 0).then(|| LogHead {
            seq: chain.last_seq(),
            hash: hex::encode(chain.prev),
            log_id: chain.log_id.clone().unwrap_or_default(),
        });
        r.macs_checked = self.options.key.is_some();
        r.macs_unchecked_from = chain.macs_stop;
        r.anchor_checked = self.options.anchor.is_some();
        r.seconds = self.started.elapsed().as_secs_f64();
        r.mb_per_s = if r.seconds > 0.0 { r.bytes as f64 / 1e6 / r.seconds } else { 0.0 };
        self.report
    }

    fn anchor_findings(&mut self) {
        let (chain, lines) = (&self.chain, self.report.lines);
        let Some(anchor) = &self.options.anchor else { return };
        if !anchor.log_id.is_empty() && chain.log_id.as_deref().is_some_and(|id| id != anchor.log_id) {
            self.found.push(Problem {
                line: lines,
                seq: None,
                what: format!(
                    "this file is log {}, the anchor is log {}",
                    chain.log_id.as_deref().unwrap_or("?"),
                    anchor.log_id
                ),
                file: None,
            });
        } else if !self.anchor_seen {
            let last = chain.last_seq();
            self.found.push(Problem {
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
                file: None,
            });
        }
    }
}

fn damage_text(data: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
    match v["problems"].as_array() {
        Some(list) if !list.is_empty() => list.iter().filter_map(|p| p.as_str()).collect::<Vec<_>>().join("; "),
        _ => "(no details)".into(),
    }
}
