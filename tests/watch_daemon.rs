//! The watcher against the REAL daemon: it answers `observe` with `unavailable`
//! on this branch (the audit wiring lands separately), which the watcher treats
//! like an audit log failing closed: spool and retry. The daemon must keep
//! answering `ping` throughout a 10,000-file burst. Also `start --watch` / `stop`.
#![cfg(target_os = "linux")]

#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/fake_daemon.rs"]
mod fake_daemon;

use std::time::{Duration, Instant};

use daemon::Home;
use fake_daemon::{WatchProc, wait_until};
use holdfast::wire::{RequestBody, ResponseBody};

#[test]
fn daemon_keeps_answering_ping_during_a_burst() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let tree = tempfile::Builder::new().prefix("hft").tempdir().unwrap();
    let root = tree.path().canonicalize().unwrap();
    std::fs::create_dir(root.join("burst")).unwrap();
    let mut cmd = home.cmd();
    cmd.arg("watch").arg(&root);
    let w = WatchProc::spawn(cmd);

    let burst_root = root.clone();
    let burst = std::thread::spawn(move || {
        for i in 0..10_000 {
            std::fs::File::create(burst_root.join(format!("burst/f{i:05}"))).unwrap();
        }
    });
    let mut pings = 0u32;
    let spool = home.path().join("data/watch.spool");
    let deadline = Instant::now() + Duration::from_secs(60);
    // Ping throughout the burst and until the watcher has spooled what the daemon refused.
    while !burst.is_finished() || !spool.exists() {
        match d.client.request(RequestBody::Ping).expect("ping failed during the burst").body {
            ResponseBody::Pong(p) => assert_eq!(p.pid, d.pid()),
            other => panic!("expected pong, got {other:?}"),
        }
        pings += 1;
        assert!(Instant::now() < deadline, "the watcher never spooled");
        std::thread::sleep(Duration::from_millis(5));
    }
    burst.join().unwrap();
    d.assert_alive();
    assert!(pings > 0);
    let log = w.log();
    assert!(log.contains("unavailable"), "{log}");
    // Coalesced: the spool holds far fewer entries than 10,000 changes.
    wait_until(Duration::from_secs(30), "the burst to be spooled", || {
        let text = std::fs::read_to_string(&spool).unwrap_or_default();
        let n: u64 = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["change"] == "create" || v["change"] == "overflow")
            .map(|v| v["count"].as_u64().unwrap_or(1))
            .sum();
        n >= 10_000 || text.contains("overflow")
    });
    let entries = std::fs::read_to_string(&spool).unwrap().lines().count();
    assert!(entries < 1_000, "{entries} spool entries");
    let (status, log) = w.terminate();
    assert!(status.success(), "{log}");
    assert!(spool.exists(), "the spool must survive the stop for the next run");
    d.assert_alive();
}

#[test]
fn start_watch_and_stop_manage_the_watcher() {
    let home = Home::new();
    let tree = tempfile::Builder::new().prefix("hft").tempdir().unwrap();
    let out = home.run(&["start", "--json", "--watch", tree.path().to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let watch_pid = v["watch_pid"].as_u64().expect("watch_pid") as i32;
    let pid_file = home.paths().run_dir.join("watch.pid");
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap().trim(), watch_pid.to_string());
    let alive = || rustix::process::test_kill_process(rustix::process::Pid::from_raw(watch_pid).unwrap()).is_ok();
    assert!(alive());

    let out = home.run(&["stop", "--json"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["watch_pid"], watch_pid);
    assert!(!pid_file.exists());
    // Reparented to init once `start` exited, so it is reaped and disappears.
    wait_until(Duration::from_secs(20), "the watcher to exit", || !alive());
    let log = std::fs::read_to_string(home.path().join("data/watch.log")).unwrap();
    assert!(log.contains("stopped"), "{log}");
}
