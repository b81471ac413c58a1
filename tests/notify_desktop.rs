//! `holdfast notify` announces each new hold on the desktop: tested against a private D-Bus session
//! bus, with `dbus-monitor` as the listener (no notification server runs here, so the call is seen
//! on the bus rather than drawn on a screen).
#![cfg(target_os = "linux")]
#[path = "support/daemon.rs"]
mod daemon;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use daemon::Home;

/// A child process killed on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(program: &str) -> bool {
    Command::new(program).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

#[test]
fn each_new_hold_is_announced_once_on_the_session_bus() {
    if !have("dbus-daemon") || !have("dbus-monitor") {
        eprintln!("skipped: dbus-daemon or dbus-monitor is not installed (Debian: dbus-daemon, dbus-bin)");
        return;
    }
    let home = Home::new();
    let _d = home.daemon(&[]);
    let bus_path = home.path().join("bus");
    let address = format!("unix:path={}", bus_path.display());
    let _bus = Killed(
        Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", &format!("--address={address}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !bus_path.exists() {
        assert!(Instant::now() < deadline, "the session bus did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut monitor = Killed(
        Command::new("dbus-monitor")
            .args(["--address", &address, "interface='org.freedesktop.Notifications'"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let notify = Killed(
        home.cmd()
            .args(["notify", "--interval-ms", "200"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500)); // the monitor and the notifier are connected
    let out = home.run(&["propose", "--json", "--agent", "codex", "--", "git push --force origin main"], "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["pending"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(1500)); // several polls: the hold must be announced once
    drop(notify);
    let _ = monitor.0.kill();
    let mut seen = String::new();
    monitor.0.stdout.take().unwrap().read_to_string(&mut seen).unwrap();
    let calls = seen.matches("member=Notify").count();
    assert_eq!(calls, 1, "one Notify call for one hold:\n{seen}");
    assert!(seen.contains(&format!("holdfast held a catastrophic command ({id})")), "{seen}");
    assert!(seen.contains("codex: git push --force origin main"), "{seen}");
    assert!(seen.contains(&format!("holdfast approve {id}")), "{seen}");
}

#[test]
fn without_a_session_bus_notify_says_what_to_use_instead() {
    let home = Home::new();
    let out = home.run(&["notify"], "");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no desktop session") && err.contains("holdfast console"), "{err}");
}
