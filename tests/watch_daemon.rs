//! The watcher against the REAL daemon: a 10,000-file burst is coalesced into far fewer
//! audited `observe` records, and the daemon keeps answering `ping` throughout.
//! Also `start --watch` / `stop`.
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
    let deadline = Instant::now() + Duration::from_secs(60);
    while !burst.is_finished() {
        match d.client.request(RequestBody::Ping).expect("ping failed during the burst").body {
            ResponseBody::Pong(p) => assert_eq!(p.pid, d.pid()),
            other => panic!("expected pong, got {other:?}"),
        }
        pings += 1;
        assert!(Instant::now() < deadline, "the burst never finished");
        std::thread::sleep(Duration::from_millis(5));
    }
    burst.join().unwrap();
    assert!(pings > 0);
    // Every create is accounted for in the audit log, in far fewer records than changes.
    let log_path = home.paths().audit_log();
    let observed = || -> (u64, usize) {
        let records: Vec<_> = holdfast::audit::read_records(&log_path)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|r| r.kind == "observe" && r.data["change"] == "create")
            .collect();
        (records.iter().map(|r| r.data["count"].as_u64().unwrap_or(1)).sum(), records.len())
    };
    wait_until(Duration::from_secs(30), "the burst to be recorded", || {
        d.assert_alive();
        observed().0 >= 10_000
    });
    let (creates, records) = observed();
    assert_eq!(creates, 10_000, "each create counted exactly once");
    assert!(records < 1_000, "{records} observe records for a 10,000-file burst");
    let (status, log) = w.terminate();
    assert!(status.success(), "{log}");
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
