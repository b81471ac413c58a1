//! The offline spool: what hooks decided while the daemon was down, kept until the daemon records it.
//!
//! `data_dir/offline-decisions.jsonl`, 0600, one JSON `OfflineEntry` per line. Several hooks may
//! append at once: each holds a shared lock on the file and appends its line with one `write` on an
//! append-mode handle (a line is at most `MAX_LINE` bytes, under `PIPE_BUF`), then syncs it. The
//! daemon, on start, takes the exclusive lock, records every line in the audit log, makes the
//! records durable and only then empties the file (`drain`); a hook blocked on the lock meanwhile
//! appends after the truncation, so no line is lost between reading and emptying.
//!
//! Bounded: past [`MAX_BYTES`] a hook refuses to append, and the flow then denies rather than allow
//! unrecorded (concurrent appenders can overshoot the bound by a few lines; it is a cap on growth,
//! not an exact size). Locks are taken with a deadline, so a process that sits on the lock makes
//! hooks deny, never hang (an agent reads a hung hook as allow).

use std::fs::{File, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::wire::Decision;

/// The spool's file name in the data dir (distinct from the watcher's `watch.spool`).
pub(crate) const FILE_NAME: &str = "offline-decisions.jsonl";
/// The size past which hooks stop appending (and deny instead).
pub const MAX_BYTES: u64 = 1024 * 1024;
/// The longest line a hook appends.
pub(crate) const MAX_LINE: usize = 3 * 1024;
/// How much of the command a line keeps verbatim (its hash and length identify the rest).
const COMMAND_TEXT: usize = 1024;
/// How much of the cwd and of the reason a line keeps.
const FIELD_TEXT: usize = 512;
/// How long a hook or the daemon tries to get the lock.
pub(crate) const LOCK_WAIT: Duration = Duration::from_secs(2);

/// One decision a hook made without the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OfflineEntry {
    /// The hook's clock (RFC 3339, UTC): recorded, not trusted.
    pub ts: String,
    /// The hook's process id.
    pub pid: u32,
    /// holdfast's name for the agent.
    pub agent: String,
    /// The working directory (truncated to 512 bytes).
    pub cwd: String,
    /// The command line, truncated to 1 KiB at a character boundary.
    pub command: String,
    /// SHA-256 of the whole command line, hex.
    pub command_sha256: String,
    /// Length of the whole command line in bytes.
    pub command_len: usize,
    /// `safe`, `ambiguous`, `catastrophic`, or `unknown` when the classifier gave no answer.
    pub class: String,
    /// The rule that decided (`offline.*` for the hook's own rules).
    pub rule: String,
    /// allow or deny.
    pub decision: Decision,
    /// The reason the agent was given (truncated to 512 bytes).
    pub reason: String,
}

impl OfflineEntry {
    /// An entry for `command`, stamped with this process and the current time; long texts are cut.
    pub fn new(
        agent: &str,
        cwd: &str,
        command: &str,
        class: &str,
        rule: &str,
        decision: Decision,
        reason: &str,
    ) -> Self {
        OfflineEntry {
            ts: humantime::format_rfc3339_micros(SystemTime::now()).to_string(),
            pid: std::process::id(),
            agent: truncate(agent, 64).into(),
            cwd: truncate(cwd, FIELD_TEXT).into(),
            command: truncate(command, COMMAND_TEXT).into(),
            command_sha256: hex::encode(Sha256::digest(command.as_bytes())),
            command_len: command.len(),
            class: truncate(class, 64).into(),
            rule: truncate(rule, 128).into(),
            decision,
            reason: truncate(reason, FIELD_TEXT).into(),
        }
    }

    /// The same entry with its free texts cut to 64 bytes (hash and length still name the command).
    fn shrunk(&self) -> Self {
        let cut = |s: &str| truncate(s, 64).to_string();
        OfflineEntry { cwd: cut(&self.cwd), command: cut(&self.command), reason: cut(&self.reason), ..self.clone() }
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Why an entry could not be spooled. The flow denies an allow it cannot spool.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SpoolError {
    #[error("the offline spool {0} is full ({MAX_BYTES} bytes); start the daemon to empty it")]
    Full(PathBuf),
    #[error("the offline spool {0} is locked by another process")]
    Busy(PathBuf),
    #[error("cannot write the offline spool {0}: {1}")]
    Io(PathBuf, io::Error),
}

/// The spool file under `data_dir`.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// Appends `entry` to the spool under `data_dir` (created 0600, in a 0700 dir) and syncs it.
pub(crate) fn append(data_dir: &Path, entry: &OfflineEntry) -> Result<(), SpoolError> {
    let path = path(data_dir);
    let io_err = |e| SpoolError::Io(path.clone(), e);
    let mut line = serde_json::to_vec(entry).map_err(|e| io_err(io::Error::other(e)))?;
    if line.len() >= MAX_LINE {
        // JSON escaping of control characters can inflate the cut texts up to six times: cut harder.
        line = serde_json::to_vec(&entry.shrunk()).map_err(|e| io_err(io::Error::other(e)))?;
    }
    line.push(b'\n');
    // Never write a line that could interleave with another appender's.
    if line.len() > MAX_LINE {
        return Err(io_err(io::Error::other(format!("an entry of {} bytes is too long", line.len()))));
    }
    crate::paths::ensure_private_dir(data_dir).map_err(io_err)?;
    // Read access too: Windows locks need it.
    let mut file =
        crate::paths::private_open_options().read(true).append(true).create(true).open(&path).map_err(io_err)?;
    lock(&file, false).map_err(|e| match e {
        LockError::Busy => SpoolError::Busy(path.clone()),
        LockError::Io(e) => io_err(e),
    })?;
    if file.metadata().map_err(io_err)?.len() + line.len() as u64 > MAX_BYTES {
        return Err(SpoolError::Full(path));
    }
    file.write_all(&line).and_then(|()| file.sync_data()).map_err(io_err)
}

/// What [`drain`] found in the spool.
#[derive(Debug, Default)]
pub(crate) struct Drained {
    /// The readable entries, oldest first.
    pub entries: Vec<OfflineEntry>,
    /// Lines that were not an entry.
    pub unreadable: usize,
    /// The spool's size in bytes.
    pub bytes: u64,
    /// Bytes past the read bound that were not looked at (only a spool written by something else
    /// than a hook can be that big).
    pub skipped: u64,
}

/// Takes the spool under `data_dir`: with the exclusive lock held, hands what it holds to
/// `record`, and empties the file only when `record` succeeded (the records are durable).
/// Returns `Ok(None)` when there is no spool or it is empty.
pub(crate) fn drain<E: From<io::Error>>(
    data_dir: &Path,
    record: impl FnOnce(&Drained) -> Result<(), E>,
) -> Result<Option<Drained>, E> {
    let path = path(data_dir);
    let mut file = match File::options().read(true).write(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    lock(&file, true).map_err(|e| match e {
        LockError::Busy => io::Error::new(io::ErrorKind::WouldBlock, format!("{} is locked", path.display())),
        LockError::Io(e) => e,
    })?;
    let bytes = file.metadata()?.len();
    if bytes == 0 {
        return Ok(None);
    }
    let mut text = Vec::new();
    (&mut file).take(2 * MAX_BYTES).read_to_end(&mut text)?;
    let mut drained = Drained { bytes, skipped: bytes - text.len() as u64, ..Default::default() };
    for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        match serde_json::from_slice::<OfflineEntry>(line) {
            Ok(entry) => drained.entries.push(entry),
            Err(_) => drained.unreadable += 1,
        }
    }
    record(&drained)?;
    file.set_len(0)?;
    file.rewind()?;
    file.sync_all()?;
    Ok(Some(drained))
}

enum LockError {
    Busy,
    Io(io::Error),
}

/// Takes the file's lock (shared for appenders, exclusive for the daemon) within [`LOCK_WAIT`].
fn lock(file: &File, exclusive: bool) -> Result<(), LockError> {
    let end = Instant::now() + LOCK_WAIT;
    loop {
        let got = if exclusive { file.try_lock() } else { file.try_lock_shared() };
        match got {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) if Instant::now() < end => std::thread::sleep(Duration::from_millis(5)),
            Err(TryLockError::WouldBlock) => return Err(LockError::Busy),
            Err(TryLockError::Error(e)) => return Err(LockError::Io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(command: &str) -> OfflineEntry {
        OfflineEntry::new("codex", "/w", command, "safe", "safe.default", Decision::Allow, "because")
    }

    #[test]
    fn entries_are_bounded_and_identify_the_whole_command() {
        let long = "é".repeat(5000);
        let e = entry(&long);
        assert!(e.command.len() <= COMMAND_TEXT && long.starts_with(&e.command));
        assert_eq!(e.command_len, long.len());
        assert_eq!(e.command_sha256, hex::encode(Sha256::digest(long.as_bytes())));
        assert!(serde_json::to_vec(&e).unwrap().len() < MAX_LINE);
        let controls = "\u{1}".repeat(5000);
        let dir = tempfile::tempdir().unwrap();
        append(dir.path(), &OfflineEntry::new("a", &controls, &controls, "safe", "r", Decision::Deny, &controls))
            .unwrap();
        let line = std::fs::read(path(dir.path())).unwrap();
        assert!(line.len() <= MAX_LINE, "{}", line.len());
    }

    #[test]
    fn appends_survive_a_drain_only_after_recording_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        append(dir.path(), &entry("ls")).unwrap();
        append(dir.path(), &entry("pwd")).unwrap();
        std::fs::OpenOptions::new().append(true).open(path(dir.path())).unwrap().write_all(b"junk\n").unwrap();
        let failed: Result<_, io::Error> = drain(dir.path(), |_| Err(io::Error::other("disk full")));
        assert!(failed.is_err());
        let d = drain(dir.path(), |d| {
            assert_eq!(d.entries.iter().map(|e| e.command.as_str()).collect::<Vec<_>>(), ["ls", "pwd"]);
            Ok::<_, io::Error>(())
        })
        .unwrap()
        .expect("the failed drain kept the spool");
        assert_eq!(d.unreadable, 1);
        assert_eq!(std::fs::metadata(path(dir.path())).unwrap().len(), 0);
        assert!(drain(dir.path(), |_| Ok::<_, io::Error>(())).unwrap().is_none());
    }

    #[test]
    fn a_full_spool_refuses_and_a_held_lock_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        append(dir.path(), &entry("ls")).unwrap();
        let f = File::options().append(true).open(path(dir.path())).unwrap();
        f.set_len(MAX_BYTES).unwrap();
        assert!(matches!(append(dir.path(), &entry("ls")), Err(SpoolError::Full(_))));
        f.set_len(0).unwrap();
        let holder = File::open(path(dir.path())).unwrap();
        holder.lock().unwrap();
        assert!(matches!(append(dir.path(), &entry("ls")), Err(SpoolError::Busy(_))));
    }
}
