//! `holdfast log export`: the stream a shipper forwards, resumable by seq, in JSON lines (a
//! central copy verifies) or OCSF.
#[path = "support/daemon.rs"]
mod daemon;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use daemon::{Daemon, Home};
use holdfast::wire::{Proposal, RequestBody, ResponseBody};
use serde_json::Value;

fn propose(d: &Daemon, raw: &str) -> u64 {
    let p = Proposal { agent: "claude-code".into(), cwd: daemon::abs_cwd(), raw: raw.into(), ..Default::default() };
    match d.request(RequestBody::Propose(p)) {
        ResponseBody::Verdict(v) => v.seq,
        other => panic!("{other:?}"),
    }
}

fn export(home: &Home, args: &[&str]) -> String {
    let out = home.run(&[&["log", "export"], args].concat(), "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn seqs(jsonl: &str) -> Vec<u64> {
    jsonl.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["body"]["seq"].as_u64().unwrap()).collect()
}

#[test]
fn a_jsonl_export_is_resumable_and_its_central_copy_verifies() {
    let home = Home::new();
    let d = home.daemon(&[]);
    propose(&d, "ls");
    let mid = propose(&d, "rm -rf src/old");
    propose(&d, "rm -rf /");
    d.terminate();
    let full = export(&home, &[]);
    assert_eq!(full.as_bytes(), std::fs::read(home.paths().audit_log()).unwrap(), "lines exactly as written");
    // A shipper that delivered up to `mid` resumes after it: nothing lost, nothing twice.
    let first: String =
        full.lines().take_while(|l| !l.contains(&format!("\"seq\":{},", mid + 1))).map(|l| format!("{l}\n")).collect();
    assert_eq!(*seqs(&first).last().unwrap(), mid);
    let rest = export(&home, &["--since", &mid.to_string()]);
    assert_eq!(seqs(&rest)[0], mid + 1);
    assert_eq!(format!("{first}{rest}"), full);
    let copy = home.path().join("central.jsonl");
    std::fs::write(&copy, &full).unwrap();
    let key = home.paths().config_dir.join("verification.key");
    let out = home.run(&["log", "verify", "--file", copy.to_str().unwrap(), "--key-file", key.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn ocsf_maps_each_decision_to_process_activity_with_its_disposition() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let allowed = propose(&d, "ls");
    let held = propose(&d, "rm -rf src/old");
    d.terminate();
    let events: Vec<Value> =
        export(&home, &["--format", "ocsf"]).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let by_seq = |seq: u64| events.iter().find(|e| e["unmapped"]["seq"] == seq).unwrap().clone();
    let a = by_seq(allowed);
    assert_eq!(
        (a["class_uid"].as_u64(), a["action_id"].as_u64(), a["disposition_id"].as_u64()),
        (Some(1007), Some(1), Some(1)),
        "{a}"
    );
    assert_eq!(a["process"]["cmd_line"], "ls");
    assert_eq!(a["type_uid"], 100701);
    let h = by_seq(held);
    assert_eq!((h["action_id"].as_u64(), h["disposition_id"].as_u64()), (Some(99), Some(14)), "{h}");
    assert_eq!(events[0]["class_uid"], 0, "genesis is a base event: {}", events[0]);
    assert!(events.iter().all(|e| e["time"].as_i64().unwrap() > 1_600_000_000_000));
}

#[test]
fn follow_streams_records_as_they_are_appended() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let mut child =
        home.cmd().args(["log", "export", "--follow"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    std::thread::sleep(Duration::from_millis(300));
    let seq = propose(&d, "echo appended later");
    let found = lines.by_ref().take(50).map(Result::unwrap).any(|l| l.contains(&format!("\"seq\":{seq},")));
    let _ = child.kill();
    let _ = child.wait();
    assert!(found, "the appended record was streamed");
}
