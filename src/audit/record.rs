//! One record line: writing it, parsing it back without re-serializing, and reading a log.

use std::borrow::Cow;
use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::AuditError;
use crate::wire::Peer;

/// A record as other code reads it back (to rebuild state at start).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    /// RFC 3339 UTC with microseconds, the daemon's clock.
    pub ts: String,
    pub kind: String,
    #[serde(default)]
    pub peer: Peer,
    pub data: serde_json::Value,
}

/// The body as written: field order is part of the format.
#[derive(Serialize)]
struct BodyOut<'a> {
    seq: u64,
    ts: &'a str,
    prev: &'a str,
    kind: &'a str,
    peer: &'a Peer,
    data: &'a serde_json::Value,
}

/// Serializes a body.
pub(crate) fn encode_body(
    seq: u64,
    ts: &str,
    prev: &[u8; 32],
    kind: &str,
    peer: &Peer,
    data: &serde_json::Value,
) -> String {
    let prev = hex::encode(prev);
    let body = BodyOut { seq, ts, prev: &prev, kind, peer, data };
    serde_json::to_string(&body).expect("a JSON value always serializes")
}

/// The full line, newline included.
pub(crate) fn encode_line(body: &str, hash: &[u8; 32], mac: &[u8; 32]) -> Vec<u8> {
    let mut line = Vec::with_capacity(body.len() + 160);
    line.extend_from_slice(b"{\"body\":");
    line.extend_from_slice(body.as_bytes());
    line.extend_from_slice(b",\"hash\":\"");
    line.extend_from_slice(hex::encode(hash).as_bytes());
    line.extend_from_slice(b"\",\"mac\":\"");
    line.extend_from_slice(hex::encode(mac).as_bytes());
    line.extend_from_slice(b"\"}\n");
    line
}

/// A line, borrowed: the body's exact bytes and the stored hash and MAC.
#[derive(Deserialize)]
pub(crate) struct LineRef<'a> {
    #[serde(borrow)]
    pub body: &'a RawValue,
    #[serde(borrow)]
    pub hash: Cow<'a, str>,
    #[serde(borrow)]
    pub mac: Cow<'a, str>,
}

/// A body, borrowed; `data` stays raw so verification does not build a tree.
#[derive(Deserialize)]
pub(crate) struct BodyRef<'a> {
    pub seq: u64,
    #[serde(borrow)]
    pub ts: Cow<'a, str>,
    #[serde(borrow)]
    pub prev: Cow<'a, str>,
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default)]
    pub peer: Peer,
    #[serde(borrow)]
    pub data: &'a RawValue,
}

/// A line that could not be read as a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit log line {line}: {message}")]
pub struct RecordError {
    pub line: u64,
    pub message: String,
}

/// Iterator over the records of a log file, line by line (constant memory).
pub struct Records {
    reader: std::io::BufReader<std::fs::File>,
    buf: Vec<u8>,
    line: u64,
}

/// Opens `path` and reads its records in order. Bad lines come out as errors; reading goes on.
/// Hashes and MACs are not checked here (see [`super::verify`]).
pub fn read_records(path: &Path) -> Result<Records, AuditError> {
    let file = std::fs::File::open(path).map_err(|e| AuditError::io(format!("cannot open {}", path.display()), e))?;
    Ok(Records { reader: std::io::BufReader::with_capacity(256 * 1024, file), buf: Vec::new(), line: 0 })
}

impl Iterator for Records {
    type Item = Result<Record, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.buf.clear();
        match self.reader.read_until(b'\n', &mut self.buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => {
                self.line += 1;
                return Some(Err(RecordError { line: self.line, message: format!("read error: {e}") }));
            }
        }
        self.line += 1;
        let err = |message: String| RecordError { line: self.line, message };
        let Some(text) = self.buf.strip_suffix(b"\n") else {
            return Some(Err(err("incomplete last line (no newline): a torn write".into())));
        };
        Some(parse_record(text).map_err(err))
    }
}

/// Parses one line (without its newline) into a [`Record`].
pub(crate) fn parse_record(text: &[u8]) -> Result<Record, String> {
    let line: LineRef = serde_json::from_slice(text).map_err(|e| format!("not a record line: {e}"))?;
    let body: BodyRef = serde_json::from_str(line.body.get()).map_err(|e| format!("bad record body: {e}"))?;
    let data = serde_json::from_str(body.data.get()).map_err(|e| format!("bad record data: {e}"))?;
    Ok(Record { seq: body.seq, ts: body.ts.into_owned(), kind: body.kind.into_owned(), peer: body.peer, data })
}
