//! Recovery on open: scan the whole log, find the torn tail and any other damage.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::AuditError;
use super::chain::{Chain, Problem};

/// Where a scan starts: the file's beginning, or a verified checkpoint.
pub(crate) struct Start {
    pub chain: Chain,
    /// Byte offset and lines before it.
    pub offset: u64,
    pub lines: u64,
}

/// What a scan of an existing log found.
pub(crate) struct Scan {
    pub chain: Chain,
    /// Whole lines up to `good_len`.
    pub lines: u64,
    /// Seq of the last `checkpoint` record read, and whether it is the last record.
    pub last_checkpoint: Option<(u64, bool)>,
    /// Bytes up to the end of the last good line.
    pub good_len: u64,
    /// The torn final segment, to quarantine.
    pub torn: Option<Vec<u8>>,
    /// Damage other than a torn tail.
    pub problems: Vec<Problem>,
}

/// Scans `file` from `start`. A torn tail is only ever the final segment: bytes after the
/// last newline, or a final newline-terminated line that does not parse as a record.
pub(crate) fn scan(mut file: impl Read + Seek, start: Start) -> Result<Scan, AuditError> {
    file.seek(SeekFrom::Start(start.offset)).map_err(|e| AuditError::io("cannot seek the audit log", e))?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut chain = start.chain;
    let mut problems = Vec::new();
    let mut cur = Vec::new();
    let mut next = Vec::new();
    let mut good_len = start.offset;
    let mut line_no = start.lines;
    let mut last_checkpoint = None;
    let read = |r: &mut BufReader<_>, buf: &mut Vec<u8>| {
        buf.clear();
        r.read_until(b'\n', buf).map_err(|e| AuditError::io("cannot read the audit log", e))
    };
    read(&mut reader, &mut cur)?;
    while !cur.is_empty() {
        read(&mut reader, &mut next)?;
        line_no += 1;
        let is_last = next.is_empty();
        let Some(text) = cur.strip_suffix(b"\n") else {
            // No newline: only possible for the final segment.
            let lines = line_no - 1;
            return Ok(Scan { chain, lines, last_checkpoint, good_len, torn: Some(cur), problems });
        };
        if is_last && !parses(text) {
            let lines = line_no - 1;
            return Ok(Scan { chain, lines, last_checkpoint, good_len, torn: Some(cur), problems });
        }
        if let Some(seen) = chain.check(line_no, text, &mut problems) {
            last_checkpoint = match (seen.kind.as_ref(), last_checkpoint) {
                ("checkpoint", _) => Some((seen.seq, true)),
                (_, Some((seq, _))) => Some((seq, false)),
                (_, None) => None,
            };
        }
        good_len += cur.len() as u64;
        std::mem::swap(&mut cur, &mut next);
    }
    Ok(Scan { chain, lines: line_no, last_checkpoint, good_len, torn: None, problems })
}

fn parses(text: &[u8]) -> bool {
    super::record::parse_record(text).is_ok()
}

/// Copies the torn tail to `<log>.torn-<ts>` (0600, synced) and returns its path.
pub(crate) fn quarantine(log: &Path, torn: &[u8]) -> Result<PathBuf, AuditError> {
    use std::io::Write;
    let stamp = humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string().replace(':', "");
    let mut name = log.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".torn-{stamp}"));
    let path = log.with_file_name(name);
    let what = || format!("cannot quarantine the torn tail to {}", path.display());
    let mut f = crate::paths::private_open_options()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| AuditError::io(what(), e))?;
    f.write_all(torn).and_then(|()| f.sync_all()).map_err(|e| AuditError::io(what(), e))?;
    if let Some(dir) = path.parent() {
        crate::paths::sync_dir(dir).map_err(|e| AuditError::io(what(), e))?;
    }
    Ok(path)
}
