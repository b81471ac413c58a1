//! Checkpoints through the real binary: a start restores the checkpoint's state and replays only
//! what follows; a checkpoint that is removed or does not verify is never trusted (full replay,
//! reported), and the state after a restart is the same either way.
#[path = "support/daemon.rs"]
mod daemon;

use daemon::{Daemon, Home};
use holdfast::wire::{Decide, PendingRef, Proof, Proposal, RequestBody, ResponseBody, Verdict};
use serde_json::{Value, json};

const FILES: [&str; 3] = ["audit.jsonl", "seal.key", "checkpoint.json"];

fn propose(d: &Daemon, raw: &str) -> Verdict {
    let p = Proposal { agent: "test".into(), cwd: daemon::abs_cwd(), raw: raw.into(), ..Default::default() };
    match d.request(RequestBody::Propose(p)) {
        ResponseBody::Verdict(v) => v,
        other => panic!("expected a verdict for {raw:?}, got {other:?}"),
    }
}

fn decide(d: &Daemon, id: &str, allow: bool) {
    let decide = Decide { pending: id.into(), remember: true, proof: Proof::default() };
    let r = d.request(if allow { RequestBody::Approve(decide) } else { RequestBody::Deny(decide) });
    assert!(matches!(r, ResponseBody::Pending(_)), "{r:?}");
}

fn records(home: &Home, kind: &str) -> Vec<Value> {
    holdfast::audit::read_records(&home.paths().audit_log())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|r| r.kind == kind)
        .map(|r| r.data)
        .collect()
}

fn status(d: &Daemon) -> holdfast::wire::Status {
    match d.request(RequestBody::Status) {
        ResponseBody::Status(s) => s,
        other => panic!("{other:?}"),
    }
}

/// A stopped home holding two pending holds, an approval and a denial remembered, pause and
/// the kill switch engaged; returns it and the ids (pending, pending, approved, denied).
fn scenario() -> (Home, Vec<String>) {
    let home = Home::new();
    let d = home.daemon(&[]);
    let ids: Vec<String> = ["rm -rf /", "rm -rf src/keep", "rm -rf src/old", "rm -rf src/gone"]
        .iter()
        .map(|c| propose(&d, c).pending.expect("held"))
        .collect();
    decide(&d, &ids[2], true);
    decide(&d, &ids[3], false);
    assert!(matches!(d.request(RequestBody::Pause(Proof::default())), ResponseBody::Ack(_)));
    assert!(matches!(d.request(RequestBody::Panic), ResponseBody::Ack(_)));
    let (st, _) = d.terminate();
    assert!(st.success());
    (home, ids)
}

/// Everything replay rebuilds, as clients see it; then probes the memory (changes the state).
fn observe(d: &Daemon, ids: &[String]) -> Value {
    let s = status(d);
    let states: Vec<Value> = ids
        .iter()
        .map(|id| match d.request(RequestBody::PendingStatus(PendingRef { pending: id.clone() })) {
            ResponseBody::Pending(i) => json!([i.id, i.state, i.command]),
            other => panic!("{other:?}"),
        })
        .collect();
    let mut listed: Vec<String> = match d.request(RequestBody::ListPending) {
        ResponseBody::PendingList { items, .. } => items.into_iter().map(|i| i.id).collect(),
        other => panic!("{other:?}"),
    };
    listed.sort();
    let killswitch = propose(d, "ls").rule;
    d.request(RequestBody::Release(Proof::default()));
    let paused = propose(d, "rm -rf /").flags.contains(&"paused".to_string());
    d.request(RequestBody::Resume(Proof::default()));
    let (allow, deny) = (propose(d, "rm -rf src/old"), propose(d, "rm -rf src/gone"));
    json!({
        "panic": s.panic, "paused": s.paused, "pending": s.pending, "remembered": s.remembered,
        "states": states, "listed": listed, "killswitch_rule": killswitch, "paused_probe": paused,
        "memory": [allow.decision, allow.rule, deny.decision, deny.rule],
    })
}

fn backup(home: &Home) -> Vec<(String, Vec<u8>)> {
    let dir = home.paths().data_dir;
    FILES.iter().map(|f| (f.to_string(), std::fs::read(dir.join(f)).unwrap())).collect()
}

fn restore(home: &Home, files: &[(String, Vec<u8>)]) {
    let dir = home.paths().data_dir;
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

fn sidecar(home: &Home) -> std::path::PathBuf {
    home.paths().data_dir.join("checkpoint.json")
}

fn assert_reported(home: &Home, d: &Daemon, needle: &str) {
    let s = status(d);
    assert!(s.log_damage.iter().any(|p| p.contains(needle) && p.contains("checkpoint")), "{:?}", s.log_damage);
    let damage = records(home, "damage");
    assert!(damage.iter().any(|d| d.to_string().contains(needle)), "{damage:?}");
}

fn start_and_observe(home: &Home, ids: &[String]) -> (Value, String) {
    let d = home.daemon(&[]);
    let seen = observe(&d, ids);
    let (_, stderr) = d.terminate();
    (seen, stderr)
}

#[test]
fn state_after_restart_is_the_same_with_and_without_the_checkpoint() {
    let (home, ids) = scenario();
    let saved = backup(&home);
    let (with, stderr) = start_and_observe(&home, &ids);
    assert!(stderr.contains("state restored from checkpoint seq"), "{stderr}");
    assert_eq!(with["panic"], true, "{with}");
    assert_eq!(with["paused"], true, "{with}");
    assert_eq!(with["pending"], 2, "{with}");
    assert_eq!(with["remembered"], 2, "{with}");
    assert_eq!(with["memory"], json!(["allow", "memory.allow", "deny", "memory.deny"]), "{with}");

    restore(&home, &saved);
    std::fs::remove_file(sidecar(&home)).unwrap();
    let d = home.daemon(&[]);
    assert_reported(&home, &d, "is missing");
    let without = observe(&d, &ids);
    let (_, stderr) = d.terminate();
    assert!(!stderr.contains("state restored from checkpoint"), "{stderr}");
    assert_eq!(with, without);
}

#[test]
fn a_checkpoint_that_does_not_verify_is_never_trusted() {
    let (home, ids) = scenario();
    let path = sidecar(&home);
    let text = std::fs::read_to_string(&path).unwrap();
    // A forged state: the kill switch off, pause off, and the holds gone.
    let mut cp: Value = serde_json::from_str(&text).unwrap();
    cp["state"]["killswitch"] = false.into();
    cp["state"]["paused"] = false.into();
    cp["state"]["queue"]["pending"] = json!({});
    std::fs::write(&path, serde_json::to_vec(&cp).unwrap()).unwrap();
    let d = home.daemon(&[]);
    assert_reported(&home, &d, "SHA-256");
    let seen = observe(&d, &ids);
    assert_eq!((&seen["panic"], &seen["paused"], &seen["pending"]), (&json!(true), &json!(true), &json!(2)), "{seen}");
    d.terminate();
}

#[test]
fn a_checkpoint_naming_another_record_or_log_is_never_trusted() {
    let (home, _) = scenario();
    let path = sidecar(&home);
    let cp: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for (field, value, needle) in [
        ("offset", json!(0), "is not checkpoint seq"),
        ("hash", json!("00".repeat(32)), "does not hash"),
        ("log_id", json!("11".repeat(16)), "belongs to log"),
    ] {
        let mut bad = cp.clone();
        bad[field] = value;
        std::fs::write(&path, serde_json::to_vec(&bad).unwrap()).unwrap();
        let d = home.daemon(&[]);
        assert_reported(&home, &d, needle);
        assert!(status(&d).panic);
        d.terminate();
    }
}

#[test]
fn periodic_checkpoints_bound_the_replay_after_a_crash() {
    let home = Home::new();
    let d = home.daemon(&["--durability", "batch"]);
    let p = Proposal { agent: "t".into(), cwd: daemon::abs_cwd(), raw: "echo".into(), ..Default::default() };
    for _ in 0..4200 {
        assert!(matches!(d.request(RequestBody::Record(p.clone())), ResponseBody::Ack(_)));
    }
    d.request(RequestBody::Panic);
    daemon::wait_for(std::time::Duration::from_secs(10), || sidecar(&home).exists());
    d.kill9();
    let cp: Value = serde_json::from_slice(&std::fs::read(sidecar(&home)).unwrap()).unwrap();
    assert!(cp["seq"].as_u64().unwrap() > 4096, "{cp}");
    let d = home.daemon(&[]);
    assert!(status(&d).panic, "the kill switch, recorded after the checkpoint, survives");
    assert!(status(&d).log_damage.is_empty());
    let stderr = d.kill_for_stderr();
    assert!(stderr.contains("state restored from checkpoint seq"), "{stderr}");
}
