//! Fail closed: when a record cannot be written, nothing is acknowledged and the daemon keeps serving.
#[path = "support/daemon.rs"]
mod daemon;

use std::process::{Command, Stdio};

use daemon::Home;
use holdfast::wire::{ErrorCode, Proposal, RequestBody, ResponseBody};

/// File-size limit in 512-byte blocks (`ulimit -f` unit of dash and POSIX sh).
const LIMIT_BLOCKS: u64 = 6;

#[test]
#[cfg_attr(windows, ignore = "needs `ulimit -f` through `sh`; Windows has no per-process file-size limit")]
fn file_size_limit_gives_unavailable_and_no_torn_line() {
    let home = Home::new();
    let mut cmd = Command::new("sh");
    cmd.env_clear()
        .env("HOLDFAST_HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .arg("-c")
        .arg(format!("ulimit -f {LIMIT_BLOCKS} && exec \"$0\" daemon"))
        .arg(daemon::bin())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let d = daemon::Daemon { child: cmd.spawn().unwrap(), client: home.client() };
    d.wait_ready();
    let limit = LIMIT_BLOCKS * 512;
    let mut acked = Vec::new();
    let mut refused = 0;
    for i in 0..40 {
        let raw = format!("echo {i} {}", "x".repeat(150));
        let p = Proposal { agent: "t".into(), cwd: "/".into(), raw, ..Default::default() };
        match d.request(RequestBody::Record(p)) {
            ResponseBody::Ack(a) => {
                assert_eq!(refused, 0, "an ack after a refusal");
                acked.push(a.seq.unwrap());
            }
            ResponseBody::Error(e) => {
                assert_eq!(e.code, ErrorCode::Unavailable, "{e:?}");
                assert!(e.message.contains("nothing was recorded"), "{}", e.message);
                refused += 1;
            }
            other => panic!("{other:?}"),
        }
        d.assert_alive();
    }
    assert!(!acked.is_empty() && refused > 0, "acked {acked:?}, refused {refused}");
    let log = home.paths().audit_log();
    let bytes = std::fs::read(&log).unwrap();
    assert!(bytes.len() as u64 <= limit);
    assert!(bytes.ends_with(b"\n"), "a torn half line was left behind");
    // Everything acknowledged is there, and the chain verifies.
    let text = String::from_utf8(bytes).unwrap();
    for seq in &acked {
        assert!(text.contains(&format!("{{\"body\":{{\"seq\":{seq},")), "acked seq {seq} missing");
    }
    d.kill9();
    let key = home.paths().config_dir.join("verification.key");
    let out = home.run(&["log", "verify", "--key-file", key.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn unopenable_log_refuses_records_but_serves() {
    let home = Home::new();
    let data = home.paths().data_dir;
    std::fs::create_dir_all(&data).unwrap();
    // A directory where the log file should be: the log cannot be opened.
    std::fs::create_dir(home.paths().audit_log()).unwrap();
    let d = home.daemon(&[]);
    d.assert_alive();
    let p = Proposal { agent: "t".into(), cwd: daemon::abs_cwd(), raw: "ls".into(), ..Default::default() };
    match d.request(RequestBody::Record(p)) {
        ResponseBody::Error(e) => assert_eq!(e.code, ErrorCode::Unavailable),
        other => panic!("{other:?}"),
    }
    match d.request(RequestBody::Status) {
        ResponseBody::Status(s) => assert!(s.log_damage.iter().any(|m| m.contains("cannot be opened")), "{s:?}"),
        other => panic!("{other:?}"),
    }
    d.assert_alive();
}
