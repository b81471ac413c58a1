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
