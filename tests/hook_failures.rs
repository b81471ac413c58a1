//! The hook against every way a daemon can fail it: each error code (and one it does not know), a
//! daemon that never answers, a garbled reply, half a reply, a closed connection, a reply of the
//! wrong kind. Each must be a deny in every dialect — never the daemon-less local fallback, which
//! would allow the safe command proposed here.
#![cfg(unix)]

#[path = "support/fake_daemon.rs"]
mod fake_daemon;

use std::io::Write;
use std::path::Path;
use std::process::Output;

use fake_daemon::{Script, ScriptedDaemon, hook_child};
use serde_json::Value;

const AGENTS: &[&str] = &["claude-code", "codex", "gemini", "cursor", "copilot", "generic"];
/// Safe to the local classifier: a fallback to the daemon-less path would allow it.
const SAFE: &str = "ls";

fn payload(agent: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hook").join(agent).join("pre_shell.json");
    std::fs::read_to_string(path).unwrap().replace("__CMD__", SAFE)
}

fn hook(home: &Path, socket: &Path, agent: &str) -> Output {
    let mut child = hook_child(agent, home, home, socket);
    child.stdin.take().unwrap().write_all(payload(agent).as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// The decision a dialect's output carries: allow / deny / ask / none (no opinion, an empty stdout).
fn decision_of(agent: &str, out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        return "none".into();
    }
    let v: Value =
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{agent}: stdout not JSON ({e}): {text}"));
    let d = match agent {
        "claude-code" | "codex" => &v["hookSpecificOutput"]["permissionDecision"],
        "gemini" | "generic" => &v["decision"],
        "cursor" => &v["permission"],
        "copilot" => &v["permissionDecision"],
        _ => unreachable!(),
    };
    d.as_str().unwrap_or("none").to_string()
}

/// What the deny's reason must say after `script`: the user is told what went wrong.
fn expected_reason(script: &Script) -> &'static str {
    match script {
        Script::Error(code) if code == "unavailable" => "cannot record decisions right now",
        // A code this client does not know makes the reply unreadable to it.
        Script::Error(code) if code == "a_code_from_the_future" => "did not answer properly",
        Script::Error(_) => "holdfast refused the command: scripted",
        Script::WrongKind => "answered `ack` instead of a verdict",
        Script::HoldWithoutPending => "held this command without a pending id",
        Script::HoldThenStatusError(code) if code == "not_found" => "no longer knows held command pend-1",
        Script::HoldThenStatusError(_) => "could not report on pend-1: scripted",
        Script::Silent | Script::Garbage | Script::Half | Script::Close => "did not answer properly",
    }
}

#[test]
fn every_daemon_failure_is_a_deny_in_every_dialect() {
    let dir = tempfile::Builder::new().prefix("hff").tempdir().unwrap();
    let socket = dir.path().join("fake.sock");
    for script in Script::every_failure() {
        let fake = ScriptedDaemon::start(&socket, script.clone());
        // The dialects in parallel: a silent daemon costs each hook its whole client deadline.
        let outs: Vec<(&str, Output)> = std::thread::scope(|s| {
            let runs: Vec<_> = AGENTS.iter().map(|a| (*a, s.spawn(|| hook(dir.path(), &socket, a)))).collect();
            runs.into_iter().map(|(a, h)| (a, h.join().unwrap())).collect()
        });
        for (agent, out) in outs {
            let d = decision_of(agent, &out);
            assert_eq!(d, "deny", "{agent} after {script:?}: {}", String::from_utf8_lossy(&out.stdout));
            if agent == "generic" {
                assert_eq!(out.status.code(), Some(2), "generic denies with exit 2 after {script:?}");
                let reason =
                    serde_json::from_slice::<Value>(&out.stdout).unwrap()["reason"].as_str().unwrap().to_owned();
                assert!(reason.contains(expected_reason(&script)), "after {script:?} the reason says why: {reason}");
            }
        }
        let kinds = fake.kinds();
        assert_eq!(kinds.iter().filter(|k| *k == "propose").count(), AGENTS.len(), "{script:?}: {kinds:?}");
        // A hold with nothing to wait on is denied at once, never polled.
        assert!(!kinds.iter().any(|k| k == "pending_status"), "{script:?}: {kinds:?}");
    }
}

/// A hold the hook waits on (the generic dialect has no prompt of its own), after which the daemon
/// cannot report on the held command: a deny that says whether the daemon forgot it or failed.
#[test]
fn a_held_command_the_daemon_cannot_report_on_is_denied() {
    let dir = tempfile::Builder::new().prefix("hfw").tempdir().unwrap();
    let socket = dir.path().join("fake.sock");
    for code in ["not_found", "internal"] {
        let script = Script::HoldThenStatusError(code.into());
        let fake = ScriptedDaemon::start(&socket, script.clone());
        let out = hook(dir.path(), &socket, "generic");
        assert_eq!(decision_of("generic", &out), "deny", "after {script:?}");
        assert_eq!(out.status.code(), Some(2), "generic denies with exit 2 after {script:?}");
        let reason = serde_json::from_slice::<Value>(&out.stdout).unwrap()["reason"].as_str().unwrap().to_owned();
        assert!(reason.contains(expected_reason(&script)), "after {script:?} the reason says why: {reason}");
        // One status question answers it: an error is final, not retried until the hold wait ends.
        assert_eq!(fake.kinds(), ["propose", "pending_status"], "{script:?}");
    }
}
