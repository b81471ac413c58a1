//! The record is on disk before the answer leaves (durability `always`): the real daemon runs under
//! `strace`, and the order of its syscalls must be write(record) → fdatasync(log) → send(verdict).
//! A `kill -9` crash test cannot see this (the page cache survives the process), so the syscalls are
//! watched directly. Linux only; skips with a printed reason where `strace` cannot trace (`make test`
//! installs it).
#![cfg(target_os = "linux")]

#[path = "support/daemon.rs"]
mod daemon;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use daemon::{Daemon, Home, wait_timeout};
use holdfast::wire::{Proposal, RequestBody, ResponseBody};

/// The syscalls that can carry a record, a sync or an answer.
const TRACED: &str = "trace=write,writev,pwrite64,pwritev,sendto,sendmsg,fdatasync,fsync";

/// Why `strace` cannot trace here, if it cannot.
fn strace_unusable() -> Option<String> {
    match Command::new("strace").args(["-o", "/dev/null", "true"]).stderr(Stdio::piped()).output() {
        Err(e) => Some(format!("strace is not installed ({e}); `make test` installs it")),
        Ok(o) if !o.status.success() => Some(format!("strace cannot trace: {}", String::from_utf8_lossy(&o.stderr))),
        Ok(_) => None,
    }
}

/// `holdfast daemon extra…` under `strace -f -y`, its syscalls written to `trace`.
fn traced_daemon(home: &Home, trace: &Path, extra: &[&str]) -> Daemon {
    let child = Command::new("strace")
        .args(["-f", "-qq", "-y", "-s", "4096", "-e", TRACED, "-o"])
        .arg(trace)
        .arg(daemon::bin())
        .arg("daemon")
        .args(extra)
        .env_clear()
        .env("HOLDFAST_HOME", home.path())
        .env("HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let d = Daemon { child, client: home.client() };
    d.wait_ready();
    d
}

/// Proposes `raw` on a daemon under strace, stops it, and returns the trace's lines.
fn trace_of_propose(extra: &[&str], raw: &str) -> Option<Vec<String>> {
    if let Some(why) = strace_unusable() {
        eprintln!("SKIPPED: {why}");
        return None;
    }
    let home = Home::new();
    let trace = home.path().join("daemon.strace");
    let mut d = traced_daemon(&home, &trace, extra);
    let p = Proposal { agent: "test".into(), cwd: daemon::abs_cwd(), raw: raw.into(), ..Default::default() };
    assert!(matches!(d.request(RequestBody::Propose(p)), ResponseBody::Verdict(_)));
    let pid = match d.request(RequestBody::Ping) {
        ResponseBody::Pong(p) => p.pid,
        other => panic!("{other:?}"),
    };
    // SIGTERM to the daemon itself (strace would detach and leave it running); strace then exits.
    let pid = rustix::process::Pid::from_raw(pid as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    assert!(wait_timeout(&mut d.child, Duration::from_secs(20)).is_some(), "the traced daemon did not stop");
    Some(std::fs::read_to_string(&trace).unwrap().lines().map(str::to_owned).collect())
}

/// Index of the first line after `from` for which `pred` holds.
fn first(lines: &[String], from: usize, pred: impl Fn(&str) -> bool) -> Option<usize> {
    lines.iter().enumerate().skip(from).find(|(_, l)| pred(l)).map(|(i, _)| i)
}

fn is_write(l: &str) -> bool {
    ["write(", "writev(", "pwrite64(", "pwritev("].iter().any(|s| l.contains(s))
}

/// The `fd</path>` a traced call works on (strace `-y`), e.g. `4</home/data/audit.jsonl>`.
fn fd_of(l: &str) -> Option<&str> {
    let start = l.find('(')? + 1;
    let end = start + l[start..].find('>')? + 1;
    Some(&l[start..end])
}

#[test]
fn the_record_is_fdatasynced_before_the_verdict_is_sent() {
    let marker = "echo sync-order-marker";
    let Some(lines) = trace_of_propose(&["--durability", "always"], marker) else { return };
    let record = first(&lines, 0, |l| is_write(l) && l.contains("/data/") && l.contains("sync-order-marker"))
        .unwrap_or_else(|| panic!("no write of the propose record in the trace:\n{}", lines.join("\n")));
    let log = fd_of(&lines[record]).unwrap();
    let answer = first(&lines, record, |l| l.contains("socket:[") && l.contains("verdict"))
        .unwrap_or_else(|| panic!("no verdict sent after the record:\n{}", lines[record..].join("\n")));
    let synced = lines[record..answer]
        .iter()
        .any(|l| (l.contains("fdatasync(") || l.contains("fsync(")) && fd_of(l) == Some(log));
    assert!(synced, "the verdict was sent before the record was synced:\n{}", lines[record..=answer].join("\n"));
}
