//! [`AuditLog`]: the daemon's single, durable, append-only writer.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use super::chain::{hash_0, next_hash};
use crate::daemon::log::log;
use serde::Serialize;

use super::record::{BODY_START, begin_line, finish_line};
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
}

/// A torn tail moved aside on open.
#[derive(Debug, Clone)]
pub struct Recovered {
    pub bytes: u64,
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
        let scan = recover::scan(&file)?;
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
        };
        if scan.chain.records == 0 && scan.problems.is_empty() {
            log.create(&mut report)?;
        } else {
            log.resume(scan, &mut report)?;
        }
        Ok((log, report))
    }

    /// A new log: fresh log id and `k_0`, key stored before genesis is written.
    fn create(&mut self, report: &mut OpenReport) -> Result<(), AuditError> {
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
            "epoch_secs": EPOCH_SECS,
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
        Ok(())
    }

    /// An existing log: continue the chain from the last line as written.
    fn resume(&mut self, scan: recover::Scan, report: &mut OpenReport) -> Result<(), AuditError> {
        let chain = scan.chain;
        self.next_seq = chain.next_seq;
        self.prev = chain.prev;
        self.in_epoch = chain.in_epoch;
        self.epoch_first = chain.epoch_first;
        self.log_id = chain.log_id.clone().unwrap_or_default();
        let mut damage: Vec<String> = scan.problems.iter().map(|p| p.to_string()).collect();
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
        Ok(seq)
    }

    /// Periodic work: the batch sync, the time-based seal, a pending key store.
    /// Returns how soon it wants to run again.
    pub fn tick(&mut self) -> Option<Duration> {
        if self.broken.is_some() {
            return None;
        }
        if self.in_epoch > 0
            && self.epoch_started.elapsed() >= Duration::from_secs(EPOCH_SECS)
            && let Err(e) = self.seal()
        {
            log!("cannot seal the audit log epoch: {e}");
        }
        if self.key_store_pending {
            self.store_key();
        }
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
        let ts = humantime::format_rfc3339_micros(SystemTime::now()).to_string();
        let seq = self.next_seq;
        let mut line =
            begin_line(seq, &ts, &self.prev, kind, peer, data).map_err(|e| AuditError::Encode(e.to_string()))?;
        let hash = next_hash(&self.prev, &line[BODY_START..]);
        let mac = self.key.mac(&hash);
        finish_line(&mut line, &hash, &mac);
        if let Err(e) = self.file.write_all(&line) {
            self.rollback();
            return Err(AuditError::io(format!("cannot append to {}", self.path.display()), e));
        }
        self.len += line.len() as u64;
        self.next_seq += 1;
        self.prev = hash;
        self.in_epoch += 1;
        Ok(seq)
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
