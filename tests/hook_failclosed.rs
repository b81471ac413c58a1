//! The hook never dies open: with the daemon down, hostile command lines, a crashing, runaway,
//! stalled or babbling classifier child, and a panic in the hook itself all end in the dialect's
//! deny; what the hook decided offline reaches the audit log when the daemon starts; a CLI whose
//! reader went away ends quietly. The real binary in a temp `HOLDFAST_HOME`.
#![cfg(unix)] // the child's memory limit is Unix-only; on Windows a runaway child is bounded by time alone

#[path = "support/daemon.rs"]
mod daemon;

use std::io::{BufRead, BufReader, Write};
use std::process::{Output, Stdio};

use daemon::Home;
use holdfast::hook::isolate::FAULT_ENV;
use holdfast::hook::{AGENTS, HOOK_FAULT_ENV, offline};
use serde_json::Value;

/// Lines that crashed or ran away in brush-parser 0.4.0: an overflowing tilde number (panic outside
/// the classifier's guard) and a 6-byte here-doc form (unbounded allocation in the tokenizer).
const HOSTILE: &[&str] = &["rm -rf ~ && echo ~99999999999999999999/!", "cat <<\r<<\t"];

/// `agent`'s pre-tool payload for `command`.
fn payload(agent: &str, command: &str) -> String {
    holdfast::hook::dialect(agent).unwrap().sample(command, "/tmp").to_string()
}

/// Runs `holdfast hook --agent AGENT` in `home` (no daemon there) with extra environment.
fn hook(home: &Home, agent: &str, command: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = home.cmd();
    cmd.args(["hook", "--agent", agent]).envs(env.iter().copied());
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(payload(agent, command).as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// The decision a dialect's stdout carries: allow / deny / ask / none (empty stdout).
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
        _ => &v["permissionDecision"],
    };
    d.as_str().unwrap_or("none").to_string()
}

/// What the dialect prints when holdfast lets a command through: no opinion (hooks only tighten),
/// except in the generic dialect, which has no agent prompt to defer to.
fn allowed(agent: &str) -> &'static str {
    if agent == "generic" { "allow" } else { "none" }
}

fn spooled(home: &Home) -> Vec<Value> {
    let text = std::fs::read_to_string(offline::path(&home.paths().data_dir)).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn hostile_lines_are_denied_by_every_dialect_with_the_daemon_down() {
    let home = Home::new();
    let outs: Vec<(&str, &str, Output)> = std::thread::scope(|s| {
        let runs: Vec<_> = AGENTS
            .iter()
            .flat_map(|agent| HOSTILE.iter().map(move |line| (*agent, *line)))
            .map(|(agent, line)| (agent, line, s.spawn(|| hook(&home, agent, line, &[]))))
            .collect();
        runs.into_iter().map(|(a, l, h)| (a, l, h.join().unwrap())).collect()
    });
    for (agent, line, out) in &outs {
        assert_eq!(decision_of(agent, out), "deny", "{agent} {line:?}: {}", String::from_utf8_lossy(&out.stderr));
        let deny_exit = if *agent == "generic" { 2 } else { 0 };
        assert_eq!(out.status.code(), Some(deny_exit), "{agent} {line:?}");
    }
    let entries = spooled(&home);
    assert_eq!(entries.len(), AGENTS.len() * HOSTILE.len(), "every offline decision is spooled");
    assert!(entries.iter().all(|e| e["decision"] == "deny"), "{entries:?}");
}

#[test]
fn a_crashing_runaway_stalled_or_babbling_classifier_is_a_deny() {
    let home = Home::new();
    // Control: without a fault the same command is allowed, so the fault alone makes the deny.
    let out = hook(&home, "claude-code", "ls", &[]);
    assert_eq!(decision_of("claude-code", &out), allowed("claude-code"), "{}", String::from_utf8_lossy(&out.stderr));
    // Each fault, and how the hook must have seen it end: the memory limit ends `alloc` with the
    // allocator's abort long before the wall clock would.
    let faults = [
        ("abort", "signal 6"),
        ("panic", "exit status 101"),
        ("alloc", "signal 6"),
        ("hang", "did not answer within"),
        ("garbage", "unreadable"),
    ];
    let outs: Vec<(&str, &str, &str, Output)> = std::thread::scope(|s| {
        let runs: Vec<_> = faults
            .iter()
            .zip(AGENTS.iter().cycle())
            .map(|((fault, why), agent)| {
                (*fault, *why, *agent, s.spawn(|| hook(&home, agent, "ls", &[(FAULT_ENV, fault)])))
            })
            .collect();
        runs.into_iter().map(|(f, w, a, h)| (f, w, a, h.join().unwrap())).collect()
    });
    for (fault, why, agent, out) in &outs {
        assert_eq!(decision_of(agent, out), "deny", "{fault} ({agent}): {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("could not be classified") && text.contains(why), "{fault}: {text}");
    }
    assert!(spooled(&home).iter().skip(1).all(|e| e["decision"] == "deny" && e["rule"] == "offline.unclassified"));
}

#[test]
fn a_panicking_hook_prints_the_deny_and_exits_with_the_blocking_code() {
    let home = Home::new();
    for agent in AGENTS {
        let out = hook(&home, agent, "ls", &[(HOOK_FAULT_ENV, "1")]);
        assert_eq!(decision_of(agent, &out), "deny", "{agent}");
        assert_eq!(out.status.code(), Some(holdfast::hook::BLOCKING_EXIT), "{agent}: exit 2 blocks in every agent");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("failed internally") && err.contains("injected hook fault"), "{agent}: {err}");
    }
}

#[test]
fn a_full_spool_denies_what_it_would_allow() {
    let home = Home::new();
    let out = hook(&home, "gemini", "ls", &[]);
    assert_eq!(decision_of("gemini", &out), allowed("gemini"));
    std::fs::File::options()
        .append(true)
        .open(offline::path(&home.paths().data_dir))
        .unwrap()
        .set_len(offline::MAX_BYTES)
        .unwrap();
    let out = hook(&home, "gemini", "ls", &[]);
    assert_eq!(decision_of("gemini", &out), "deny");
    assert!(String::from_utf8_lossy(&out.stdout).contains("could not be recorded"));
}

#[test]
fn offline_decisions_reach_the_audit_log_when_the_daemon_starts() {
    let home = Home::new();
    for agent in AGENTS {
        let out = hook(&home, agent, "ls", &[]);
        assert_eq!(decision_of(agent, &out), allowed(agent), "{agent}");
    }
    let out = hook(&home, "codex", "rm -rf /", &[]);
    assert_eq!(decision_of("codex", &out), "deny");
    assert_eq!(spooled(&home).len(), AGENTS.len() + 1);

    let d = home.daemon(&[]);
    assert_eq!(std::fs::metadata(offline::path(&home.paths().data_dir)).unwrap().len(), 0, "the spool is emptied");
    let out = home.run(&["log", "tail", "-n", "100", "--json"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let records: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let offline: Vec<&Value> = records.iter().filter(|r| r["kind"] == "offline_decision").collect();
    assert_eq!(offline.len(), AGENTS.len() + 1, "{records:?}");
    for (r, agent) in offline.iter().zip(AGENTS) {
        assert_eq!((r["data"]["agent"].as_str(), r["data"]["command"].as_str()), (Some(*agent), Some("ls")));
        assert_eq!(r["data"]["decision"], "allow");
        assert_eq!(r["data"]["class"], "safe");
    }
    assert_eq!(offline[AGENTS.len()]["data"]["decision"], "deny");
    let summary = records.iter().find(|r| r["kind"] == "offline_ingest").expect("a summary record");
    assert_eq!(summary["data"]["entries"], AGENTS.len() + 1);
    d.terminate();
    let out = home.run(&["log", "verify"], "");
    assert!(out.status.success(), "the chain verifies: {}", String::from_utf8_lossy(&out.stdout));
    // A second start finds nothing new to ingest.
    let d = home.daemon(&[]);
    d.terminate();
    let out = home.run(&["log", "tail", "-n", "1000", "--json"], "");
    let again = String::from_utf8(out.stdout).unwrap().lines().filter(|l| l.contains("\"offline_decision\"")).count();
    assert_eq!(again, AGENTS.len() + 1, "nothing is recorded twice");
}

/// Runs `holdfast args…` with `stdin`, reads one line of its output, closes the pipe, and returns
/// the exit status and stderr.
fn first_line_then_close(home: &Home, args: &[&str], stdin: String) -> (Option<i32>, String, String) {
    let mut child =
        home.cmd().args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(stdin.as_bytes());
    });
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    (out.status.code(), first, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_closed_output_pipe_ends_the_cli_quietly_with_141() {
    let home = Home::new();
    // `classify --stdin` returns the write error; far more output than a pipe buffer holds.
    let (code, first, err) = first_line_then_close(&home, &["classify", "--stdin"], "ls -la\n".repeat(20_000));
    assert!(first.contains("safe"), "{first}");
    assert_eq!((code, err.as_str()), (Some(141), ""));
    // `log tail` prints with println!, which panics on a broken pipe.
    let paths = home.paths();
    let (mut log, _) = holdfast::audit::AuditLog::open(
        &paths,
        holdfast::audit::Durability::Batch { every: std::time::Duration::ZERO },
    )
    .unwrap();
    for i in 0..3000 {
        log.append("record", &Default::default(), &serde_json::json!({"raw": format!("echo {i}")})).unwrap();
    }
    log.close().unwrap();
    drop(log);
    let (code, first, err) = first_line_then_close(&home, &["log", "tail", "-n", "5000"], String::new());
    assert!(!first.is_empty());
    assert_eq!((code, err.as_str()), (Some(141), ""));
}
