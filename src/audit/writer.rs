//! [`AuditLog`]: the daemon's single, durable, append-only writer.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use super::chain::{Chain, hash_0, next_hash};
use super::checkpoint::{self, Checkpoint, CheckpointData, Rejected};
use crate::daemon::log::log;
use serde::Serialize;
use serde_json::value::RawValue;

use super::record::{BODY_START, begin_line, finish_line};

mod roll;
#[cfg(test)]
mod tests;
use super::seal::{self, EpochKey, StoredKey, VerificationKey};
use super::{AuditError, Durability, EPOCH_RECORDS, EPOCH_SECS, recover};
use crate::paths::Paths;
use crate::wire::{LogHead, Peer};

/// Problems listed in one `damage` record (the rest are counted).
const MAX_LISTED: usize = 20;

/// The audit log, open for appending.
pub struct AuditLog {
    path: PathBuf,
    key_path: PathBuf,
    file: File,
    /// Length of the file up to the last fully written record.
    len: u64,
    log_id: String,
    next_seq: u64,
    prev: [u8; 32],
    key: EpochKey,
    in_epoch: u64,
    epoch_first: u64,
    epoch_started: Instant,
    durability: Durability,
    dirty: bool,
    last_sync: Instant,
    /// The ratcheted key could not be stored yet; retried by `tick`.
    key_store_pending: bool,
    /// Set when a failed write could not be undone: nothing more is written.
    broken: Option<String>,
    /// Checkpoint bookkeeping: see the checkpoint section at the end of this file.
    ckpt: CheckpointCursor,
    /// When the path was last compared with the open file.
    file_checked: Instant,
    /// Longest epoch (the time-based seal), [`EPOCH_SECS`] unless set.
    epoch_secs: u64,
    /// Segments: see `writer/roll.rs`.
    seg: roll::SegmentCursor,
}

/// Where the writer stands relative to checkpoints.
#[derive(Debug, Default)]
struct CheckpointCursor {
    /// Whole lines in the file.
    lines: u64,
    /// Records written (or found) since the last checkpoint.
    since: u64,
    /// Size of the last checkpoint's state.
    state_bytes: u64,
}

/// A torn tail moved aside on open.
#[derive(Debug, Clone)]
pub struct Recovered {
    /// Length of the torn tail.
    pub bytes: u64,
    /// Where the torn tail was moved.
    pub quarantine: PathBuf,
}

/// What `open` found and did.
#[derive(Debug, Default)]
pub struct OpenReport {
    /// True when a new log (genesis) was created.
    pub created: bool,
    /// `k_0` of a new log: the caller must deliver it (key file or vault), once.
    pub new_verification_key: Option<VerificationKey>,
    /// A torn tail that was quarantined.
    pub recovered: Option<Recovered>,
    /// Damage found (also written as a `damage` record): one sentence each.
    pub damage: Vec<String>,
    /// Things worth a line on stderr that are not damage.
    pub notes: Vec<String>,
    /// The checkpoint the chain resumed at: replay its state, then the records after it.
    pub checkpoint: Option<Checkpoint>,
}

impl AuditLog {
    /// Opens (recovering) or creates the log in `paths.data_dir`.
    pub fn open(paths: &Paths, durability: Durability) -> Result<(AuditLog, OpenReport), AuditError> {
        let path = paths.audit_log();
        let key_path = paths.data_dir.join("seal.key");
        crate::paths::ensure_private_dir(&paths.data_dir)
            .map_err(|e| AuditError::io(format!("cannot create {}", paths.data_dir.display()), e))?;
        let what = || format!("cannot open the audit log {}", path.display());
        let file = crate::paths::private_open_options()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| AuditError::io(what(), e))?;
        lock(&file, &path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Owner-only even if someone loosened it.
            file.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(|e| AuditError::io(what(), e))?;
        }
        let mut report = OpenReport::default();
        let survey = roll::survey(&path, &mut report)?;
        let start = match checkpoint_start(&paths.data_dir, &file, survey.active, &mut report) {
            Some(start) => start,
            None => roll::archive_start(&survey.archives, &mut report)?,
        };
        let scan = recover::scan(&file, start)?;
        if let Some(torn) = &scan.torn {
            let quarantine = recover::quarantine(&path, torn)?;
            file.set_len(scan.good_len)
                .and_then(|()| file.sync_all())
                .map_err(|e| AuditError::io("cannot truncate the torn tail", e))?;
            report.recovered = Some(Recovered { bytes: torn.len() as u64, quarantine });
        }
        let now = Instant::now();
        let mut log = AuditLog {
            path,
            key_path,
            file,
            len: scan.good_len,
            log_id: String::new(),
            next_seq: 1,
            prev: [0; 32],
            key: EpochKey::new(0, [0; 32]),
            in_epoch: 0,
            epoch_first: 1,
            epoch_started: now,
            durability,
            dirty: false,
            last_sync: now,
            key_store_pending: false,
            broken: None,
            ckpt: CheckpointCursor { lines: scan.lines, ..Default::default() },
            file_checked: now,
            epoch_secs: EPOCH_SECS,
            seg: roll::SegmentCursor::new(&survey),
        };
        if scan.chain.records == 0 && scan.problems.is_empty() {
            log.create(&mut report)?;
        } else if scan.lines == 0 && !survey.archives.is_empty() {
            log.continue_after_archives(scan, &mut report)?;
        } else {
            log.checkpoint_findings(&scan, &mut report);
            log.resume(scan, &mut report)?;
        }
        Ok((log, report))
    }

    /// A new log: fresh log id and `k_0`, key stored before genesis is written.
    fn create(&mut self, report: &mut OpenReport) -> Result<(), AuditError> {
        let missing = self.missing_log_evidence(report)?;
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|e| AuditError::Random(e.to_string()))?;
        self.log_id = hex::encode(id);
        self.prev = hash_0(&id);
        let k0 = EpochKey::generate()?;
        seal::store(&self.key_path, &self.log_id, &k0)?;
        self.key = k0.clone();
        let data = json!({
            "log_id": self.log_id,
            "version": crate::VERSION,
            "epoch_records": EPOCH_RECORDS,
            "epoch_secs": self.epoch_secs,
        });
        self.write("genesis", &Peer::default(), &data)?;
        self.sync()?;
        report.created = true;
        report.new_verification_key = Some(VerificationKey::from_epoch_key(k0));
        if let Some(r) = &report.recovered {
            self.write(
                "recovered",
                &Peer::default(),
                &json!({"bytes": r.bytes, "quarantine": r.quarantine, "note": "the log held only a torn write"}),
            )?;
            self.sync()?;
        }
        if let Some(why) = missing {
            self.write("damage", &Peer::default(), &json!({ "problems": [why], "missing_log": true }))?;
            self.sync()?;
            report.damage.push(why);
        }
        Ok(())
    }

    /// An existing log: continue the chain from the last line as written.
    fn resume(&mut self, scan: recover::Scan, report: &mut OpenReport) -> Result<(), AuditError> {
        self.adopt(&scan.chain);
        self.resume_keys(scan, report)
    }

    /// Continues the chain as the scan left it.
    fn adopt(&mut self, chain: &Chain) {
        self.next_seq = chain.next_seq;
        self.prev = chain.prev;
        self.in_epoch = chain.in_epoch;
        self.epoch_first = chain.epoch_first;
        self.log_id = chain.log_id.clone().unwrap_or_default();
    }

    /// `seal.key` against the chain, then the `damage` and `recovered` records.
    fn resume_keys(&mut self, scan: recover::Scan, report: &mut OpenReport) -> Result<(), AuditError> {
        let chain = scan.chain;
        let mut damage: Vec<String> = std::mem::take(&mut report.damage);
        damage.extend(scan.problems.iter().map(|p| p.to_string()));
        let mut data = json!({});
        let stored = seal::load(&self.key_path)?;
        let key_problem = match stored {
            StoredKey::Found { log_id, key } if log_id == self.log_id || self.log_id.is_empty() => {
                if self.log_id.is_empty() {
                    self.log_id = log_id;
                }
                if key.epoch() < chain.epoch {
                    report.notes.push(format!(
                        "the sealing key was at epoch {} and the log at epoch {}: ratcheted forward (a crash between a seal and the key store)",
                        key.epoch(),
                        chain.epoch
                    ));
                    self.key = key;
                    self.key.ratchet_to(chain.epoch);
                    self.key_store_pending = true;
                    None
                } else if key.epoch() > chain.epoch {
                    let msg = format!(
                        "the sealing key is at epoch {} but the log's seals end at epoch {}: seal records are missing (the log was truncated or edited)",
                        key.epoch(),
                        chain.epoch
                    );
                    data["epoch"] = key.epoch().into();
                    self.in_epoch = 0;
                    self.epoch_first = self.next_seq;
                    self.key = key;
                    Some(msg)
                } else {
                    self.key = key;
                    None
                }
            }
            other => {
                let why = match other {
                    StoredKey::Missing => format!("the sealing key {} is missing", self.key_path.display()),
                    StoredKey::Unreadable(e) => {
                        format!("the sealing key {} is unreadable: {e}", self.key_path.display())
                    }
                    StoredKey::Found { log_id, .. } => {
                        format!("the sealing key {} belongs to another log ({log_id})", self.key_path.display())
                    }
                };
                // The old key is gone: seal with a fresh key; later MACs are not covered by k_0.
                let mut fresh = EpochKey::generate()?;
                fresh.ratchet_to(chain.epoch);
                self.key = fresh;
                self.key_store_pending = true;
                data["key"] = "replaced".into();
                Some(format!("{why}; sealing continues with a new key that the verification key does not cover"))
            }
        };
        if let Some(p) = key_problem {
            damage.push(p);
        }
        if self.key_store_pending {
            self.store_key();
        }
        // The damage record first: it announces a key change that verifiers apply from it on.
        if !damage.is_empty() {
            data["problems"] = damage.iter().take(MAX_LISTED).cloned().collect::<Vec<_>>().into();
            let more = damage.len().saturating_sub(MAX_LISTED);
            if more > 0 {
                data["more_problems"] = more.into();
            }
            self.write("damage", &Peer::default(), &data)?;
        }
        if let Some(r) = &report.recovered {
            self.write("recovered", &Peer::default(), &json!({"bytes": r.bytes, "quarantine": r.quarantine}))?;
        }
        self.sync()?;
        report.damage = damage;
        Ok(())
    }

    /// Appends one record and returns its seq (`head()` has its hash); with `always` it is on disk
    /// when this returns. On failure nothing is recorded (a partial line is cut off again).
    pub fn append<D: Serialize + ?Sized>(&mut self, kind: &str, peer: &Peer, data: &D) -> Result<u64, AuditError> {
        if self.in_epoch + 1 >= EPOCH_RECORDS {
            self.seal()?;
        }
        let seq = self.write(kind, peer, data)?;
        match self.durability {
            Durability::Always => self.sync()?,
            Durability::Batch { every } => {
                self.dirty = true;
                if self.last_sync.elapsed() >= every {
                    self.sync()?;
                }
            }
        }
        self.roll_if_due();
        Ok(seq)
    }

    /// Periodic work: the batch sync, the time-based seal, a pending key store.
    /// Returns how soon it wants to run again.
    pub fn tick(&mut self) -> Option<Duration> {
        if self.broken.is_some() {
            return None;
        }
        if self.in_epoch > 0
            && self.epoch_started.elapsed() >= Duration::from_secs(self.epoch_secs)
            && let Err(e) = self.seal()
        {
            log!("cannot seal the audit log epoch: {e}");
        }
        if self.key_store_pending {
            self.store_key();
        }
        self.roll_if_due();
        self.maintain();
        match self.durability {
            Durability::Batch { every } if self.dirty => {
                let since = self.last_sync.elapsed();
                if since >= every {
                    if let Err(e) = self.sync() {
                        log!("{e}");
                    }
                    None
                } else {
                    Some(every - since)
                }
            }
            _ => None,
        }
    }

    /// Ends the current epoch (if it has records) at a clean stop, and syncs.
    pub fn close(&mut self) -> Result<(), AuditError> {
        if self.in_epoch > 0 {
            self.seal()?;
        }
        self.sync()
    }

    /// The last record's seq and hash.
    pub fn head(&self) -> LogHead {
        LogHead { seq: self.next_seq - 1, hash: hex::encode(self.prev), log_id: self.log_id.clone() }
    }

    /// Sets the longest epoch, in seconds (at least 1): the window in which a stolen current
    /// key can rewrite the open epoch.
    pub fn set_seal_interval(&mut self, secs: u64) {
        self.epoch_secs = secs.max(1);
    }

    /// True once a failed write could not be undone (or a sync failed): nothing more is
    /// written through this handle, and the daemon reopens the log from the file.
    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    /// The file this log writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The durability this log was opened with.
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// Writes the seal of the current epoch, makes it durable, ratchets and stores the key.
    fn seal(&mut self) -> Result<(), AuditError> {
        let data = json!({
            "epoch": self.key.epoch(),
            "records": self.in_epoch + 1,
            "first_seq": self.epoch_first,
        });
        self.write("seal", &Peer::default(), &data)?;
        // The key must never get ahead of what is durable in the log.
        self.sync()?;
        self.key.ratchet();
        self.in_epoch = 0;
        self.epoch_first = self.next_seq;
        self.epoch_started = Instant::now();
        self.key_store_pending = true;
        self.store_key();
        Ok(())
    }

    fn store_key(&mut self) {
        match seal::store(&self.key_path, &self.log_id, &self.key) {
            Ok(()) => self.key_store_pending = false,
            // The log stays consistent (a key behind the log is ratcheted forward on open).
            Err(e) => log!("{e} (will retry)"),
        }
    }

    /// Writes one record line with a single `write_all`; undoes a partial write.
    fn write<D: Serialize + ?Sized>(&mut self, kind: &str, peer: &Peer, data: &D) -> Result<u64, AuditError> {
        if let Some(why) = &self.broken {
            return Err(AuditError::Broken(why.clone()));
        }
        let (line, hash) = self.encode(kind, peer, data)?;
        if let Err(e) = self.file.write_all(&line) {
            self.rollback();
            return Err(AuditError::io(format!("cannot append to {}", self.path.display()), e));
        }
        Ok(self.commit(line.len() as u64, hash))
    }

    /// The next record's line (with its newline) and hash; nothing is written or advanced.
    fn encode<D: Serialize + ?Sized>(
        &self,
        kind: &str,
        peer: &Peer,
        data: &D,
    ) -> Result<(Vec<u8>, [u8; 32]), AuditError> {
        let ts = humantime::format_rfc3339_micros(SystemTime::now()).to_string();
        let mut line = begin_line(self.next_seq, &ts, &self.prev, kind, peer, data)
            .map_err(|e| AuditError::Encode(e.to_string()))?;
        let hash = next_hash(&self.prev, &line[BODY_START..]);
        let mac = self.key.mac(&hash);
        finish_line(&mut line, &hash, &mac);
        Ok((line, hash))
    }

    /// Advances the chain past a record of `bytes` bytes with `hash`, now in the file; its seq.
    fn commit(&mut self, bytes: u64, hash: [u8; 32]) -> u64 {
        let seq = self.next_seq;
        self.len += bytes;
        self.next_seq += 1;
        self.prev = hash;
        self.in_epoch += 1;
        self.ckpt.lines += 1;
        self.ckpt.since += 1;
        seq
    }

    fn sync(&mut self) -> Result<(), AuditError> {
        if let Some(why) = &self.broken {
            return Err(AuditError::Broken(why.clone()));
        }
        match self.file.sync_data() {
            Ok(()) => {
                self.dirty = false;
                self.last_sync = Instant::now();
                Ok(())
            }
            Err(e) => {
                // After a failed fdatasync the page cache cannot be trusted: stop writing.
                let why = format!("fdatasync of {} failed: {e}", self.path.display());
                self.broken = Some(why.clone());
                Err(AuditError::Broken(why))
            }
        }
    }

    /// Cuts the file back to the last whole record after a failed write.
    fn rollback(&mut self) {
        if let Err(e) = self.file.set_len(self.len) {
            self.broken = Some(format!("cannot cut a partial record from {}: {e}", self.path.display()));
        }
    }
}

/// One writer per log: an exclusive advisory lock for the life of the file handle.
#[cfg(unix)]
fn lock(file: &File, path: &Path) -> Result<(), AuditError> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(AuditError::Locked(path.display().to_string())),
        Err(e) => Err(AuditError::io(format!("cannot lock {}", path.display()), e.into())),
    }
}

#[cfg(not(unix))]
fn lock(_file: &File, _path: &Path) -> Result<(), AuditError> {
    Ok(())
}

// ---- Checkpoints (format and checks in `checkpoint.rs`) ----

/// Where the scan on open starts: at a sidecar checkpoint that verifies in the active segment
/// (number `segment`), else `None`: from the oldest segment present (a sidecar that does not
/// verify is reported as damage and never trusted).
fn checkpoint_start(data_dir: &Path, file: &File, segment: u64, report: &mut OpenReport) -> Option<recover::Start> {
    match checkpoint::load(data_dir, file, segment) {
        Ok(cp) => {
            let start = recover::Start { chain: Chain::resume(&cp), offset: cp.offset, lines: cp.line - 1 };
            report.checkpoint = Some(cp);
            Some(start)
        }
        Err(Rejected::Missing) => None,
        Err(Rejected::Archived(n)) => {
            report.notes.push(format!(
                "the checkpoint is in archived segment {n} (the daemon stopped right after a roll): every segment present was replayed"
            ));
            None
        }
        Err(Rejected::Invalid(why)) => {
            report.damage.push(format!("{why}; the whole log was replayed instead"));
            None
        }
    }
}

impl AuditLog {
    /// After a scan: counts records since the last checkpoint, and reports a sidecar that is
    /// missing although the log has checkpoint records (unless the daemon stopped between
    /// writing the newest one and its sidecar: then it is the last record).
    fn checkpoint_findings(&mut self, scan: &recover::Scan, report: &mut OpenReport) {
        self.ckpt.since = match &report.checkpoint {
            Some(cp) => scan.chain.last_seq().saturating_sub(cp.seq),
            None => scan.chain.records,
        };
        if report.checkpoint.is_some() || !report.damage.is_empty() {
            return;
        }
        match scan.last_checkpoint {
            Some((seq, true)) => report.notes.push(format!(
                "checkpoint seq {seq} has no sidecar (the daemon stopped while writing it): the whole log was replayed"
            )),
            Some((seq, false)) => report.damage.push(format!(
                "the checkpoint {} is missing but the log has checkpoint seq {seq}: it was removed; the whole log was replayed instead",
                checkpoint::sidecar_path(&self.data_dir()).display()
            )),
            None => {}
        }
    }

    /// Before a new log is created: whether what the daemon keeps beside the log (the sealing
    /// key, the checkpoint) shows that a log existed here. Then the log was deleted, emptied or
    /// replaced: damage, never a quiet fresh start. A stale checkpoint is removed with it.
    fn missing_log_evidence(&self, report: &mut OpenReport) -> Result<Option<String>, AuditError> {
        // The checkpoint cannot verify against an empty file; the sentence below says why.
        report.damage.clear();
        let sidecar = checkpoint::sidecar_path(&self.data_dir());
        let had_checkpoint = sidecar.exists();
        let old = match seal::load(&self.key_path)? {
            StoredKey::Found { log_id, key } => Some(format!("log {log_id}, sealing key at epoch {}", key.epoch())),
            StoredKey::Unreadable(_) => Some("an unreadable sealing key".to_string()),
            StoredKey::Missing => None,
        };
        // A crash while the very first genesis was written leaves a key and a torn line, nothing more.
        let first_run_crash = report.recovered.is_some() && !had_checkpoint;
        let why = match (old, had_checkpoint) {
            (_, _) if first_run_crash => return Ok(None),
            (None, false) => return Ok(None),
            (Some(old), _) => format!(
                "the audit log {} is missing or empty, but the data directory still holds {old}: the log was deleted or replaced; a new log starts here",
                self.path.display()
            ),
            (None, true) => format!(
                "the audit log {} is missing or empty, but a checkpoint of an earlier log is here: the log was deleted or replaced; a new log starts here",
                self.path.display()
            ),
        };
        if had_checkpoint {
            let _ = std::fs::remove_file(&sidecar);
        }
        Ok(Some(why))
    }

    fn data_dir(&self) -> PathBuf {
        self.key_path.parent().map(Path::to_path_buf).unwrap_or_default()
    }

    /// Writes a checkpoint of `state` (the daemon's, as of now): the `checkpoint` record, synced,
    /// then the sidecar. Returns the record's seq.
    pub fn checkpoint(&mut self, state: &RawValue) -> Result<u64, AuditError> {
        if self.in_epoch + 1 >= EPOCH_RECORDS {
            self.seal()?;
        }
        let state_bytes = state.get().len() as u64;
        let data = CheckpointData {
            state_sha256: checkpoint::state_digest(state),
            state_bytes,
            epoch: self.key.epoch(),
            in_epoch: self.in_epoch,
            epoch_first: self.epoch_first,
            file: checkpoint::SIDECAR.into(),
        };
        let (offset, line) = (self.len, self.ckpt.lines + 1);
        let seq = self.write("checkpoint", &Peer::default(), &data)?;
        // The sidecar must never name a record that is not durable.
        self.sync()?;
        checkpoint::store(&self.data_dir(), &self.log_id, (self.seg.number, seq, offset, line), &self.prev, state)?;
        self.seg.rolled = false;
        self.ckpt.since = 0;
        self.ckpt.state_bytes = state_bytes;
        Ok(seq)
    }

    /// True when enough records were written since the last checkpoint (see [`checkpoint::due`]).
    pub fn checkpoint_due(&self) -> bool {
        // A new segment gets a checkpoint at once, so a start never needs the archived ones.
        self.seg.rolled || checkpoint::due(self.ckpt.since, self.ckpt.state_bytes)
    }
}

// ---- The log file under the daemon (unlinked or replaced while running) ----

/// How often the idle loop compares the log's path with the open file.
const FILE_CHECK_EVERY: Duration = Duration::from_millis(200);

impl AuditLog {
    /// Compares the log's path with the open file (device and inode), at most every
    /// `FILE_CHECK_EVERY`. When the file was unlinked or replaced (or its path no longer
    /// resolves), the daemon's open copy is
    /// put back at the path (a replacement is moved aside first) and a `damage` record says so;
    /// returns that sentence. If the copy cannot be restored, nothing more is written (fail closed).
    pub fn check_file(&mut self) -> Option<String> {
        if self.broken.is_some() || self.file_checked.elapsed() < FILE_CHECK_EVERY {
            return None;
        }
        self.file_checked = Instant::now();
        let what = file_changed(&self.file, &self.path)?;
        let why = match self.restore_file() {
            Ok(aside) => match aside {
                Some(aside) => format!(
                    "the audit log {} was replaced while the daemon was running: the replacement was moved to {} and the log restored from the daemon's open file",
                    self.path.display(),
                    aside.display()
                ),
                None => format!(
                    "the audit log {} was {what} while the daemon was running: restored from the daemon's open file",
                    self.path.display()
                ),
            },
            Err(e) => {
                let why = format!("the audit log {} was {what} and cannot be restored: {e}", self.path.display());
                self.broken = Some(why.clone());
                return Some(why);
            }
        };
        if let Err(e) = self
            .write("damage", &Peer::default(), &json!({ "problems": [why.clone()], "log_file": what }))
            .and_then(|_| self.sync())
        {
            eprintln!("holdfast: cannot record the damage: {e}");
        }
        Some(why)
    }

    /// Copies the open file to a temp file, moves whatever is at the path aside, renames the
    /// copy into place and appends to it from now on. Returns where a replacement went.
    fn restore_file(&mut self) -> Result<Option<PathBuf>, AuditError> {
        use std::io::{Read, Seek, SeekFrom};
        let io = |what: &str| {
            let what = format!("{what} {}", self.path.display());
            move |e| AuditError::io(what, e)
        };
        let mut tmp_name = self.path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".restore");
        let tmp = self.path.with_file_name(tmp_name);
        let mut copy = crate::paths::private_open_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(io("cannot create a copy of"))?;
        (&self.file).seek(SeekFrom::Start(0)).map_err(io("cannot read"))?;
        std::io::copy(&mut (&self.file).take(self.len), &mut copy).map_err(io("cannot copy"))?;
        copy.sync_all().map_err(io("cannot sync the copy of"))?;
        let aside = if std::fs::symlink_metadata(&self.path).is_ok() {
            let stamp = humantime::format_rfc3339_micros(SystemTime::now()).to_string().replace(':', "");
            let mut name = self.path.file_name().unwrap_or_default().to_os_string();
            name.push(format!(".replaced-{stamp}"));
            let aside = self.path.with_file_name(name);
            std::fs::rename(&self.path, &aside).map_err(io("cannot move aside"))?;
            Some(aside)
        } else {
            None
        };
        std::fs::rename(&tmp, &self.path).map_err(io("cannot put back"))?;
        if let Some(dir) = self.path.parent() {
            crate::paths::sync_dir(dir).map_err(io("cannot sync the directory of"))?;
        }
        let file = crate::paths::private_open_options()
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(io("cannot reopen"))?;
        lock(&file, &self.path)?;
        self.file = file;
        Ok(aside)
    }
}

/// `Some("unlinked")`, `Some("replaced")` or `Some("unreachable")` when `path` is no longer the
/// open `file`.
#[cfg(unix)]
fn file_changed(file: &File, path: &Path) -> Option<&'static str> {
    use std::os::unix::fs::MetadataExt;
    let open = file.metadata().ok()?;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.dev() == open.dev() && m.ino() == open.ino() => None,
        Ok(_) => Some("replaced"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("unlinked"),
        // E.g. the data directory replaced by a file: the records would go where no reader
        // looks, so this is restored like an unlink, or the log fails closed.
        Err(_) => Some("unreachable"),
    }
}

/// Windows does not let an open log be deleted or replaced (no share-delete).
#[cfg(not(unix))]
fn file_changed(_file: &File, _path: &Path) -> Option<&'static str> {
    None
}
