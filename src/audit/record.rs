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
    /// Sequence number, from 1.
    pub seq: u64,
    /// RFC 3339 UTC with microseconds, the daemon's clock.
    pub ts: String,
    /// The record kind (`genesis`, `decision`, `seal`, … see docs/audit-log.md).
    pub kind: String,
    /// The requesting peer, when known.
    #[serde(default)]
    pub peer: Peer,
    /// The kind's fields.
    pub data: serde_json::Value,
}

/// The body as written: field order is part of the format.
#[derive(Serialize)]
struct BodyOut<'a, D: ?Sized> {
    seq: u64,
    ts: &'a str,
    prev: &'a str,
    kind: &'a str,
    peer: &'a Peer,
    data: &'a D,
}

/// Where the body starts in a line: after `{"body":`.
pub(crate) const BODY_START: usize = 8;

/// Starts a record line: `{"body":` and the serialized body, ready for [`finish_line`] once the
/// body (`line[BODY_START..]`) is hashed. `data` is any JSON object: a typed record on the hot
/// paths, a `serde_json::Value` elsewhere.
pub(crate) fn begin_line<D: Serialize + ?Sized>(
    seq: u64,
    ts: &str,
    prev: &[u8; 32],
    kind: &str,
    peer: &Peer,
    data: &D,
) -> serde_json::Result<Vec<u8>> {
    let prev = hex64(prev);
    let prev = std::str::from_utf8(&prev).expect("hex is ASCII");
    let mut line = Vec::with_capacity(1024);
    line.extend_from_slice(b"{\"body\":");
    serde_json::to_writer(&mut line, &BodyOut { seq, ts, prev, kind, peer, data })?;
    Ok(line)
}

/// Ends a line begun by [`begin_line`] with its hash and MAC, and the newline.
pub(crate) fn finish_line(line: &mut Vec<u8>, hash: &[u8; 32], mac: &[u8; 32]) {
    line.extend_from_slice(b",\"hash\":\"");
    line.extend_from_slice(&hex64(hash));
    line.extend_from_slice(b"\",\"mac\":\"");
    line.extend_from_slice(&hex64(mac));
    line.extend_from_slice(b"\"}\n");
}

/// Lowercase hex of 32 bytes, without allocating.
fn hex64(bytes: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    hex::encode_to_slice(bytes, &mut out).expect("64 bytes hold 32 bytes in hex");
    out
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
    /// 1-based line number in the file.
    pub line: u64,
    /// What is wrong with it.
    pub message: String,
}

/// Iterator over the records of a log file, line by line (constant memory).
pub struct Records {
    reader: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
    line: u64,
}

/// Opens `path` and reads its records in order. Bad lines come out as errors; reading goes on.
/// Hashes and MACs are not checked here (see [`super::verify`]).
pub fn read_records(path: &Path) -> Result<Records, AuditError> {
    let file = std::fs::File::open(path).map_err(|e| AuditError::io(format!("cannot open {}", path.display()), e))?;
    Ok(Records { reader: Box::new(std::io::BufReader::with_capacity(256 * 1024, file)), buf: Vec::new(), line: 0 })
}

/// Reads the records of every segment present (see [`super::segments`]), oldest first, the
/// active log `active` last: the whole history that retention left.
pub fn read_log_records(active: &Path) -> Result<Records, AuditError> {
    let what = |e| AuditError::io(format!("cannot list the segments of {}", active.display()), e);
    let segments = super::segments::all(active).map_err(what)?;
    let reader = std::io::BufReader::with_capacity(256 * 1024, super::segments::Concat::new(segments));
    Ok(Records { reader: Box::new(reader), buf: Vec::new(), line: 0 })
}

/// Like [`read_records`], from byte `offset` (a record's first byte, e.g. a checkpoint's).
pub fn read_records_from(path: &Path, offset: u64) -> Result<Records, AuditError> {
    use std::io::{Seek, SeekFrom};
    let what = || format!("cannot open {}", path.display());
    let mut file = std::fs::File::open(path).map_err(|e| AuditError::io(what(), e))?;
    file.seek(SeekFrom::Start(offset)).map_err(|e| AuditError::io(what(), e))?;
    Ok(Records { reader: Box::new(std::io::BufReader::with_capacity(256 * 1024, file)), buf: Vec::new(), line: 0 })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as the writer lays them out, with awkward but common content.
    fn lines() -> Vec<Vec<u8>> {
        let datas = [
            serde_json::json!({"log_id": "00112233445566778899aabbccddeeff", "version": "0.1.0"}),
            serde_json::json!({"raw": "echo \"a\\b\" \t/tmp\n", "cwd": "/h/ü", "n": -12, "ok": true, "x": null}),
            serde_json::json!({"epoch": 3, "records": 1024, "first_seq": 3073, "l": [1, [], {}, "s", false]}),
            serde_json::json!({"f": 1.5, "ctl": "\u{1}", "big": 18446744073709551615u64}),
            serde_json::json!([]),
        ];
        let peers = [
            Peer::default(),
            Peer { pid: Some(7), uid: None, addr: None },
            Peer { pid: Some(u32::MAX), uid: Some(0), addr: None },
        ];
        let mut out = Vec::new();
        for (i, data) in datas.iter().enumerate() {
            let peer = &peers[i % peers.len()];
            let mut line =
                begin_line(i as u64 + 1, "2025-01-02T03:04:05.123456Z", &[0xab; 32], "propose", peer, data).unwrap();
            finish_line(&mut line, &[0x5c; 32], &[0xc5; 32]);
            line.pop();
            out.push(line);
        }
        out
    }

    /// The fast path accepts only what the JSON parser accepts, with the same fields.
    fn agree(text: &[u8]) {
        if let Some(fast) = super::super::layout::parse(text) {
            match parse_line_json(text) {
                Ok(slow) => assert_eq!(fast, slow, "{}", String::from_utf8_lossy(text)),
                Err(e) => {
                    panic!("fast path accepted what the JSON parser rejects ({e:?}): {}", String::from_utf8_lossy(text))
                }
            }
        }
    }

    #[test]
    fn fast_path_reads_the_writers_layout() {
        for line in lines() {
            let fast = super::super::layout::parse(&line);
            // Lines with floats or \u escapes go to the JSON parser; the others must not.
            let plain = !line.windows(2).any(|w| w == b"\\u") && !line.windows(3).any(|w| w == b"1.5");
            assert_eq!(fast.is_some(), plain, "{}", String::from_utf8_lossy(&line));
            assert_eq!(parse_line(&line).unwrap(), parse_line_json(&line).unwrap());
        }
    }

    #[test]
    fn fast_and_slow_paths_agree_on_tampered_lines() {
        let subs: &[u8] = b"\"\\{}[],:0193-.eEaAfFtnu /\x00\x1f\x7f\xc3\xff";
        for line in lines() {
            agree(&line);
            for i in 0..line.len() {
                for &c in subs {
                    let mut m = line.clone();
                    m[i] = c;
                    agree(&m);
                    m.insert(i, c);
                    agree(&m);
                }
                let mut m = line.clone();
                m.remove(i);
                agree(&m);
                m = line.clone();
                m.truncate(i);
                agree(&m);
                m = line.clone();
                m.swap(i, (i * 7 + 3) % line.len());
                agree(&m);
            }
        }
    }

    #[test]
    fn hex32_matches_the_hex_crate() {
        let good = hex::encode([0x0f, 0xa5, 0xff, 0x10].repeat(8));
        let mut text = good.clone().into_bytes();
        assert_eq!(super::super::layout::hex32(&text).map(hex::encode), Some(good.clone()));
        text.make_ascii_uppercase();
        assert_eq!(super::super::layout::hex32(&text).map(hex::encode), Some(good));
        for i in 0..64 {
            for c in [b'g', b'G', b' ', b'/', b':', b'@', b'`', 0xff] {
                let mut m = text.clone();
                m[i] = c;
                assert_eq!(super::super::layout::hex32(&m), None);
            }
        }
        assert_eq!(super::super::layout::hex32(&text[..62]), None);
    }
}
