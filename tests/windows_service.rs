//! The daemon as a Windows service, through the Service Control Manager: `sc create`, `sc start`,
//! a ping over its pipe, `sc stop` (a clean stop: a `daemon_stop` record), `sc delete`. Runs under
//! Wine in `make test-windows` (Wine's services.exe and sc.exe), and on Windows as an administrator.
#![cfg(windows)]

#[path = "support/daemon.rs"]
mod daemon;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use daemon::Home;
use holdfast::paths::Endpoint;
use holdfast::transport::Client;
use holdfast::wire::{RequestBody, ResponseBody};

/// A path sc.exe and the SCM understand: under Wine, Cargo's `/unix/path` is `Z:\unix\path`.
fn windows_path(p: &str) -> String {
    if p.starts_with('/') { format!("Z:{}", p.replace('/', "\\")) } else { p.to_string() }
}

fn sc(args: &[&str]) -> Output {
    Command::new("sc.exe").args(args).output().expect("sc.exe runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Waits until `sc query` shows `state` (RUNNING, STOPPED).
fn wait_state(name: &str, state: &str) -> String {
    let start = Instant::now();
    loop {
        let out = text(&sc(&["query", name]));
        if out.contains(state) || start.elapsed() > Duration::from_secs(30) {
            return out;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Deletes the service however the test ends.
struct Installed(String);

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = sc(&["stop", &self.0]);
        let _ = sc(&["delete", &self.0]);
    }
}

#[test]
fn the_service_reports_running_answers_and_stops_cleanly_and_refuses_a_console() {
    let home = Home::new();
    // Outside the SCM, `--service` fails at once and says how to run the daemon. (In this test,
    // not a parallel one: Wine hands the service's control pipe to whichever process asks first.)
    let out = home.run(&["daemon", "--service"], "");
    assert!(!out.status.success() && text(&out).contains("Service Control Manager"), "{}", text(&out));

    let name = format!("holdfast-test-{}", std::process::id());
    let bin = windows_path(daemon::bin());
    // `--home`: a service's environment cannot be set by sc.exe, so the isolated home is an argument.
    let bin_path = format!("\"{bin}\" daemon --service --home \"{}\"", home.path().display());
    let out = sc(&["create", &name, "binPath=", &bin_path, "start=", "demand"]);
    assert!(out.status.success(), "sc create: {}", text(&out));
    let _installed = Installed(name.clone());

    let out = sc(&["start", &name]);
    assert!(out.status.success(), "sc start: {}", text(&out));
    let state = wait_state(&name, "RUNNING");
    assert!(state.contains("RUNNING"), "the service did not report Running: {state}");

    // The daemon the SCM started answers on the pipe its PID file names (the pipe name carries
    // the service's user name, which is not the test's).
    let start = Instant::now();
    let pong = loop {
        let written = std::fs::read_to_string(home.paths().pid_file()).unwrap_or_default();
        let endpoint = written.lines().nth(1).map(|p| p.trim_start_matches(r"\\.\pipe\").to_string());
        let client = endpoint.map(|p| Client::new(Endpoint::Pipe(p)).with_timeout(Duration::from_secs(5)));
        let answer = client.map(|c| c.request(RequestBody::Ping).map(|r| r.body));
        match answer {
            Some(Ok(ResponseBody::Pong(p))) => break p,
            other => {
                let files: Vec<_> = walk(home.path());
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "no pong from the service: {other:?} {files:?} {written:?}"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    };
    // Still running after the SCM's start timeout would have killed a daemon that ignored it.
    assert!(text(&sc(&["query", &name])).contains("RUNNING"));

    let out = sc(&["stop", &name]);
    assert!(out.status.success(), "sc stop: {}", text(&out));
    let state = wait_state(&name, "STOPPED");
    assert!(state.contains("STOPPED"), "the service did not stop: {state}");
    let stops: Vec<_> = holdfast::audit::read_records(&home.paths().audit_log())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|r| r.kind == "daemon_stop")
        .collect();
    assert_eq!(stops.len(), 1, "a clean stop writes one daemon_stop record (daemon pid {})", pong.pid);
    assert!(!home.paths().pid_file().exists(), "the PID file is removed on stop");
}

/// Every file under `dir` (for failure messages).
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}
