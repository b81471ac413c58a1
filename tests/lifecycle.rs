//! Daemon lifecycle through the real binary: start, status, stop, signals, stale endpoints.
#![cfg(unix)]

#[path = "support/daemon.rs"]
mod daemon;

use daemon::Home;

#[test]
fn sigterm_removes_socket_and_pid_file() {
    let home = Home::new();
    let d = home.daemon(&[]);
    d.assert_alive();
    assert!(home.socket().exists());
    assert!(home.paths().pid_file().exists());
    let (status, _) = d.terminate();
    assert!(status.success(), "{status}");
    assert!(!home.socket().exists(), "socket left behind");
    assert!(!home.paths().pid_file().exists(), "pid file left behind");
}

#[test]
fn start_status_stop_through_the_cli() {
    let home = Home::new();
    let out = home.run(&["start", "--json"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["started"], true);
    let pid = v["pid"].as_u64().unwrap();

    let out = home.run(&["status", "--json"], "");
    assert!(out.status.success());
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["running"], true);
    assert_eq!(s["pid"].as_u64(), Some(pid));
    assert_eq!(s["endpoint"].as_str().unwrap(), home.socket().to_str().unwrap());

    let out = home.run(&["ping"], "");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("pid {pid}")));

    let out = home.run(&["stop"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!home.socket().exists());

    let out = home.run(&["status", "--json"], "");
    assert_eq!(out.status.code(), Some(3), "not running is exit 3");
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["running"], false);
    assert_eq!(home.run(&["ping"], "").status.code(), Some(3));
}

#[test]
fn second_daemon_refuses_and_leaves_the_first_unharmed() {
    let home = Home::new();
    let first = home.daemon(&[]);
    let out = home.run(&["daemon"], "");
    assert_eq!(out.status.code(), Some(7), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("already running (pid {})", first.pid())), "{err}");
    first.assert_alive();
    assert!(home.socket().exists());
    let out = home.run(&["start"], "");
    assert_eq!(out.status.code(), Some(7));
    first.assert_alive();
}

#[test]
fn start_reclaims_the_socket_of_a_killed_daemon() {
    let home = Home::new();
    let d = home.daemon(&[]);
    d.kill9();
    assert!(home.socket().exists(), "kill -9 leaves the socket behind");
    let out = home.run(&["start", "--json"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pid = v["pid"].as_u64().unwrap() as u32;
    let pid_file = std::fs::read_to_string(home.paths().pid_file()).unwrap();
    assert!(pid_file.starts_with(&format!("{pid}\n")), "{pid_file}");
    assert!(home.run(&["stop"], "").status.success());
}

#[test]
fn a_non_socket_at_the_endpoint_is_never_removed() {
    let home = Home::new();
    std::fs::create_dir_all(home.socket().parent().unwrap()).unwrap();
    std::fs::write(home.socket(), b"precious").unwrap();
    let out = home.run(&["daemon"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a socket"));
    assert_eq!(std::fs::read(home.socket()).unwrap(), b"precious");
}

#[test]
fn endpoint_and_state_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    let _d = home.daemon(&[]);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(home.socket().parent().unwrap()), 0o700);
    assert_eq!(mode(&home.socket()), 0o600);
    assert_eq!(mode(&home.paths().pid_file()), 0o600);
    assert_eq!(mode(&home.paths().data_dir), 0o700);
    assert_eq!(mode(&home.paths().config_dir), 0o700);
}

#[test]
fn a_socket_path_too_long_is_a_clear_error() {
    let home = Home::new();
    let long = format!("/tmp/{}/holdfast.sock", "x".repeat(120));
    let out = home.cmd().arg("daemon").env("HOLDFAST_SOCKET", &long).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("longer than the platform limit"), "{err}");
}

#[test]
fn concurrent_clients_all_get_correct_answers() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let pid = d.pid();
    let threads: Vec<_> = (0..64)
        .map(|t| {
            let client = home.client();
            std::thread::spawn(move || {
                for i in 0..100 {
                    let id = format!("{t}-{i}");
                    let req = holdfast::wire::Request { id: Some(id.clone()), body: holdfast::wire::RequestBody::Ping };
                    let reply = client.exchange(&req.to_frame()).expect("ping failed under load");
                    let r = holdfast::wire::decode_response(&reply).unwrap();
                    assert_eq!(r.id.as_deref(), Some(id.as_str()), "answer went to the wrong request");
                    match r.body {
                        holdfast::wire::ResponseBody::Pong(p) => assert_eq!(p.pid, pid),
                        other => panic!("{other:?}"),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    d.assert_alive();
}

#[test]
fn durability_comes_from_the_policy_unless_a_flag_says_otherwise() {
    let status = |home: &Home, extra: &[&str]| {
        let d = home.daemon(extra);
        match d.request(holdfast::wire::RequestBody::Status) {
            holdfast::wire::ResponseBody::Status(s) => s.durability,
            other => panic!("{other:?}"),
        }
    };
    let home = Home::new();
    assert_eq!(status(&home, &[]), "always");
    std::fs::create_dir_all(home.path().join("config")).unwrap();
    std::fs::write(home.path().join("config/policy.toml"), "[daemon]\ndurability = \"batch\"\nbatch_ms = 7\n").unwrap();
    assert_eq!(status(&home, &[]), "batch (every 7 ms)");
    assert_eq!(status(&home, &["--durability", "always"]), "always");
}
