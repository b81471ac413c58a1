//! Daemon side of the audit log: opening it, the one `append` seam every request kind
//! uses, the `record`/`observe`/`log_head` handlers, start and stop records.
//!
//! A new log's verification key `k0` is handed over in a plaintext file in the config dir: the
//! daemon has no admin password, so it cannot wrap `k0` into the vault, and it never writes the
//! vault. `holdfast vault init` / `vault wrap-key` wrap the file and delete it
//! (`holdfast::vault::handover`); until then `status.vault` says so when a vault exists.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use super::Daemon;
use super::log::log;
use crate::audit::{AuditError, AuditLog, Checkpoint, Durability, VerificationKey};
use crate::paths::Paths;
use crate::transport::{FrameError, Service};
use crate::wire::{Ack, ErrorCode, Peer, Proposal, ResponseBody, WireError};

/// An opened log (if it could be), the damage found, and the checkpoint to replay from.
pub(super) type Opened = (Option<AuditLog>, Vec<String>, Option<Checkpoint>);

/// Shortest time between two attempts to reopen an unusable audit log.
const LOG_RETRY: Duration = Duration::from_millis(200);

/// Opens the log. A lock held by another daemon is fatal; any other failure leaves the
/// daemon running without a log, refusing every request that needs a record.
pub(super) fn open_log(paths: &Paths, durability: Durability) -> anyhow::Result<Opened> {
    match AuditLog::open(paths, durability) {
        Ok((mut log, mut report)) => {
            if let Some(secs) = seal_secs() {
                log.set_seal_interval(secs);
            }
            if let Some(key) = &report.new_verification_key {
                deliver_verification_key(paths, key, &log.head().log_id)?;
            }
            if let Some(r) = &report.recovered {
                log!(
                    "recovered the audit log: a torn last write ({} bytes) was moved to {}",
                    r.bytes,
                    r.quarantine.display()
                );
            }
            for note in &report.notes {
                log!("audit log: {note}");
            }
            for d in &report.damage {
                log!("AUDIT LOG DAMAGE: {d}");
            }
            Ok((Some(log), report.damage, report.checkpoint.take()))
        }
        Err(e @ AuditError::Locked(_)) => Err(e.into()),
        Err(e) => {
            let why = format!("the audit log cannot be opened ({e}); every request that needs a record is refused");
            log!("{why}");
            Ok((None, vec![why], None))
        }
    }
}

/// Longest seal interval `HOLDFAST_SEAL_SECS` may set; the default is `audit::EPOCH_SECS`.
const MAX_SEAL_SECS: u64 = 900;

/// `HOLDFAST_SEAL_SECS` (1..=900): the time-based seal interval, for tuning and tests.
fn seal_secs() -> Option<u64> {
    let secs = std::env::var("HOLDFAST_SEAL_SECS").ok()?.trim().parse().ok()?;
    Some(secs).filter(|s| (1..=MAX_SEAL_SECS).contains(s))
}

/// Delivers `k_0` of a new log: written once, 0600, to `config_dir/verification.key` (never
/// over an existing file: an older log's key goes to `verification-<log id>.key` instead).
///
/// The daemon never holds the admin password, so it cannot wrap `k_0` into the vault itself
/// (`seal_wrap` needs `K = Argon2id(password, salt)`), and it never writes the vault file. The
/// plaintext file is the hand-over: `holdfast vault init` (no vault yet) or `holdfast vault
/// wrap-key` (a vault exists) wraps it under the password and deletes it.
fn deliver_verification_key(paths: &Paths, key: &VerificationKey, log_id: &str) -> anyhow::Result<()> {
    let mut path: PathBuf = paths.config_dir.join("verification.key");
    if path.exists() {
        path = paths.config_dir.join(format!("verification-{log_id}.key"));
    }
    crate::audit::write_verification_key(&path, key)?;
    log!("new audit log {log_id}. Its verification key is in {}", path.display());
    if std::fs::symlink_metadata(paths.vault()).is_ok() {
        log!(
            "an admin vault exists, but the daemon cannot wrap the key without the admin password: \
             run `holdfast vault wrap-key` now (it wraps the key into the vault and deletes the file; \
             `holdfast status` reminds you until then)."
        );
    } else {
        log!(
            "`holdfast vault init` wraps it under a new admin password and deletes the file; or MOVE IT \
             OFFLINE (password manager, USB stick) and delete it here: whoever holds it can check every seal \
             (`holdfast log verify --key-file FILE`); left next to the log it protects nothing."
        );
    }
    Ok(())
}

impl Daemon {
    /// Appends an audit record: the one seam every request kind uses. Nothing may be
    /// acknowledged or allowed unless this returned `Ok` (fail closed).
    pub(crate) fn append<D: Serialize + ?Sized>(
        &mut self,
        kind: &str,
        peer: &Peer,
        data: &D,
    ) -> Result<u64, WireError> {
        self.ensure_log();
        // The start record comes first: retried before any other record until it is written.
        if let Some(endpoint) = self.start_pending.take() {
            self.record_start(&endpoint);
            if self.start_pending.is_some() {
                return Err(unwritable("the daemon_start record could not be written"));
            }
        }
        let Some(log) = self.audit.as_mut() else {
            return Err(unwritable("the log is not open"));
        };
        match log.append(kind, peer, data) {
            Ok(seq) => Ok(seq),
            Err(e) => {
                log!("audit append failed: {e}");
                Err(unwritable(&e.to_string()))
            }
        }
    }

    /// (Re)opens the audit log when it is not usable: it could not be opened at start (a full
    /// disk), or a write failed in a way that could not be undone. At most every [`LOG_RETRY`],
    /// so a flood of proposals while the disk is full does not rescan the log for each.
    /// Reopening re-reads the chain from the file, so it continues from what is on disk.
    pub(super) fn ensure_log(&mut self) {
        if self.audit.as_ref().is_some_and(|l| !l.is_broken()) {
            return;
        }
        if self.log_retry.is_some_and(|at| Instant::now() < at) {
            return;
        }
        self.reopen_log();
    }

    /// Drops the open log (releasing its lock) and opens it again from the file.
    pub(super) fn reopen_log(&mut self) {
        self.log_retry = Some(Instant::now() + LOG_RETRY);
        let never_opened = !self.log_opened;
        self.audit = None;
        match open_log(&self.paths, self.durability) {
            Ok((Some(log), damage, checkpoint)) => {
                self.audit = Some(log);
                self.apply_audit_policy();
                self.log_damage = damage;
                self.log_opened = true;
                log!("the audit log is open again");
                // State is rebuilt from the log once; a reopened log's records are already applied.
                if never_opened {
                    self.replay(checkpoint);
                    self.ingest_offline();
                }
            }
            Ok((None, damage, _)) => self.log_damage = damage,
            Err(e) => log!("cannot reopen the audit log: {e}"),
        }
    }

    /// Gives the open log the global policy's `[audit]` settings (segments, retention, compression).
    pub(super) fn apply_audit_policy(&mut self) {
        if let Some(log) = self.audit.as_mut() {
            log.set_segments(self.policy.audit);
        }
    }

    /// `record`: a command a human already ran.
    pub(super) fn record(&mut self, p: Proposal, peer: &Peer) -> ResponseBody {
        if let Err(e) = super::propose::validate(&p) {
            return ResponseBody::Error(e);
        }
        match self.append("record", peer, &p) {
            Ok(seq) => {
                self.bypass.note_command(&p.cwd, &p.raw, std::time::Instant::now());
                ResponseBody::Ack(Ack { seq: Some(seq), ..Default::default() })
            }
            Err(e) => ResponseBody::Error(e),
        }
    }

    /// `log_head`: the external anchor.
    pub(super) fn log_head(&self) -> ResponseBody {
        match &self.audit {
            Some(log) => ResponseBody::LogHead(log.head()),
            None => ResponseBody::Error(unwritable("the log is not open")),
        }
    }

    /// Writes `daemon_start`; when it cannot be written (a full disk), the next append retries it.
    pub(super) fn record_start(&mut self, endpoint: &str) {
        let data = json!({
            "version": crate::VERSION,
            "pid": std::process::id(),
            "endpoint": endpoint,
            "durability": self.durability.to_string(),
        });
        if let Err(e) = self.append("daemon_start", &Peer::default(), &data) {
            log!("{}", e.message);
            self.start_pending = Some(endpoint.to_string());
        }
    }

    /// Writes `daemon_stop`, seals the epoch and syncs.
    pub(super) fn record_stop(&mut self) {
        let data = json!({
            "pid": std::process::id(),
            "uptime_s": self.started.elapsed().as_secs(),
            "requests": self.requests,
        });
        if let Err(e) = self.append("daemon_stop", &Peer::default(), &data) {
            log!("{}", e.message);
        }
        // The next start reads only the records after this.
        self.write_checkpoint();
        if let Some(log) = self.audit.as_mut()
            && let Err(e) = log.close()
        {
            log!("cannot seal the audit log at stop: {e}");
        }
    }
}

impl Service for Daemon {
    fn handle(&mut self, frame: Result<Vec<u8>, FrameError>, peer: &Peer) -> Option<Vec<u8>> {
        self.handle_guarded(frame, peer)
    }

    /// Batch syncs, time-based seals, SIGHUP reloads and the expiry sweep.
    fn idle(&mut self) -> Option<Duration> {
        self.housekeeping();
        self.checkpoint_if_due();
        if let Some(why) = self.audit.as_mut().and_then(AuditLog::check_file) {
            eprintln!("holdfast: AUDIT LOG DAMAGE: {why}");
            self.log_damage.push(why);
        }
        self.audit.as_mut().and_then(AuditLog::tick)
    }

    fn refused(&mut self, peer: &Peer, why: crate::transport::tcp::Refusal) {
        self.tcp_refused(peer, why);
    }
}

fn unwritable(why: &str) -> WireError {
    WireError::new(
        ErrorCode::Unavailable,
        format!("the audit log cannot be written ({why}); nothing was recorded or allowed"),
    )
}
