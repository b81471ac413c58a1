//! `holdfast log tail` shows local time (from `TZ`), or UTC with `--utc`.
// POSIX TZ strings: Unix only (Windows takes its zone from the system settings).
#![cfg(unix)]
#[path = "support/daemon.rs"]
mod daemon;

use daemon::Home;

fn tail(home: &Home, tz: &str, extra: &[&str]) -> String {
    let out = home.cmd().env("TZ", tz).args(["log", "tail"]).args(extra).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn tail_shows_local_time_by_default_and_utc_on_request() {
    let home = Home::new();
    let d = home.daemon(&[]);
    d.terminate();
    let genesis = holdfast::audit::read_records(&home.paths().audit_log()).unwrap().next().unwrap().unwrap();
    let utc: jiff::Timestamp = genesis.ts.parse().unwrap();
    let local = utc.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(3))).strftime("%Y-%m-%d %H:%M:%S +03:00");
    let shown = tail(&home, "<+03>-3", &[]);
    let first = shown.lines().next().unwrap();
    assert!(first.contains(&local.to_string()) && first.contains("genesis"), "{first} / {local}");
    let shown = tail(&home, "<+03>-3", &["--utc"]);
    let want = utc.strftime("%Y-%m-%d %H:%M:%SZ").to_string();
    assert!(shown.lines().next().unwrap().contains(&want), "{shown} / {want}");
}
