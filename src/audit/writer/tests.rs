//! The writer's own bookkeeping, in process: batch syncs and `tick`, the time-based seal, what a
//! reopen reports, and where a checkpoint says its record is.

use std::time::{Duration, Instant};

use serde_json::json;

use super::AuditLog;
use crate::audit::{Durability, read_records};
use crate::paths::Paths;
use crate::wire::Peer;

const MINUTE: Duration = Duration::from_secs(60);

fn paths(dir: &std::path::Path) -> Paths {
    let home = dir.to_path_buf();
    Paths::resolve(&move |k| (k == "HOLDFAST_HOME").then(|| home.clone().into_os_string())).unwrap()
}

fn open(paths: &Paths, durability: Durability) -> (AuditLog, super::OpenReport) {
    AuditLog::open(paths, durability).unwrap()
}

/// Appends a record; fails at once (rather than loop for ever) if the append wrote nothing.
fn record(log: &mut AuditLog) -> u64 {
    let before = log.head().seq;
    let seq = log.append("record", &Peer::default(), &json!({"raw": "echo"})).unwrap();
    assert!(seq > before && log.head().seq == seq, "append wrote no record: seq {seq} after {before}");
    seq
}

fn ago(d: Duration) -> Instant {
    Instant::now().checked_sub(d).unwrap()
}

/// Batch durability: a record waits for the interval, and the sync comes once it has passed.
#[test]
fn batch_appends_sync_once_the_interval_has_passed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(&paths(dir.path()), Durability::Batch { every: MINUTE });
    record(&mut log);
    assert!(log.dirty, "within the interval a batch append does not sync");
    log.last_sync = ago(2 * MINUTE);
    record(&mut log);
    assert!(!log.dirty, "an append after the interval syncs");
}

/// `tick` in batch mode: says how long until the sync is due, syncs when it is, then asks for nothing.
#[test]
fn tick_syncs_a_batch_when_due_and_asks_again_only_while_dirty() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _) = open(&paths(dir.path()), Durability::Batch { every: MINUTE });
    record(&mut log);
    let wait = log.tick().expect("a dirty batch asks to be ticked again");
    assert!(wait > Duration::ZERO && wait <= MINUTE, "{wait:?}");
    assert!(log.dirty);
    log.last_sync = ago(2 * MINUTE);
    assert_eq!(log.tick(), None);
    assert!(!log.dirty, "the tick after the interval synced");
    assert_eq!(log.tick(), None, "nothing to sync, nothing to wait for");
}

/// The time-based seal closes an epoch that has records, and neither it nor `close` seals an empty one.
#[test]
fn tick_seals_an_epoch_with_records_once_it_is_old_enough() {
    let dir = tempfile::tempdir().unwrap();
    let paths = paths(dir.path());
    let (mut log, _) = open(&paths, Durability::Always);
    log.set_seal_interval(2);
    record(&mut log);
    log.epoch_started = ago(Duration::from_secs(1));
    log.tick();
    assert_eq!(log.in_epoch, 2, "genesis and the record: the epoch is younger than the interval");
    log.epoch_started = ago(Duration::from_secs(2));
    let before = log.head().seq;
    log.tick();
    assert_eq!((log.head().seq, log.in_epoch), (before + 1, 0), "a seal was written");
    log.epoch_started = ago(Duration::from_secs(2));
    log.tick();
    assert_eq!(log.head().seq, before + 1, "an empty epoch is not sealed");
    log.close().unwrap();
    assert_eq!(log.head().seq, before + 1, "nor at close");
    let kinds: Vec<String> = read_records(&paths.audit_log()).unwrap().map(|r| r.unwrap().kind).collect();
    assert_eq!(kinds, ["genesis", "record", "seal"]);
}

/// A clean reopen reports nothing; a sealing key from another log is damage, and sealing goes on
/// with a new key.
#[test]
fn a_clean_reopen_reports_nothing_and_another_logs_key_is_damage() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (pa, pb) = (paths(a.path()), paths(b.path()));
    for p in [&pa, &pb] {
        let (mut log, _) = open(p, Durability::Always);
        record(&mut log);
        log.close().unwrap();
    }
    let (log, report) = open(&pa, Durability::Always);
    assert!(report.notes.is_empty() && report.damage.is_empty(), "{report:?}");
    drop(log);
    std::fs::copy(pb.data_dir.join("seal.key"), pa.data_dir.join("seal.key")).unwrap();
    let (_log, report) = open(&pa, Durability::Always);
    assert!(report.damage.iter().any(|d| d.contains("belongs to another log")), "{report:?}");
}

/// Lines of `paths`' log whose record has `kind`, as JSON.
fn records_of(paths: &Paths, kind: &str) -> Vec<serde_json::Value> {
    read_records(&paths.audit_log()).unwrap().map(|r| r.unwrap()).filter(|r| r.kind == kind).map(|r| r.data).collect()
}

/// A `damage` record lists at most 20 problems and counts the rest.
#[test]
fn a_damage_record_lists_twenty_problems_and_counts_the_rest() {
    for (edited, listed, more) in [(1, 1, None), (30, 20, Some(10))] {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(dir.path());
        let (mut log, _) = open(&paths, Durability::Always);
        for _ in 0..40 {
            record(&mut log);
        }
        drop(log);
        let text = std::fs::read_to_string(paths.audit_log()).unwrap();
        // Editing a body breaks only that record's own hash: one problem per edited record.
        let edited_text = text.replacen("\"raw\":\"echo\"", "\"raw\":\"ecHo\"", edited);
        std::fs::write(paths.audit_log(), edited_text).unwrap();
        let (_log, report) = open(&paths, Durability::Always);
        assert_eq!(report.damage.len(), edited, "{:?}", report.damage);
        let damage = records_of(&paths, "damage");
        assert_eq!(damage[0]["problems"].as_array().unwrap().len(), listed);
        assert_eq!(damage[0]["more_problems"].as_u64(), more, "{damage:?}");
    }
}

/// A checkpoint names the line of its own record, also after a reopen.
#[test]
fn a_checkpoint_after_a_reopen_names_its_own_line() {
    let dir = tempfile::tempdir().unwrap();
    let paths = paths(dir.path());
    let (mut log, _) = open(&paths, Durability::Always);
    for _ in 0..5 {
        record(&mut log);
    }
    drop(log);
    let (mut log, _) = open(&paths, Durability::Always);
    record(&mut log);
    let state = serde_json::value::RawValue::from_string("{}".into()).unwrap();
    assert_eq!(log.checkpoint(&state).unwrap(), log.head().seq, "the checkpoint record's seq");
    assert_eq!(sidecar_line(&paths), lines_in(&paths));
    // Reopened from that checkpoint, the count goes on from the checkpoint's line.
    record(&mut log);
    drop(log);
    let (mut log, report) = open(&paths, Durability::Always);
    assert!(report.checkpoint.is_some(), "{report:?}");
    record(&mut log);
    log.checkpoint(&state).unwrap();
    assert_eq!(sidecar_line(&paths), lines_in(&paths));
}

fn lines_in(paths: &Paths) -> u64 {
    std::fs::read_to_string(paths.audit_log()).unwrap().lines().count() as u64
}

fn sidecar_line(paths: &Paths) -> u64 {
    let sidecar = std::fs::read(crate::audit::checkpoint::sidecar_path(&paths.data_dir)).unwrap();
    serde_json::from_slice::<serde_json::Value>(&sidecar).unwrap()["line"].as_u64().unwrap()
}

/// A deleted log beside its sealing key is damage; a torn first genesis beside the key that the
/// same first start wrote is not.
#[test]
fn a_deleted_log_is_damage_but_a_crash_in_the_first_genesis_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let paths = paths(dir.path());
    let (mut log, _) = open(&paths, Durability::Always);
    record(&mut log);
    drop(log);
    std::fs::remove_file(paths.audit_log()).unwrap();
    let (_log, report) = open(&paths, Durability::Always);
    assert!(report.created && report.damage.iter().any(|d| d.contains("missing or empty")), "{report:?}");

    let first_dir = tempfile::tempdir().unwrap();
    let first = self::paths(first_dir.path());
    drop(open(&first, Durability::Always));
    let genesis = std::fs::read(first.audit_log()).unwrap();
    std::fs::write(first.audit_log(), &genesis[..genesis.len() / 2]).unwrap();
    let (_log, report) = open(&first, Durability::Always);
    assert!(report.created && report.recovered.is_some() && report.damage.is_empty(), "{report:?}");
}

/// A checkpoint falls due after [`CHECKPOINT_RECORDS`](crate::audit::checkpoint::CHECKPOINT_RECORDS)
/// records, counted across a reopen.
#[test]
fn a_checkpoint_falls_due_after_its_record_count() {
    let dir = tempfile::tempdir().unwrap();
    let paths = paths(dir.path());
    let batch = Durability::Batch { every: MINUTE };
    let (mut log, _) = open(&paths, batch);
    let every = crate::audit::checkpoint::CHECKPOINT_RECORDS;
    for _ in 0..every / 2 {
        record(&mut log);
    }
    log.close().unwrap();
    drop(log);
    let (mut log, _) = open(&paths, batch);
    while log.head().seq < every - 1 {
        assert!(!log.checkpoint_due(), "due at seq {}", log.head().seq);
        record(&mut log);
    }
    record(&mut log);
    assert!(log.checkpoint_due(), "not due at seq {}", log.head().seq);
}

/// A write that fails and cannot be cut back breaks the handle: it says so, and writes nothing more.
#[test]
fn a_write_that_cannot_be_undone_breaks_the_handle() {
    let dir = tempfile::tempdir().unwrap();
    let paths = paths(dir.path());
    let (mut log, _) = open(&paths, Durability::Always);
    assert!(!log.is_broken());
    // A read-only handle: the write fails, and so does cutting the file back.
    log.file = std::fs::File::open(paths.audit_log()).unwrap();
    assert!(log.append("record", &Peer::default(), &json!({})).is_err());
    assert!(log.is_broken());
    assert!(matches!(log.append("record", &Peer::default(), &json!({})), Err(crate::audit::AuditError::Broken(_))));
}

/// A checkpoint that would overfill the epoch seals it first; one in a young epoch does not.
#[test]
fn a_checkpoint_seals_a_full_epoch_first() {
    let dir = tempfile::tempdir().unwrap();
    let paths = paths(dir.path());
    let (mut log, _) = open(&paths, Durability::Batch { every: MINUTE });
    let full = crate::audit::EPOCH_RECORDS;
    for _ in 0..full {
        if log.in_epoch + 1 >= full {
            break;
        }
        record(&mut log);
    }
    assert_eq!(log.in_epoch + 1, full, "the epoch counts its records and is sealed only when full");
    let state = serde_json::value::RawValue::from_string("{}".into()).unwrap();
    let before = log.head().seq;
    assert_eq!(log.checkpoint(&state).unwrap(), before + 2, "a seal, then the checkpoint");
    assert_eq!(log.checkpoint(&state).unwrap(), before + 3, "no seal in a young epoch");
    let kinds: Vec<String> = read_records(&paths.audit_log()).unwrap().map(|r| r.unwrap().kind).collect();
    assert_eq!(kinds[kinds.len() - 3..], ["seal", "checkpoint", "checkpoint"]);
}

/// `check_file` looks at the path at most every `FILE_CHECK_EVERY`, and never on a broken handle.
#[cfg(unix)]
#[test]
fn the_log_file_is_checked_at_most_every_interval_and_never_once_broken() {
    let dir = tempfile::tempdir().unwrap();
    let paths = paths(dir.path());
    let (mut log, _) = open(&paths, Durability::Always);
    log.file_checked = Instant::now();
    std::fs::remove_file(paths.audit_log()).unwrap();
    assert_eq!(log.check_file(), None, "checked again within the interval");
    log.broken = Some("broken".into());
    log.file_checked = ago(MINUTE);
    assert_eq!(log.check_file(), None, "a broken handle restores nothing");
    assert!(!paths.audit_log().exists());
    log.broken = None;
    let why = log.check_file().expect("an unlinked log is found once the interval passed");
    assert!(why.contains("unlinked") && why.contains("restored"), "{why}");
    assert!(paths.audit_log().exists());
}

/// A log path that no longer resolves (its directory replaced by a file) is not ignored: the
/// copy cannot be put back there, so the log fails closed and says why.
#[cfg(unix)]
#[test]
fn a_log_whose_path_no_longer_resolves_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let paths = paths(dir.path());
    let (mut log, _) = open(&paths, Durability::Always);
    let not_a_dir = dir.path().join("not-a-dir");
    std::fs::write(&not_a_dir, "").unwrap();
    log.path = not_a_dir.join("audit.jsonl");
    log.file_checked = ago(MINUTE);
    let why = log.check_file().expect("an unreachable path is found");
    assert!(why.contains("unreachable") && why.contains("cannot be restored"), "{why}");
    assert!(log.is_broken());
}
