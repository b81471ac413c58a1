//! Segments under the writer: finding them on open, rolling, compressing, retention.
//!
//! The roll order (each step durable before the next) never loses or forks the chain:
//! 1. the `segment` record, first of segment N+1, is written to `audit.jsonl.next` and synced;
//! 2. `audit.jsonl` is hard-linked to `audit-N.jsonl`; the directory is synced;
//! 3. `audit.jsonl.next` is renamed over `audit.jsonl`; the directory is synced.
//!
//! A crash before 2 leaves a stale `.next` (removed on open; the chain is all in `audit.jsonl`).
//! A crash between 2 and 3 leaves `audit-N.jsonl` and `audit.jsonl` as the same file: open
//! removes the archive link (the roll is undone, nothing was lost). After 3 the roll is whole.
//! The link is synced before the rename so that no power loss can keep the rename without the
//! link (which would lose segment N).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use super::{AuditLog, OpenReport, lock};
use crate::audit::chain::Chain;
use crate::audit::segments::{self, Segment, SegmentData, SegmentPolicy};
use crate::audit::{AuditError, recover};
use crate::daemon::log::log;
use crate::wire::Peer;

/// How often retention and pending compression are looked at without a roll.
const MAINTAIN_EVERY: Duration = Duration::from_secs(60);

/// What open found on disk about segments.
pub(super) struct Survey {
    /// Number of the active segment.
    pub active: u64,
    /// Archived segments, oldest first.
    pub archives: Vec<Segment>,
    /// When the active segment began (its first record), if known.
    pub began: Option<SystemTime>,
}

/// The writer's segment state.
pub(super) struct SegmentCursor {
    /// Number of the active segment.
    pub number: u64,
    /// When the active segment began.
    began: SystemTime,
    /// Sizes, ages, retention and compression in force.
    pub policy: SegmentPolicy,
    /// A roll happened and no checkpoint was written in the new segment yet.
    pub rolled: bool,
    /// Compression of archived segments, off the daemon's thread.
    compressing: Option<JoinHandle<()>>,
    /// When retention and compression were last looked at (`None`: at the next tick).
    maintained: Option<Instant>,
    /// A roll failed: not retried before this.
    retry_at: Option<Instant>,
}

impl SegmentCursor {
    /// The cursor for the active segment open found.
    pub fn new(survey: &Survey) -> Self {
        SegmentCursor {
            number: survey.active,
            began: survey.began.unwrap_or_else(SystemTime::now),
            policy: SegmentPolicy::default(),
            rolled: false,
            compressing: None,
            maintained: None,
            retry_at: None,
        }
    }
}

/// Finds the segments beside `active`, removes a stale `.next` and undoes a roll that stopped
/// between its link and its rename.
pub(super) fn survey(active: &Path, report: &mut OpenReport) -> Result<Survey, AuditError> {
    let io = |what: &str| {
        let what = format!("{what} {}", active.display());
        move |e| AuditError::io(what, e)
    };
    let next = segments::next_path(active);
    if std::fs::symlink_metadata(&next).is_ok() {
        std::fs::remove_file(&next).map_err(io("cannot remove the unfinished roll of"))?;
    }
    let mut archives = segments::archives(active).map_err(io("cannot list the segments of"))?;
    let first = Segment { number: 0, path: active.to_path_buf(), compressed: false }.first_record();
    let number = match first.as_ref().and_then(segments::number_of) {
        Some(n) => n,
        None => archives.last().map_or(1, |s| s.number + 1),
    };
    if let Some(last) = archives.last().filter(|s| s.number == number && !s.compressed)
        && segments::same_file(&last.path, active)
    {
        std::fs::remove_file(&last.path).map_err(io("cannot undo the unfinished roll of"))?;
        crate::paths::sync_dir(active.parent().unwrap_or(Path::new("."))).map_err(io("cannot sync"))?;
        report.notes.push(format!("a roll of segment {number} was interrupted: undone, the log continues in it"));
        archives.pop();
    }
    if let Some(last) = archives.last().filter(|s| s.number >= number) {
        report.damage.push(format!(
            "archived segment {} is not older than the active log {} (segment {number}): segments were moved or replaced",
            last.number,
            active.display()
        ));
    }
    let began = first.and_then(|r| humantime::parse_rfc3339(&r.ts).ok());
    Ok(Survey { active: number, archives, began })
}

/// The chain through every archived segment (no usable checkpoint in the active one): the start
/// of the scan of the active segment. Problems in archives are reported as damage.
pub(super) fn archive_start(archives: &[Segment], report: &mut OpenReport) -> Result<recover::Start, AuditError> {
    use std::io::BufRead;
    let mut chain = Chain::new(None);
    let mut problems = Vec::new();
    for seg in archives {
        let io = |e| AuditError::io(format!("cannot read the archived segment {}", seg.path.display()), e);
        let mut reader = seg.open().map_err(io)?;
        let (mut buf, mut line) = (Vec::new(), 0);
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf).map_err(io)? == 0 {
                break;
            }
            line += 1;
            let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
            chain.check(line, text, &mut problems);
            for p in problems.drain(..) {
                report.damage.push(format!("{}: {p}", seg.path.display()));
            }
        }
    }
    Ok(recover::Start { chain, offset: 0, lines: 0 })
}

impl AuditLog {
    /// Sets how the log is cut into segments and how long archived ones are kept.
    pub fn set_segments(&mut self, policy: SegmentPolicy) {
        self.seg.policy = policy;
        self.seg.maintained = None;
    }

    /// The active segment's number (1 until the first roll).
    pub fn segment(&self) -> u64 {
        self.seg.number
    }

    /// The active segment is missing or empty but archived ones exist: it was deleted (a roll
    /// never leaves the log path missing). The chain continues from the newest archive in a new
    /// segment, and the loss is recorded as damage.
    pub(super) fn continue_after_archives(
        &mut self,
        scan: recover::Scan,
        report: &mut OpenReport,
    ) -> Result<(), AuditError> {
        self.adopt(&scan.chain);
        let lost = self.seg.number;
        report.damage.push(format!(
            "the active audit log {} (segment {lost}) is missing or empty while archived segments exist: it was deleted or replaced; records after seq {} may be lost",
            self.path.display(),
            scan.chain.last_seq()
        ));
        let (line, hash) = self.encode("segment", &Peer::default(), &self.segment_data(lost))?;
        std::io::Write::write_all(&mut self.file, &line)
            .map_err(|e| AuditError::io(format!("cannot write {}", self.path.display()), e))?;
        self.commit(line.len() as u64, hash);
        self.resume_keys(scan, report)
    }

    fn segment_data(&self, number: u64) -> SegmentData {
        SegmentData {
            segment: number,
            log_id: self.log_id.clone(),
            previous_last_seq: self.next_seq - 1,
            epoch: self.key.epoch(),
            in_epoch: self.in_epoch,
            epoch_first: self.epoch_first,
        }
    }

    /// Rolls when the active segment is big or old enough; a failed roll is logged and retried
    /// later (the log goes on in the active segment: nothing is lost).
    pub(super) fn roll_if_due(&mut self) {
        let p = &self.seg.policy;
        let old = self.seg.began.elapsed().is_ok_and(|age| age >= p.segment_age);
        // By age only when something was written since the last checkpoint: an idle log does not churn.
        let old = old && self.ckpt.since > 0;
        if self.broken.is_some() || !(self.len >= p.segment_bytes || old) {
            return;
        }
        if self.seg.retry_at.is_some_and(|at| Instant::now() < at) {
            return;
        }
        if let Err(e) = self.roll() {
            log!("cannot roll the audit log into a new segment: {e} (will retry)");
            self.seg.retry_at = Some(Instant::now() + Duration::from_secs(10));
        }
    }

    /// Rolls the log: see the module doc for the order.
    pub fn roll(&mut self) -> Result<(), AuditError> {
        if self.in_epoch + 1 >= crate::audit::EPOCH_RECORDS {
            self.seal()?;
        }
        self.sync()?;
        let number = self.seg.number + 1;
        let dir = self.path.parent().map(Path::to_path_buf).unwrap_or_default();
        let next = segments::next_path(&self.path);
        let archive = segments::archive_path(&self.path, self.seg.number, false);
        let io = |what: &'static str, p: &Path| {
            let what = format!("{what} {}", p.display());
            move |e| AuditError::io(what, e)
        };
        let _ = std::fs::remove_file(&next);
        let file = crate::paths::private_open_options()
            .read(true)
            .append(true)
            .create_new(true)
            .open(&next)
            .map_err(io("cannot create", &next))?;
        let undo = |links: &[&PathBuf]| links.iter().for_each(|p| drop(std::fs::remove_file(p)));
        let (line, hash) = self.encode("segment", &Peer::default(), &self.segment_data(number))?;
        let step = lock(&file, &next)
            .and_then(|()| std::io::Write::write_all(&mut &file, &line).map_err(io("cannot write", &next)))
            .and_then(|()| file.sync_all().map_err(io("cannot sync", &next)));
        if let Err(e) = step {
            undo(&[&next]);
            return Err(e);
        }
        if let Err(e) = std::fs::hard_link(&self.path, &archive).map_err(io("cannot link the segment", &archive)) {
            undo(&[&next]);
            return Err(e);
        }
        // The archive link must be durable before the rename can be.
        let synced = crate::paths::sync_dir(&dir).map_err(io("cannot sync", &dir));
        if let Err(e) = synced {
            undo(&[&archive, &next]);
            return Err(e);
        }
        // Windows renames over no file that is open (here, by this writer): close it first.
        let file = self.swap_for_rename(file);
        if let Err(e) = std::fs::rename(&next, &self.path).map_err(io("cannot rename over", &self.path)) {
            undo(&[&archive, &next]);
            self.reopen_after_failed_rename(&e);
            return Err(e);
        }
        if let Err(e) = crate::paths::sync_dir(&dir) {
            // Both names are right in the directory; a power loss may undo the rename, which open handles.
            log!("cannot sync {} after a roll: {e}", dir.display());
        }
        if let Some(file) = file {
            self.file = file;
        }
        self.len = 0;
        self.ckpt.lines = 0;
        self.commit(line.len() as u64, hash);
        self.seg.number = number;
        self.seg.began = SystemTime::now();
        self.seg.rolled = true;
        self.seg.maintained = None;
        Ok(())
    }

    /// Unix: keeps the active file open through the rename and hands back the new one. Windows:
    /// makes the new segment's handle the writer's file now, closing the active one.
    fn swap_for_rename(&mut self, next: File) -> Option<File> {
        if cfg!(windows) {
            drop(std::mem::replace(&mut self.file, next));
            None
        } else {
            Some(next)
        }
    }

    /// Windows, after a failed rename: the active file was closed for it; open it again so the
    /// log goes on where it was (failing that, the writer is broken and answers fail closed).
    fn reopen_after_failed_rename(&mut self, why: &AuditError) {
        if !cfg!(windows) {
            return;
        }
        match crate::paths::private_open_options().read(true).append(true).open(&self.path) {
            Ok(f) => self.file = f,
            Err(e) => {
                log!("cannot reopen {} after a failed roll ({why}): {e}", self.path.display());
                self.broken = Some(format!("cannot reopen the audit log after a failed roll: {e}"));
            }
        }
    }

    /// Retention, then compression of archived segments, at most every [`MAINTAIN_EVERY`] or
    /// right after a roll; never while a compression runs (it could resurrect a removed segment).
    pub(super) fn maintain(&mut self) {
        if self.seg.maintained.is_some_and(|t| t.elapsed() < MAINTAIN_EVERY) {
            return;
        }
        if let Some(h) = self.seg.compressing.take() {
            if !h.is_finished() {
                self.seg.compressing = Some(h);
                return;
            }
            let _ = h.join();
        }
        self.seg.maintained = Some(Instant::now());
        if let Err(e) = self.retention() {
            log!("audit log retention failed: {e}");
        }
        if !self.seg.policy.compress {
            return;
        }
        let plain: Vec<Segment> = match segments::archives(&self.path) {
            Ok(list) => list.into_iter().filter(|s| !s.compressed && s.number < self.seg.number).collect(),
            Err(e) => return log!("cannot list the audit log segments: {e}"),
        };
        if plain.is_empty() {
            return;
        }
        let active = self.path.clone();
        let spawned = std::thread::Builder::new().name("holdfast-compress".into()).spawn(move || {
            for seg in &plain {
                if let Err(e) = segments::compress(seg, &active) {
                    log!("cannot compress the audit log segment {}: {e}", seg.path.display());
                }
            }
        });
        match spawned {
            Ok(h) => self.seg.compressing = Some(h),
            Err(e) => log!("cannot start compressing audit log segments: {e}"),
        }
    }

    /// Waits for a running compression (tests, benches, and before a clean exit if wanted).
    pub fn wait_for_compression(&mut self) {
        if let Some(h) = self.seg.compressing.take() {
            let _ = h.join();
        }
    }

    /// Removes the oldest archived segments beyond `retain_segments`, or whose last record is
    /// older than `retain_days`. The `retention` record comes first, synced; then the files go.
    fn retention(&mut self) -> Result<(), AuditError> {
        let p = self.seg.policy;
        if p.retain_segments == 0 && p.retain_days == 0 {
            return Ok(());
        }
        let io = |e| AuditError::io("cannot list the audit log segments", e);
        let archives: Vec<Segment> =
            segments::archives(&self.path).map_err(io)?.into_iter().filter(|s| s.number < self.seg.number).collect();
        let over = archives.len().saturating_sub(p.retain_segments as usize);
        let cutoff = SystemTime::now().checked_sub(Duration::from_secs(p.retain_days.saturating_mul(86_400)));
        // Each segment's first record: its first seq; the next one's time is when it ended.
        let mut firsts: Vec<Option<(u64, String)>> =
            archives.iter().map(|s| s.first_record().map(|r| (r.seq, r.ts))).collect();
        let active_first = Segment { number: self.seg.number, path: self.path.clone(), compressed: false }
            .first_record()
            .map(|r| (r.seq, r.ts));
        firsts.push(active_first);
        let mut removed = Vec::new();
        for (i, seg) in archives.iter().enumerate() {
            let ended = firsts[i + 1].as_ref().and_then(|(_, ts)| humantime::parse_rfc3339(ts).ok());
            let too_old = p.retain_days > 0 && matches!((ended, cutoff), (Some(e), Some(c)) if e < c);
            let (Some((first, _)), Some((next_first, _))) = (&firsts[i], &firsts[i + 1]) else { break };
            let too_many = p.retain_segments > 0 && i < over;
            if !(too_many || too_old) {
                break;
            }
            removed.push((seg, *first, next_first.saturating_sub(1)));
        }
        let Some(&(last, _, last_seq)) = removed.last() else { return Ok(()) };
        let list: Vec<_> = removed
            .iter()
            .map(|(s, first, last)| json!({"segment": s.number, "first_seq": first, "last_seq": last}))
            .collect();
        let data = json!({
            "removed": list,
            "history_starts": {"segment": last.number + 1, "seq": last_seq + 1},
            "retain_segments": p.retain_segments,
            "retain_days": p.retain_days,
        });
        self.append("retention", &Peer::default(), &data)?;
        self.sync()?;
        for (seg, _, _) in &removed {
            // Both forms: a crash between compressing a segment and removing its plain file leaves
            // two, and a compressed copy left behind would come back as history with a gap after it.
            for compressed in [false, true] {
                let path = segments::archive_path(&self.path, seg.number, compressed);
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        log!("cannot remove the audit log segment {}: {e}", path.display());
                    }
                    _ => {}
                }
            }
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        crate::paths::sync_dir(dir).map_err(|e| AuditError::io("cannot sync the data directory", e))
    }
}
