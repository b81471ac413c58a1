//! The Windows personal posture through the real binary: `service install --user` writes the
//! logon entries (`HKCU\…\Run`: the daemon and the notifier, as the user, no administrator) and
//! starts the daemon now; `service status` lists the entries; `service uninstall --user` removes
//! them and stops the daemon; both are safe to repeat. Runs under Wine in `make test-windows`.
//! What Wine cannot show: that a real logon runs the entries.
#![cfg(windows)]

#[path = "support/daemon.rs"]
mod daemon;

use std::process::{Command, ExitStatus, Output, Stdio};

use daemon::Home;
use holdfast::service::windows::RUN_KEY;

/// The command a logon entry runs, if it exists.
fn logon_entry(name: &str) -> Option<String> {
    let out = Command::new("reg").args(["query", RUN_KEY, "/v", name]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text.lines().find(|l| l.contains("REG_SZ"))?;
    out.status.success().then(|| line.split_once("REG_SZ").unwrap().1.trim().to_owned())
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `holdfast args…` with its output in a file: a command that starts the daemon hands it every
/// inheritable handle (std's spawn), so a capturing pipe would stay open as long as the daemon runs.
fn run_starting(home: &Home, args: &[&str]) -> (ExitStatus, String) {
    let log = home.path().join(format!("out-{}.txt", args.join("-")));
    let file = std::fs::File::create(&log).unwrap();
    let status = home.cmd().args(args).stdin(Stdio::null()).stdout(file.try_clone().unwrap()).stderr(file).status();
    (status.unwrap(), std::fs::read_to_string(&log).unwrap())
}

/// Uninstalls at the end even when an assertion failed: the Wine prefix is shared by the suite.
struct Uninstall<'a>(&'a Home);

impl Drop for Uninstall<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["service", "uninstall", "--user"], "");
    }
}

#[test]
fn a_user_install_starts_at_logon_and_an_uninstall_removes_it() {
    let home = Home::new();
    let _cleanup = Uninstall(&home);
    let (status, out) = run_starting(&home, &["service", "install", "--user"]);
    assert!(status.success(), "install: {out}");
    let daemon = logon_entry("holdfast").expect("the daemon's logon entry");
    assert!(daemon.starts_with('"') && daemon.ends_with("holdfast.exe\" start"), "{daemon}");
    let notify = logon_entry("holdfast-notify").expect("the notifier's logon entry");
    assert!(notify.ends_with("\" notify"), "{notify}");
    assert!(!out.contains("sc.exe"), "the personal posture installs no service: {out}");
    // Started now, not only at the next logon.
    assert_eq!(home.run(&["ping"], "").status.code(), Some(0));

    let (status, again) = run_starting(&home, &["service", "install", "--user"]);
    assert!(status.success() && again.contains("already running"), "{again}");
    let status = text(&home.run(&["service", "status"], ""));
    assert!(status.contains(&format!("logon entry    holdfast: {daemon}")), "{status}");

    let out = home.run(&["service", "uninstall", "--user"], "");
    assert!(out.status.success(), "uninstall: {}", text(&out));
    assert_eq!(logon_entry("holdfast"), None);
    assert_eq!(logon_entry("holdfast-notify"), None);
    assert_eq!(home.run(&["ping"], "").status.code(), Some(3), "the daemon is stopped");
    let again = home.run(&["service", "uninstall", "--user"], "");
    assert!(again.status.success() && text(&again).contains("was not installed"), "{}", text(&again));
    let status = text(&home.run(&["service", "status"], ""));
    assert!(status.contains("logon entry    holdfast not installed"), "{status}");
}
