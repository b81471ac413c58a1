//! The audit library in process: epochs and seals across the 1,024-record boundary, the
//! reader, and a key that is one epoch behind the log.

use holdfast::audit::verify::{VerifyOptions, verify_file};
use holdfast::audit::{AuditLog, Durability, EPOCH_RECORDS, read_records};
use holdfast::paths::Paths;
use holdfast::wire::Peer;

fn paths(dir: &std::path::Path) -> Paths {
    let home = dir.to_path_buf();
    Paths::resolve(&move |k| (k == "HOLDFAST_HOME").then(|| home.clone().into_os_string())).unwrap()
}

const BATCH: Durability = Durability::Batch { every: std::time::Duration::from_secs(60) };

#[test]
fn epochs_seal_every_1024_records_and_verify_with_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let paths = paths(dir.path());
    let (mut log, report) = AuditLog::open(&paths, BATCH).unwrap();
    assert!(report.created);
    assert_eq!(log.durability(), BATCH);
    let key = report.new_verification_key.unwrap();
    let peer = Peer { pid: Some(1), uid: Some(2), addr: None };
    for i in 0..2100 {
        log.append("record", &peer, &serde_json::json!({"raw": format!("echo {i}")})).unwrap();
    }
    log.close().unwrap();
    let head = log.head();
    drop(log);
    let r =
        verify_file(&paths.audit_log(), &VerifyOptions { key: Some(key.clone()), anchor: Some(head.clone()) }).unwrap();
    assert!(r.ok, "{:?}", r.problems);
    assert_eq!(r.seals, 3, "two full epochs and the seal at close");
    let records: Vec<_> = read_records(&paths.audit_log()).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len() as u64, head.seq);
    assert_eq!(records[EPOCH_RECORDS as usize - 1].kind, "seal");
    assert_eq!(records[0].kind, "genesis");
    assert_eq!(records[1].peer, peer);

    // The key one epoch behind (crash between a seal and the key store): ratcheted forward, no damage.
    let key_path = paths.data_dir.join("seal.key");
    let old_key = std::fs::read(&key_path).unwrap();
    let (mut log, _) = AuditLog::open(&paths, BATCH).unwrap();
    log.append("record", &peer, &serde_json::json!({})).unwrap();
    log.close().unwrap();
    drop(log);
    std::fs::write(&key_path, &old_key).unwrap();
    let (mut log, report) = AuditLog::open(&paths, BATCH).unwrap();
    assert!(report.damage.is_empty(), "{:?}", report.damage);
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
    log.append("record", &peer, &serde_json::json!({})).unwrap();
    drop(log);
    let r = verify_file(&paths.audit_log(), &VerifyOptions { key: Some(key), anchor: None }).unwrap();
    assert!(r.ok, "{:?}", r.problems);
}

#[test]
fn a_second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let paths = paths(dir.path());
    let (_log, _) = AuditLog::open(&paths, BATCH).unwrap();
    #[cfg(unix)]
    assert!(matches!(AuditLog::open(&paths, BATCH), Err(holdfast::audit::AuditError::Locked(_))));
}

/// What `verify` reports beyond findings: the head it ended at, its throughput in MB/s, a bare
/// `damage` record, an anchor from another log, and an empty file.
#[test]
fn the_report_names_its_head_throughput_and_what_it_could_not_match() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (pa, pb) = (paths(a.path()), paths(b.path()));
    let (mut log, _) = AuditLog::open(&pa, BATCH).unwrap();
    log.append("damage", &Peer::default(), &serde_json::json!({"problems": []})).unwrap();
    log.close().unwrap();
    let head = log.head();
    drop(log);
    let (mut other, _) = AuditLog::open(&pb, BATCH).unwrap();
    other.close().unwrap();

    let r = verify_file(&pa.audit_log(), &VerifyOptions::default()).unwrap();
    assert_eq!(r.head.as_ref().map(|h| (h.seq, h.hash.clone())), Some((head.seq, head.hash)), "{r:?}");
    assert!(r.mb_per_s > 0.0 && (r.mb_per_s * r.seconds * 1e6 - r.bytes as f64).abs() < 1.0, "{r:?}");
    let whats: Vec<&str> = r.problems.iter().map(|p| p.what.as_str()).collect();
    assert_eq!(whats, ["the daemon recorded damage found at its start: (no details)"]);

    let foreign = VerifyOptions { key: None, anchor: Some(other.head()) };
    let r = verify_file(&pa.audit_log(), &foreign).unwrap();
    assert!(r.problems.iter().any(|p| p.what.contains(&format!("the anchor is log {}", other.head().log_id))), "{r:?}");

    let empty = a.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let r = verify_file(&empty, &VerifyOptions::default()).unwrap();
    assert!(r.head.is_none() && !r.ok, "{r:?}");
    assert_eq!(r.problems[0].what, "the log is empty");
}
