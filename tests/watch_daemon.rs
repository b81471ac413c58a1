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
fn deletes_explained_by_an_allowed_rm_are_not_flagged_unexplained_ones_are() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let tree = tempfile::Builder::new().prefix("hft").tempdir().unwrap();
    let root = tree.path().canonicalize().unwrap();
    std::fs::create_dir(root.join(".git")).unwrap();
    for name in ["explained.txt", "sneaky.txt"] {
        std::fs::write(root.join(name), b"x").unwrap();
    }
    let mut cmd = home.cmd();
    cmd.arg("watch").arg(&root);
    let w = WatchProc::spawn(cmd);
    // Let the watcher settle on the tree before changing it.
    let probe = root.join("probe.txt");
    wait_until(Duration::from_secs(20), "the watcher to report a probe file", || {
        let _ = std::fs::write(&probe, b"p");
        observes(&home).iter().any(|r| r["path"].as_str().is_some_and(|p| p.ends_with("probe.txt")))
    });

    // An agent proposes `rm explained.txt`, it is allowed, and the file goes.
    let p = holdfast::wire::Proposal {
        agent: "test".into(),
        cwd: root.to_string_lossy().into_owned(),
        raw: "rm explained.txt".into(),
        ..Default::default()
    };
    match d.request(RequestBody::Propose(p)) {
        ResponseBody::Verdict(v) => assert_eq!(v.decision, holdfast::wire::Decision::Allow, "{v:?}"),
        other => panic!("{other:?}"),
    }
    std::fs::remove_file(root.join("explained.txt")).unwrap();
    // Something removes sneaky.txt without any command passing through a hook.
    std::fs::remove_file(root.join("sneaky.txt")).unwrap();

    let removal = |name: &str| {
        observes(&home)
            .into_iter()
            .find(|r| r["change"] == "remove" && r["path"].as_str().is_some_and(|p| p.ends_with(name)))
    };
    wait_until(Duration::from_secs(20), "both removals to be recorded", || {
        removal("explained.txt").is_some() && removal("sneaky.txt").is_some()
    });
    let explained = removal("explained.txt").unwrap();
    assert!(explained.get("bypass").is_none(), "explained by the allowed rm: {explained}");
    let sneaky = removal("sneaky.txt").unwrap();
    assert_eq!(sneaky["bypass"], true, "{sneaky}");
    match d.request(RequestBody::Status) {
        ResponseBody::Status(s) => assert!(s.bypass_flags >= 1, "{s:?}"),
        other => panic!("{other:?}"),
    }
    let tail = String::from_utf8(home.run(&["log", "tail", "-n", "50"], "").stdout).unwrap();
    assert!(tail.contains("sneaky.txt"), "{tail}");
    w.terminate();
}

/// The data of every `observe` record in the audit log.
fn observes(home: &Home) -> Vec<serde_json::Value> {
    holdfast::audit::read_records(&home.paths().audit_log())
        .map(|records| records.filter_map(Result::ok).filter(|r| r.kind == "observe").map(|r| r.data).collect())
        .unwrap_or_default()
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
