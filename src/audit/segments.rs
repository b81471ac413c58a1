//! Segments: the log as numbered files, rolled by size or age, old ones compressed and removed
//! by retention.
//!
//! The **active** segment is always the log path (`audit.jsonl`); archived segments sit beside
//! it as `audit-NNNNNN.jsonl`, or `audit-NNNNNN.jsonl.gz` once compressed. Segment 1 starts with
//! `genesis`; segment `N > 1` starts with a `segment` record (see [`SegmentData`]) whose `prev`
//! is the previous segment's last hash, so seq, hash chain and seal epochs run on unbroken across
//! files: the concatenation of all segments in order is one log.
//!
//! A roll (in `writer/roll.rs`) writes the new segment's first record to `audit.jsonl.next`,
//! syncs it, hard-links `audit.jsonl` to its archive name, syncs the directory, renames
//! `.next` over `audit.jsonl` and syncs the directory again. The log path exists at every
//! instant; a crash leaves either the old state (a stale `.next`, removed on open), or the
//! archive and the active file being the same file (the link undone on open), or the new state.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::record::{Record, parse_record};

/// Default size at which the active segment rolls: 64 MiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;
/// Default age at which the active segment rolls: 7 days.
pub const DEFAULT_SEGMENT_AGE: Duration = Duration::from_secs(7 * 86_400);
/// Smallest `segment_bytes` accepted (tests roll often; a real log wants megabytes).
pub const MIN_SEGMENT_BYTES: u64 = 1024;
/// Longest first line read from a segment (a `segment` or `genesis` record is a few hundred bytes).
const MAX_FIRST_LINE: u64 = 64 * 1024;

/// How the log is cut into segments and how long archived ones are kept (`[audit]` in the
/// global policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentPolicy {
    /// Roll when the active segment reaches this many bytes.
    pub segment_bytes: u64,
    /// Roll when the active segment is this old (since its first record, or the daemon's start).
    pub segment_age: Duration,
    /// Keep at most this many archived segments (0: all).
    pub retain_segments: u64,
    /// Remove archived segments whose last record is older than this many days (0: never).
    pub retain_days: u64,
    /// Gzip archived segments.
    pub compress: bool,
}

impl Default for SegmentPolicy {
    fn default() -> Self {
        SegmentPolicy {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            segment_age: DEFAULT_SEGMENT_AGE,
            retain_segments: 0,
            retain_days: 0,
            compress: true,
        }
    }
}

/// The `data` of a `segment` record: the first record of every segment after the first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SegmentData {
    /// This segment's number (the first segment, with genesis, is 1).
    pub segment: u64,
    /// The log this segment belongs to.
    pub log_id: String,
    /// Last seq of the previous segment (this record's seq − 1).
    pub previous_last_seq: u64,
    /// Seal bookkeeping before this record, as in a checkpoint record.
    pub epoch: u64,
    /// Records of the open epoch before this record.
    pub in_epoch: u64,
    /// First seq of the open epoch.
    pub epoch_first: u64,
}

/// One segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Its number.
    pub number: u64,
    /// Its file.
    pub path: PathBuf,
    /// Gzip-compressed (`.jsonl.gz`).
    pub compressed: bool,
}

impl Segment {
    /// Opens the segment for reading, decompressing transparently.
    pub fn open(&self) -> io::Result<Box<dyn BufRead + Send>> {
        let file = File::open(&self.path)?;
        Ok(if self.compressed {
            Box::new(BufReader::with_capacity(1 << 20, flate2::read::MultiGzDecoder::new(BufReader::new(file))))
        } else {
            Box::new(BufReader::with_capacity(1 << 20, file))
        })
    }

    /// The segment's first record, `None` when it is empty or its first line is not a record.
    pub fn first_record(&self) -> Option<Record> {
        first_record_of(self.open().ok()?)
    }
}

/// The first record readable from `reader`.
fn first_record_of(reader: impl BufRead) -> Option<Record> {
    let mut line = Vec::new();
    reader.take(MAX_FIRST_LINE).read_until(b'\n', &mut line).ok()?;
    parse_record(line.strip_suffix(b"\n")?).ok()
}

/// The number a segment's first record gives it: 1 for genesis, `data.segment` for a `segment` record.
pub fn number_of(first: &Record) -> Option<u64> {
    match first.kind.as_str() {
        "genesis" => Some(1),
        "segment" => first.data["segment"].as_u64(),
        _ => None,
    }
}

/// `audit-000042.jsonl` (or `.jsonl.gz`) beside the active log `audit.jsonl`.
pub fn archive_path(active: &Path, number: u64, compressed: bool) -> PathBuf {
    let stem = active.file_stem().unwrap_or_default().to_string_lossy();
    let ext = active.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    let gz = if compressed { ".gz" } else { "" };
    active.with_file_name(format!("{stem}-{number:06}{ext}{gz}"))
}

/// Where a roll writes the next segment's first record before renaming it over the log.
pub fn next_path(active: &Path) -> PathBuf {
    let mut name = active.file_name().unwrap_or_default().to_os_string();
    name.push(".next");
    active.with_file_name(name)
}

/// The archived segments beside `active`, oldest first. When a segment exists both plain and
/// compressed (a crash during compression), the plain file is the one read.
pub fn archives(active: &Path) -> io::Result<Vec<Segment>> {
    let dir = active.parent().unwrap_or(Path::new("."));
    let stem = active.file_stem().unwrap_or_default().to_string_lossy().into_owned();
    let ext = active.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    let mut found: Vec<Segment> = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&format!("{stem}-")) else { continue };
        let (digits, compressed) = match rest.strip_suffix(&format!("{ext}.gz")) {
            Some(d) => (d, true),
            None => match rest.strip_suffix(&ext) {
                Some(d) => (d, false),
                None => continue,
            },
        };
        if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(number) = digits.parse::<u64>() else { continue };
        found.push(Segment { number, path: entry.path(), compressed });
    }
    // Plain before compressed for the same number, then keep the first of each number.
    found.sort_by_key(|s| (s.number, s.compressed));
    found.dedup_by_key(|s| s.number);
    Ok(found)
}

/// Every segment present, oldest first, the active log last (when it exists and is not empty).
pub fn all(active: &Path) -> io::Result<Vec<Segment>> {
    let mut list = archives(active)?;
    let first = File::open(active).ok().and_then(|f| first_record_of(BufReader::new(f)));
    let number = match first.as_ref().and_then(number_of) {
        Some(n) => n,
        None => list.last().map_or(1, |s| s.number + 1),
    };
    if std::fs::metadata(active).is_ok_and(|m| m.len() > 0) {
        // A roll stopped between its link and its rename: the archive is the active file itself.
        if list.last().is_some_and(|s| s.number == number && !s.compressed && same_file(&s.path, active)) {
            list.pop();
        }
        list.push(Segment { number, path: active.to_path_buf(), compressed: false });
    }
    Ok(list)
}

/// Whether two paths are the same file (a hard link): the same inode on Unix; elsewhere, the
/// same length (between the two steps of a roll nobody else writes either name).
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        #[cfg(unix)]
        (Ok(x), Ok(y)) => {
            use std::os::unix::fs::MetadataExt;
            x.dev() == y.dev() && x.ino() == y.ino()
        }
        #[cfg(not(unix))]
        (Ok(x), Ok(y)) => x.len() == y.len(),
        _ => false,
    }
}

/// A reader over several segments in order, as one stream of lines.
pub struct Concat {
    rest: std::collections::VecDeque<Segment>,
    current: Option<Box<dyn BufRead + Send>>,
}

impl Concat {
    /// Reads `segments` one after another.
    pub fn new(segments: Vec<Segment>) -> Self {
        Concat { rest: segments.into(), current: None }
    }
}

impl Read for Concat {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.current.is_none() {
                match self.rest.pop_front() {
                    Some(s) => self.current = Some(s.open()?),
                    None => return Ok(0),
                }
            }
            let n = self.current.as_mut().expect("opened above").read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            self.current = None;
        }
    }
}

/// Gzips an archived plain segment: `.gz.tmp` written and synced, renamed to `.jsonl.gz`, the
/// directory synced, then the plain file removed (and the directory synced again). A crash
/// leaves the plain file, which readers prefer, and at worst a stale temp file.
pub fn compress(segment: &Segment, active: &Path) -> io::Result<()> {
    use std::io::Write;
    if segment.compressed {
        return Ok(());
    }
    let gz = archive_path(active, segment.number, true);
    let mut tmp_name = gz.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = gz.with_file_name(tmp_name);
    let out = crate::paths::private_open_options().write(true).create(true).truncate(true).open(&tmp)?;
    let mut enc = flate2::write::GzEncoder::new(io::BufWriter::new(out), flate2::Compression::default());
    io::copy(&mut File::open(&segment.path)?, &mut enc)?;
    let mut out = enc.finish()?;
    out.flush()?;
    out.get_ref().sync_all()?;
    drop(out);
    std::fs::rename(&tmp, &gz)?;
    let dir = active.parent().unwrap_or(Path::new("."));
    crate::paths::sync_dir(dir)?;
    std::fs::remove_file(&segment.path)?;
    crate::paths::sync_dir(dir)
}

/// Whole lines of a log across its segments, oldest first, then (with [`Follower::poll`]) the
/// lines appended later, through rolls: a shipper's or a `tail -f`'s view of the log.
pub struct Follower {
    active: PathBuf,
    /// The open active file, the offset read up to, its segment number and first line.
    file: Option<(File, u64, u64, Vec<u8>)>,
}

impl Follower {
    /// Calls `each` with every whole line (newline included) of the segments whose records may be
    /// after seq `since` (older archives are skipped by their successor's first seq), the active
    /// log last. Returns the follower for [`Follower::poll`].
    pub fn start(active: &Path, since: u64, each: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<Follower> {
        let list = all(active)?;
        let firsts: Vec<Option<u64>> = list.iter().map(|s| s.first_record().map(|r| r.seq)).collect();
        let mut me = Follower { active: active.to_path_buf(), file: None };
        for (i, seg) in list.iter().enumerate() {
            if seg.path == active {
                break;
            }
            // Every record of this segment is before the next segment's first seq.
            if firsts.get(i + 1).copied().flatten().is_some_and(|next| next <= since.saturating_add(1)) {
                continue;
            }
            lines(seg.open()?, each)?;
        }
        me.switch(each)?;
        Ok(me)
    }

    /// Reads the active file from the start (it replaced the one open before).
    fn switch(&mut self, each: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        let file = match File::open(&self.active) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let first = first_line(&file);
        let number = parse_record(first.strip_suffix(b"\n").unwrap_or(&first)).ok().and_then(|r| number_of(&r));
        self.file = Some((file, 0, number.unwrap_or(0), first));
        self.drain(each)
    }

    /// Reads whole lines from the open file's offset to its end.
    fn drain(&mut self, each: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        use std::io::{Seek, SeekFrom};
        let Some((file, pos, _, _)) = self.file.as_mut() else { return Ok(()) };
        file.seek(SeekFrom::Start(*pos))?;
        let mut reader = BufReader::with_capacity(1 << 20, &*file);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf)?;
            if n == 0 || !buf.ends_with(b"\n") {
                return Ok(()); // a line still being written: read it whole next time
            }
            *pos += n as u64;
            each(&buf)?;
        }
    }

    /// Reads what was appended since the last call. When the log path is another file now (a
    /// roll, or a replacement), the old file is read to its end, any segments archived in
    /// between are read, and the new file from its start. Returns a note when the log got
    /// shorter or was replaced by something that is not its next segment.
    pub fn poll(&mut self, each: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<Option<String>> {
        self.drain(each)?;
        let now = File::open(&self.active).ok();
        let now_first = now.as_ref().map(first_line).unwrap_or_default();
        let Some((_, pos, number, first)) = &self.file else {
            return self.switch(each).map(|()| None);
        };
        let (pos, old_number) = (*pos, *number);
        let shorter = now.as_ref().and_then(|f| f.metadata().ok()).is_some_and(|m| m.len() < pos);
        if now_first == *first && !shorter {
            return Ok(None);
        }
        // The old file is complete once the path no longer names it.
        self.drain(each)?;
        let new_number =
            parse_record(now_first.strip_suffix(b"\n").unwrap_or(&now_first)).ok().and_then(|r| number_of(&r));
        let mut note = None;
        match new_number {
            Some(n) if old_number > 0 && n > old_number => {
                for seg in archives(&self.active)?.iter().filter(|s| s.number > old_number && s.number < n) {
                    lines(seg.open()?, each)?;
                }
            }
            _ => note = Some("the log got shorter or was replaced: reading it from its start".to_string()),
        }
        self.switch(each)?;
        Ok(note)
    }
}

/// The first line of `file` (at most [`MAX_FIRST_LINE`] bytes), read without moving its offset.
fn first_line(file: &File) -> Vec<u8> {
    use std::io::{Seek, SeekFrom};
    let mut f = file;
    let mut line = Vec::new();
    if f.seek(SeekFrom::Start(0)).is_ok() {
        let _ = BufReader::new(f.take(MAX_FIRST_LINE)).read_until(b'\n', &mut line);
    }
    line
}

/// Calls `each` with every whole line of `reader`.
fn lines(mut reader: impl BufRead, each: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 || !buf.ends_with(b"\n") {
            return Ok(());
        }
        each(&buf)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_sort_and_prefer_plain() {
        let dir = tempfile::tempdir().unwrap();
        let active = dir.path().join("audit.jsonl");
        for name in ["audit-000002.jsonl.gz", "audit-000001.jsonl", "audit-000002.jsonl", "audit-000010.jsonl.gz"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        for junk in ["audit-000003.jsonl.gz.tmp", "audit-x.jsonl", "audit.jsonl.next", "audit-12.jsonl"] {
            std::fs::write(dir.path().join(junk), b"").unwrap();
        }
        let got: Vec<(u64, bool)> = archives(&active).unwrap().iter().map(|s| (s.number, s.compressed)).collect();
        assert_eq!(got, vec![(1, false), (2, false), (10, true)]);
        assert_eq!(archive_path(&active, 7, true), dir.path().join("audit-000007.jsonl.gz"));
    }

    #[test]
    fn compressed_segments_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let active = dir.path().join("audit.jsonl");
        let plain = archive_path(&active, 1, false);
        std::fs::write(&plain, b"one\ntwo\n").unwrap();
        compress(&Segment { number: 1, path: plain.clone(), compressed: false }, &active).unwrap();
        assert!(!plain.exists());
        std::fs::write(archive_path(&active, 2, false), b"three\n").unwrap();
        let mut text = String::new();
        Concat::new(archives(&active).unwrap()).read_to_string(&mut text).unwrap();
        assert_eq!(text, "one\ntwo\nthree\n");
    }
}
