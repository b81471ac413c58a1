//! The tamper gaps of a running or stopped daemon: a log deleted while stopped, unlinked or
//! replaced while running, and the time-based seal that shortens the current key's window.
#![cfg(unix)]
#[path = "support/daemon.rs"]
mod daemon;

use std::process::Stdio;
use std::time::Duration;

use daemon::{Daemon, Home};
use holdfast::wire::{Proposal, RequestBody, ResponseBody};

fn record(d: &Daemon, raw: &str) -> u64 {
    let p = Proposal { agent: "test".into(), cwd: daemon::abs_cwd(), raw: raw.into(), ..Default::default() };
    match d.request(RequestBody::Record(p)) {
        ResponseBody::Ack(a) => a.seq.expect("ack carries a seq"),
        other => panic!("expected ack, got {other:?}"),
    }
}

fn damage(d: &Daemon) -> Vec<String> {
    match d.request(RequestBody::Status) {
        ResponseBody::Status(s) => s.log_damage,
        other => panic!("{other:?}"),
    }
}

fn kinds(home: &Home) -> Vec<(u64, String, String)> {
    holdfast::audit::read_records(&home.paths().audit_log())
        .unwrap()
        .map(Result::unwrap)
        .map(|r| (r.seq, r.kind, r.data.to_string()))
        .collect()
}

/// `log verify` with the verification key: (exit code, stdout).
fn verify(home: &Home) -> (i32, String) {
    let key = home.paths().config_dir.join("verification.key");
    let out = home.run(&["log", "verify", "--key-file", key.to_str().unwrap()], "");
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_log_deleted_while_stopped_is_damage_not_a_fresh_start() {
    let home = Home::new();
    let d = home.daemon(&[]);
    record(&d, "echo one");
    d.terminate();
    std::fs::remove_file(home.paths().audit_log()).unwrap();
    let d = home.daemon(&[]);
    let found = damage(&d);
    assert!(found.iter().any(|p| p.contains("missing or empty") && p.contains("deleted or replaced")), "{found:?}");
    d.terminate();
    let records = kinds(&home);
    assert_eq!(records[0].1, "genesis");
    assert!(records.iter().any(|(_, k, data)| k == "damage" && data.contains("missing or empty")), "{records:?}");
    let (code, out) = verify(&home);
    assert_eq!(code, 8, "{out}");
    assert!(out.contains("missing or empty"), "{out}");
    // A log that never existed is a quiet first start.
    let fresh = Home::new();
    let d = fresh.daemon(&[]);
    assert!(damage(&d).is_empty());
}

/// Runs `change` on the log of a running daemon that wrote a few records; returns the home,
/// the daemon and the seq of the last record written before.
fn change_while_running(change: impl FnOnce(&Home)) -> (Home, Daemon, u64) {
    let home = Home::new();
    let d = home.daemon(&[]);
    for i in 0..5 {
        record(&d, &format!("echo {i}"));
    }
    let last = record(&d, "echo last");
    change(&home);
    daemon::wait_for(Duration::from_secs(10), || !damage(&d).is_empty());
    (home, d, last)
}

/// The log on disk holds every record, continuous, and a damage record saying `what`.
fn assert_restored(home: &Home, d: Daemon, last: u64, what: &str) {
    let after = record(&d, "echo after");
    assert!(after > last);
    d.terminate();
    let records = kinds(home);
    let seqs: Vec<u64> = records.iter().map(|r| r.0).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "no record lost");
    assert!(records.iter().any(|(s, k, data)| *s > last && k == "damage" && data.contains(what)), "{records:?}");
    assert!(records.iter().any(|(s, k, _)| *s == after && k == "record"));
    let (code, out) = verify(home);
    assert_eq!(code, 8, "{out}");
    // The only finding is the recorded damage: the chain and every MAC are intact.
    assert!(out.contains(what) && !out.contains("does not match") && !out.contains("MAC does not"), "{out}");
}

#[test]
fn a_log_unlinked_while_running_is_reported_and_restored() {
    let (home, d, last) = change_while_running(|home| std::fs::remove_file(home.paths().audit_log()).unwrap());
    let found = damage(&d);
    assert!(found.iter().any(|p| p.contains("unlinked")), "{found:?}");
    assert_restored(&home, d, last, "unlinked");
}

#[test]
fn a_log_replaced_while_running_is_reported_and_the_replacement_kept_aside() {
    let (home, d, last) = change_while_running(|home| {
        let fake = home.paths().data_dir.join("fake.jsonl");
        std::fs::write(&fake, "forged\n").unwrap();
        std::fs::rename(&fake, home.paths().audit_log()).unwrap();
    });
    let found = damage(&d);
    assert!(found.iter().any(|p| p.contains("replaced")), "{found:?}");
    let aside: Vec<_> = std::fs::read_dir(home.paths().data_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".replaced-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(std::fs::read_to_string(&aside[0]).unwrap(), "forged\n");
    assert_restored(&home, d, last, "replaced");
}

#[test]
fn epochs_are_sealed_by_time() {
    let home = Home::new();
    let child = home
        .cmd()
        .arg("daemon")
        .env("HOLDFAST_SEAL_SECS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let d = Daemon { child, client: home.client() };
    d.wait_ready();
    let seq = record(&d, "echo sealed soon");
    // The seal is on disk first, then the ratcheted key is stored.
    let key_epoch = || {
        let key: serde_json::Value =
            serde_json::from_slice(&std::fs::read(home.paths().data_dir.join("seal.key")).unwrap()).unwrap();
        key["epoch"].as_u64().unwrap()
    };
    daemon::wait_for(Duration::from_secs(10), || {
        kinds(&home).iter().any(|(s, k, _)| *s > seq && k == "seal") && key_epoch() >= 1
    });
    d.terminate();
    assert_eq!(verify(&home).0, 0);
}
