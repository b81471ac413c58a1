//! `holdfast hook` end to end against the REAL daemon: the verdict reaches the agent in its
//! own protocol, holds become asks or waits, and every proposal is in the audit log.
#![cfg(unix)]

#[path = "support/daemon.rs"]
mod daemon;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use daemon::Home;

fn payload(agent: &str, cwd: &str, command: &str) -> String {
    let path = format!("{}/tests/fixtures/hook/{agent}/pre_shell.json", env!("CARGO_MANIFEST_DIR"));
    let template = std::fs::read_to_string(path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&template.replace("__CMD__", "X")).unwrap();
    match agent {
        "generic" => v["command"] = command.into(),
        _ => v["tool_input"]["command"] = command.into(),
    }
    v["cwd"] = cwd.into();
    v.to_string()
}

fn hook(home: &Home, agent: &str, stdin: &str, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["hook", "--agent", agent];
    args.extend_from_slice(extra);
    let out = home.run(&args, stdin);
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn claude_code_gets_allow_ask_and_deny_from_the_daemon() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let cwd = home.path().to_str().unwrap();

    let (code, out) = hook(&home, "claude-code", &payload("claude-code", cwd, "cargo test"), &[]);
    assert_eq!(code, Some(0));
    assert_eq!(out, "", "allow is no opinion: Claude's own permission prompt still applies");

    let (code, out) = hook(&home, "claude-code", &payload("claude-code", cwd, "rm -rf /"), &[]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["hookSpecificOutput"]["permissionDecision"], "ask", "{out}");
    let reason = v["hookSpecificOutput"]["permissionDecisionReason"].as_str().unwrap();
    let pending = match d.request(holdfast::wire::RequestBody::ListPending) {
        holdfast::wire::ResponseBody::PendingList { items, .. } => items,
        other => panic!("{other:?}"),
    };
    assert_eq!(pending.len(), 1);
    assert!(reason.contains(&pending[0].id), "the ask names the pending id: {reason}");

    d.request(holdfast::wire::RequestBody::Panic);
    let (_, out) = hook(&home, "claude-code", &payload("claude-code", cwd, "ls"), &[]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["hookSpecificOutput"]["permissionDecision"], "deny", "{out}");

    let proposals = holdfast::audit::read_records(&home.paths().audit_log())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|r| r.kind == "propose" && r.data["agent"] == "claude-code")
        .count();
    assert_eq!(proposals, 3, "every hook call is recorded");
}

#[test]
fn a_waiting_dialect_follows_the_human_approval() {
    let home = Home::new();
    let _d = home.daemon(&[]);
    let cwd = home.path().to_str().unwrap();
    let mut child = home
        .cmd()
        .args(["hook", "--agent", "generic", "--hold-wait-ms", "30000"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(payload("generic", cwd, "rm -rf src/old").as_bytes()).unwrap();
    // The hook is waiting: approve what it holds from the CLI, as a human would.
    let mut id = String::new();
    daemon::wait_for(Duration::from_secs(20), || {
        let out = home.run(&["pending", "--json"], "");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        id = v["items"][0]["pending"].as_str().unwrap_or_default().to_string();
        !id.is_empty()
    });
    assert!(home.run(&["approve", &id], "").status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "approved → allowed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "allow", "{v}");
}

#[test]
fn a_wait_that_runs_out_denies_with_instructions() {
    let home = Home::new();
    let _d = home.daemon(&[]);
    let cwd = home.path().to_str().unwrap();
    let (code, out) = hook(&home, "codex", &payload("codex", cwd, "rm -rf src/old"), &["--hold-wait-ms", "300"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let text = v.to_string();
    assert!(text.contains("deny") && text.contains("holdfast approve"), "{text}");
}
