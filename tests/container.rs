//! An agent in a container reaches the host's daemon through the bind-mounted socket directory:
//! the hook runs in its own mount and network namespace (`unshare`), where the holdfast home is
//! hidden and only the socket's directory is mounted, and gets real verdicts.
#![cfg(target_os = "linux")]
#[path = "support/daemon.rs"]
mod daemon;

use std::io::Write;
use std::process::{Command, Stdio};

use daemon::Home;

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Runs the Claude Code hook for `command` inside a fresh mount+network namespace that sees the
/// daemon only through `host_dir` mounted at `target`. Returns (hook stdout, the check's output).
fn hook_in_namespace(home: &Home, host_dir: &str, target: &str, command: &str) -> (String, String) {
    let hidden = home.path().display().to_string();
    // The container's own copy of the binary, outside the hidden tree (a build under /tmp would
    // vanish with it).
    let image = tempfile::Builder::new().prefix("hf-img").tempdir_in("/var/tmp").unwrap();
    let bin = image.path().join("holdfast");
    std::fs::copy(daemon::bin(), &bin).unwrap();
    let script = format!(
        "set -e; mount --bind '{host_dir}' '{target}'; mount -t tmpfs none \"$(dirname '{hidden}')\"; \
         test ! -e '{hidden}' && echo home-hidden >&2; grep -c ':' /proc/net/dev >&2 || true; \
         HOLDFAST_SOCKET='{target}/holdfast.sock' HOME=/ '{bin}' hook --agent claude-code",
        bin = bin.display()
    );
    let mut child = Command::new("unshare")
        .args(["--mount", "--net", "--fork", "sh", "-c", &script])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let payload = serde_json::json!({"session_id": "c1", "hook_event_name": "PreToolUse", "tool_name": "Bash",
        "tool_input": {"command": command}, "cwd": "/"});
    child.stdin.take().unwrap().write_all(payload.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_hook_in_a_namespace_that_sees_only_the_mounted_socket_gets_verdicts() {
    if !is_root() {
        eprintln!("skipped: needs root for unshare --mount --net");
        return;
    }
    if Command::new("unshare").arg("--version").output().is_err() {
        eprintln!("skipped: unshare (util-linux) is not installed");
        return;
    }
    let home = Home::new();
    let _d = home.daemon(&[]);
    let out = home.run(&["container", "--json"], "");
    assert!(out.status.success(), "{out:?}");
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let host_dir = m["host_dir"].as_str().unwrap().to_string();
    assert_eq!(host_dir, home.path().join("run").display().to_string());
    assert_eq!(m["socket_env"], "HOLDFAST_SOCKET=/run/holdfast/holdfast.sock");
    assert!(m["docker_run"].as_str().unwrap().contains(&format!("-v {host_dir}:/run/holdfast")));

    // The container's view: a directory outside the hidden /tmp tree stands in for /run/holdfast.
    let target = tempfile::Builder::new().prefix("hf-ctr").tempdir_in("/var/tmp").unwrap();
    let target_path = target.path().display().to_string();
    let (answer, trace) = hook_in_namespace(&home, &host_dir, &target_path, "rm -rf /");
    assert!(trace.contains("home-hidden"), "the namespace still sees the holdfast home: {trace}");
    assert!(trace.lines().any(|l| l.trim() == "1"), "only loopback in the network namespace: {trace}");
    let v: serde_json::Value = serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer} / {trace}"));
    let decision = v["hookSpecificOutput"]["permissionDecision"].as_str().unwrap();
    assert!(decision == "ask" || decision == "deny", "a catastrophic command from the container: {v}");
    assert!(
        v["hookSpecificOutput"]["permissionDecisionReason"].as_str().unwrap().contains("holdfast approve"),
        "the answer came from the daemon (a hold id), not the local fallback: {v}"
    );
    let (answer, _) = hook_in_namespace(&home, &host_dir, &target_path, "ls -la");
    assert!(!answer.contains("\"deny\""), "a safe command is not denied: {answer}");

    // The daemon recorded both, with the peer as the kernel reports it.
    let log = std::fs::read_to_string(home.paths().audit_log()).unwrap();
    let proposals: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["body"].clone())
        .filter(|b| b["kind"] == "propose")
        .collect();
    assert_eq!(proposals.len(), 2, "{log}");
    assert!(proposals.iter().all(|b| b["peer"]["uid"] == 0 && b["peer"]["pid"].as_u64().is_some()), "{proposals:?}");
}
