//! The daemon survives its own faults: a panic while handling a frame, a full disk (at start and
//! while running), and tight memory. None of them ends in an allow, and the daemon serves on.
#![cfg(unix)]

#[path = "support/daemon.rs"]
mod daemon;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use daemon::{Home, abs_cwd, wait_for};
use holdfast::wire::{Decision, Proposal, RequestBody, ResponseBody};

fn propose(home: &Home, raw: &str) -> ResponseBody {
    let p = Proposal { agent: "t".into(), cwd: abs_cwd(), raw: raw.into(), ..Default::default() };
    match home.client().request(RequestBody::Propose(p)) {
        Ok(r) => r.body,
        Err(e) => {
            ResponseBody::Error(holdfast::wire::WireError::new(holdfast::wire::ErrorCode::Internal, e.to_string()))
        }
    }
}

fn is_allow(body: &ResponseBody) -> bool {
    matches!(body, ResponseBody::Verdict(v) if v.decision == Decision::Allow)
}

fn error_code(body: &ResponseBody) -> Option<String> {
    match body {
        ResponseBody::Error(e) => serde_json::to_value(e.code).ok()?.as_str().map(str::to_string),
        _ => None,
    }
}

fn status(home: &Home) -> holdfast::wire::Status {
    match home.client().request(RequestBody::Status).unwrap().body {
        ResponseBody::Status(s) => s,
        other => panic!("expected status, got {other:?}"),
    }
}

fn log_kinds(home: &Home) -> Vec<String> {
    holdfast::audit::read_records(&home.paths().audit_log()).unwrap().flatten().map(|r| r.kind).collect()
}

fn verify_log(home: &Home) {
    let out =
        home.run(&["log", "verify", "--key-file", &home.path().join("config/verification.key").to_string_lossy()], "");
    assert!(
        out.status.success(),
        "log verify failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_panic_while_handling_a_frame_answers_internal_is_recorded_and_the_daemon_serves_on() {
    let home = Home::new();
    let child = home
        .cmd()
        .env("HOLDFAST_DEBUG_PANIC_ON", "BOOM-7f3a")
        .arg("daemon")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let d = daemon::Daemon { child, client: home.client() };
    d.wait_ready();
    let reply = propose(&home, "rm -rf / # BOOM-7f3a");
    assert_eq!(error_code(&reply).as_deref(), Some("internal"), "{reply:?}");
    d.assert_alive();
    assert!(is_allow(&propose(&home, "ls")), "the daemon serves on after a panic");
    assert_eq!(status(&home).panics, 1);
    let kinds = log_kinds(&home);
    assert!(kinds.iter().any(|k| k == "internal_error"), "{kinds:?}");
    verify_log(&home);
}

/// A tmpfs mounted on a home's data dir; unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount tmpfs on {}", dir.display());
        Tmpfs(dir.to_path_buf())
    }

    /// Writes a filler file until the disk is full.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.0.join("filler")).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
    }

    fn free(&self) {
        std::fs::remove_file(self.0.join("filler")).unwrap();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Stops the daemon `holdfast start` left running, even when the test fails.
struct Started<'a>(&'a Home);

impl Drop for Started<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["stop"], "");
    }
}

#[test]
fn a_full_disk_answers_unavailable_and_the_daemon_recovers_without_a_restart() {
    if !is_root() {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let home = Home::new();
    let disk = Tmpfs::mount(&home.path().join("data"), "4m");
    disk.fill();
    // `holdfast start` sends the daemon's stderr to data/daemon.log, on the full disk.
    let out = home.run(&["start"], "");
    assert!(out.status.success(), "start on a full disk: {}", String::from_utf8_lossy(&out.stderr));
    let started = Started(&home);
    for raw in ["ls", "echo hi", "rm -rf /tmp/x"] {
        let reply = propose(&home, raw);
        assert_eq!(error_code(&reply).as_deref(), Some("unavailable"), "{raw}: {reply:?}");
    }
    assert!(status(&home).log_failures > 0, "the daemon's log lines failed on the full disk and were counted");
    disk.free();
    wait_for(Duration::from_secs(10), || is_allow(&propose(&home, "ls")));
    // The disk fills again while the log is open. A record larger than a page cannot fit in the
    // slack of the log file's last page: its partial write is cut back and nothing is allowed.
    disk.fill();
    let long = format!("echo {}", "a".repeat(16 << 10));
    for _ in 0..5 {
        let reply = propose(&home, &long);
        assert_eq!(error_code(&reply).as_deref(), Some("unavailable"), "{reply:?}");
    }
    disk.free();
    wait_for(Duration::from_secs(10), || is_allow(&propose(&home, &long)));
    drop(started);
    let kinds = log_kinds(&home);
    assert_eq!(kinds.first().map(String::as_str), Some("genesis"), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "daemon_start").count(), 1, "{kinds:?}");
    verify_log(&home);
}

#[test]
fn with_a_full_disk_and_tight_memory_no_proposal_is_allowed() {
    if !is_root() {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let home = Home::new();
    let disk = Tmpfs::mount(&home.path().join("data"), "4m");
    disk.fill();
    // Address space for the daemon as it starts, plus 64 MiB: a 16 MiB frame and its parse do not fit.
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg("ulimit -v 160000 && exec \"$0\" daemon")
        .arg(daemon::bin())
        .env_clear()
        .env("HOLDFAST_HOME", home.path())
        .env("HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let d = daemon::Daemon { child: sh.spawn().unwrap(), client: home.client() };
    d.wait_ready();
    let big = format!("echo {}", "a".repeat(1 << 20));
    for raw in ["ls", "rm -rf /", big.as_str(), "git status"] {
        let reply = propose(&home, raw);
        assert!(!is_allow(&reply), "{reply:?}");
    }
}
