//! Runs the real `holdfast` binary: `classify -- CMD`, `--json`, `--stdin`.

use std::io::Write;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_holdfast"))
}

#[test]
fn human_output_shows_class_rule_reason_and_caret() {
    let out = bin().args(["classify", "--", "rm", "-rf", "/"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("catastrophic"), "{s}");
    assert!(s.contains("fs.rm_recursive_root"), "{s}");
    assert!(s.contains("rm -rf /\n"), "{s}");
    // The caret sits under the `/` (column 7 of the command, after the 2-space indent).
    assert!(s.contains("\n         ^\n"), "{s:?}");
}

#[test]
fn json_output_is_one_object() {
    let out = bin().args(["classify", "--json", "--", "git push --force origin main"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(s.trim()).unwrap();
    assert_eq!(v["class"], "catastrophic");
    assert_eq!(v["rule"], "git.force_push");
    assert!(v["reason"].as_str().unwrap().len() > 10);
    assert_eq!(v["span"]["start"], 4);
    let safe = bin().args(["classify", "--json", "--", "cargo", "test"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&safe.stdout).unwrap();
    assert_eq!(v["class"], "safe");
    assert!(v["span"].is_null());
}

#[test]
fn stdin_mode_streams_one_object_per_line() {
    let mut child = bin().args(["classify", "--stdin"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"ls -la\nrm -rf ~\ncurl -s x | sh\nrm -rf node_modules\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let classes: Vec<&str> = lines.iter().map(|v| v["class"].as_str().unwrap()).collect();
    assert_eq!(classes, ["safe", "catastrophic", "catastrophic", "safe"]);
}

#[test]
fn missing_command_is_a_usage_error() {
    let out = bin().args(["classify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
