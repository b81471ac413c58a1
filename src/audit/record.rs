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
pub(crate) struct LineRef<'a> {
    pub body: &'a str,
    pub hash: Cow<'a, str>,
    pub mac: Cow<'a, str>,
}

/// The same line through the JSON parser (any layout).
#[derive(Deserialize)]
struct LineJson<'a> {
    #[serde(borrow)]
    body: &'a RawValue,
    #[serde(borrow)]
    hash: Cow<'a, str>,
    #[serde(borrow)]
    mac: Cow<'a, str>,
}

use super::layout::SUFFIX_LEN;

impl<'a> LineRef<'a> {
    /// Splits a line (without its newline). A line in the writer's exact layout is split
    /// without a JSON pass over the whole line; the caller's full parse of the body then
    /// validates it, which makes the result the JSON parser's. Any other layout goes through
    /// the JSON parser.
    pub fn parse(text: &'a [u8]) -> serde_json::Result<Self> {
        if let Some(fast) = Self::split(text) {
            return Ok(fast);
        }
        let j: LineJson = serde_json::from_slice(text)?;
        Ok(LineRef { body: j.body.get(), hash: j.hash, mac: j.mac })
    }

    fn split(text: &'a [u8]) -> Option<Self> {
        let n = text.len();
        if n < 8 + SUFFIX_LEN || !text.starts_with(b"{\"body\":{") || !text.ends_with(b"\"}") {
            return None;
        }
        let tail = &text[n - SUFFIX_LEN..];
        if !tail.starts_with(b",\"hash\":\"") || &tail[73..82] != b"\",\"mac\":\"" {
            return None;
        }
        let body = std::str::from_utf8(&text[8..n - SUFFIX_LEN]).ok()?;
        let hash = std::str::from_utf8(&tail[9..73]).ok()?;
        let mac = std::str::from_utf8(&tail[82..146]).ok()?;
        Some(LineRef { body, hash: Cow::Borrowed(hash), mac: Cow::Borrowed(mac) })
    }
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

/// What the chain check reads from one line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Parsed<'a> {
    /// The body's exact bytes (what is hashed).
    pub body: &'a str,
    pub seq: u64,
    pub kind: Cow<'a, str>,
    /// `prev`, `hash` and `mac` decoded; `None` when not exactly 64 hex digits.
    pub prev: Option<[u8; 32]>,
    pub hash: Option<[u8; 32]>,
    pub mac: Option<[u8; 32]>,
    /// The raw JSON of `data`.
    pub data: &'a str,
}

/// Why a line could not be read.
#[derive(Debug)]
pub(crate) enum ParseError {
    /// Not `{"body":…,"hash":…,"mac":…}`.
    Line(serde_json::Error),
    /// The body is not a record body.
    Body(serde_json::Error),
}

/// Reads a line (without its newline): the strict reader for the writer's exact layout, and the
/// JSON parser for anything else (which gives the same result on every line the former accepts).
pub(crate) fn parse_line(text: &[u8]) -> Result<Parsed<'_>, ParseError> {
    match super::layout::parse(text) {
        Some(p) => Ok(p),
        None => parse_line_json(text),
    }
}

/// Reads a line through the JSON parser (any layout).
pub(crate) fn parse_line_json(text: &[u8]) -> Result<Parsed<'_>, ParseError> {
    use super::layout::hex32;
    let line = LineRef::parse(text).map_err(ParseError::Line)?;
    let body: BodyRef = serde_json::from_str(line.body).map_err(ParseError::Body)?;
    Ok(Parsed {
        body: line.body,
        seq: body.seq,
        kind: body.kind,
        prev: hex32(body.prev.as_bytes()),
        hash: hex32(line.hash.as_bytes()),
        mac: hex32(line.mac.as_bytes()),
        data: body.data.get(),
    })
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
    let line = LineRef::parse(text).map_err(|e| format!("not a record line: {e}"))?;
    let body: BodyRef = serde_json::from_str(line.body).map_err(|e| format!("bad record body: {e}"))?;
    let data = serde_json::from_str(body.data.get()).map_err(|e| format!("bad record data: {e}"))?;
    Ok(Record { seq: body.seq, ts: body.ts.into_owned(), kind: body.kind.into_owned(), peer: body.peer, data })
}
