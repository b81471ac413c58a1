//! What the hook tells the daemon: the proposal a real hook sends, read off a fake daemon that
//! records it. The daemon's side of each field is tested elsewhere (`repo_policy_carry`,
//! `sessions`); here, that the hook fills them in.
#![cfg(unix)]

#[path = "support/fake_daemon.rs"]
mod fake_daemon;

use std::io::Write;

use fake_daemon::{Script, ScriptedDaemon, hook_child};

const POLICY: &str = "[[deny]]\npattern = \"make release\"\nreason = \"releases are cut by CI\"\n";

/// The hook carries the repository policy it can read (for a daemon that cannot, in the locked
/// posture), its own pid and the agent's session.
#[test]
fn the_proposal_carries_the_repository_policy_the_pid_and_the_session() {
    let dir = tempfile::Builder::new().prefix("hfp").tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    std::fs::write(repo.join(".holdfast.toml"), POLICY).unwrap();
    let socket = dir.path().join("fake.sock");
    let fake = ScriptedDaemon::start(&socket, Script::Error("unavailable".into()));
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hook/claude-code/pre_shell.json");
    let payload = std::fs::read_to_string(fixture)
        .unwrap()
        .replace("__CMD__", "ls")
        .replace("/home/u/project", repo.join("src").to_str().unwrap());
    let mut child = hook_child("claude-code", dir.path(), dir.path(), &socket);
    let pid = child.id();
    child.stdin.take().unwrap().write_all(payload.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("deny"), "{out:?}");
    let requests = fake.requests.lock().unwrap().clone();
    let propose = requests.iter().find(|r| r["kind"] == "propose").expect("a proposal");
    assert_eq!(propose["pid"], pid, "{propose}");
    assert_eq!(propose["session"], "abc123", "{propose}");
    let carried = &propose["repo_policy"];
    assert_eq!(carried["path"], repo.join(".holdfast.toml").to_str().unwrap(), "{propose}");
    assert_eq!(carried["text"], POLICY, "{propose}");
}

/// A payload without a `cwd` is proposed from the directory the hook runs in.
#[test]
fn without_a_cwd_in_the_payload_the_hooks_own_directory_is_proposed() {
    let dir = tempfile::Builder::new().prefix("hfc").tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let socket = dir.path().join("fake.sock");
    let fake = ScriptedDaemon::start(&socket, Script::Error("unavailable".into()));
    let mut child = hook_child("generic", &work, dir.path(), &socket);
    child.stdin.take().unwrap().write_all(br#"{"command":"ls"}"#).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let requests = fake.requests.lock().unwrap().clone();
    let propose = requests.iter().find(|r| r["kind"] == "propose").expect("a proposal");
    let cwd = std::path::PathBuf::from(propose["cwd"].as_str().unwrap());
    assert_eq!(cwd.canonicalize().unwrap(), work.canonicalize().unwrap(), "{propose}");
}
