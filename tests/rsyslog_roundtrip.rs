//! Shipping the audit log with rsyslog, no home-made collector: `holdfast log export --follow`
//! writes the records to a file; a local rsyslogd reads it (imfile) and forwards it over TCP on
//! loopback to a second rsyslogd, the central store, which writes each message to a file; then
//! `holdfast log verify --file` checks the central copy's whole chain and every seal.
//!
//! Both rsyslogd run unprivileged-style: their own config, pid file and work directory in a
//! temp dir, foreground, no system socket (no imuxsock). Skipped, saying why, without rsyslogd
//! (`make test-deps` installs it on Debian/Ubuntu).
#![cfg(unix)]
#[path = "support/daemon.rs"]
mod daemon;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use daemon::{Daemon, Home};
use holdfast::wire::{Proposal, RequestBody, ResponseBody};

fn rsyslogd() -> Option<PathBuf> {
    ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"].iter().map(PathBuf::from).find(|p| p.exists()).or_else(|| {
        let out = Command::new("sh").args(["-c", "command -v rsyslogd"]).output().ok()?;
        out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    })
}

/// A free loopback TCP port (bound and released; the central rsyslogd binds it next).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `rsyslogd -n` with `conf` (written to `dir/name.conf`), its pid file in `dir`.
fn start(bin: &Path, dir: &Path, name: &str, conf: &str) -> Child {
    let work = dir.join(format!("{name}-work"));
    std::fs::create_dir_all(&work).unwrap();
    let conf = format!("global(workDirectory=\"{}\" maxMessageSize=\"64k\")\n{conf}", work.display());
    let path = dir.join(format!("{name}.conf"));
    std::fs::write(&path, conf).unwrap();
    let pid = dir.join(format!("{name}.pid"));
    Command::new(bin)
        .args(["-n", "-f"])
        .arg(&path)
        .arg("-i")
        .arg(&pid)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The central store: TCP on loopback, each message's text as one line of `file`.
fn central_conf(port: u16, file: &Path) -> String {
    format!(
        r#"module(load="imtcp")
template(name="line" type="string" string="%msg%\n")
ruleset(name="store") {{ action(type="omfile" file="{}" template="line") }}
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="store")
"#,
        file.display()
    )
}

/// The machine's shipper: reads the export file, forwards RFC 5424 over TCP.
fn forward_conf(export: &Path, port: u16) -> String {
    format!(
        r#"module(load="imfile" mode="polling" PollingInterval="1")
ruleset(name="ship") {{ action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp"
  template="RSYSLOG_SyslogProtocol23Format" action.resumeRetryCount="-1" queue.type="LinkedList") }}
input(type="imfile" file="{}" tag="holdfast" ruleset="ship" freshStartTail="off")
"#,
        export.display()
    )
}

fn propose(d: &Daemon, i: usize) {
    let raw =
        if i.is_multiple_of(7) { format!("rm -rf out{i}") } else { format!("echo \"shipped {i}\" | tee /tmp/x{i}") };
    let p = Proposal { agent: "test".into(), cwd: daemon::abs_cwd(), raw, ..Default::default() };
    assert!(matches!(d.request(RequestBody::Propose(p)), ResponseBody::Verdict(_)));
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(String::from).collect()
}

struct Killed(Vec<Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn records_shipped_through_rsyslog_verify_in_the_central_copy() {
    let Some(bin) = rsyslogd() else {
        eprintln!("SKIPPED: rsyslogd is not installed (`make test-deps` installs the rsyslog package)");
        return;
    };
    let home = Home::new();
    let tmp = tempfile::tempdir().unwrap();
    let (export, central) = (tmp.path().join("export.jsonl"), tmp.path().join("central.jsonl"));
    let d = home.daemon(&[]);
    for i in 0..20 {
        propose(&d, i);
    }
    let port = free_port();
    let mut procs = Killed(vec![start(&bin, tmp.path(), "central", &central_conf(port, &central))]);
    std::thread::sleep(Duration::from_millis(300));
    if let Ok(Some(st)) = procs.0[0].try_wait() {
        let mut err = String::new();
        let _ = std::io::Read::read_to_string(procs.0[0].stderr.as_mut().unwrap(), &mut err);
        eprintln!("SKIPPED: rsyslogd cannot run here ({st}): {err}");
        return;
    }
    procs.0.push(start(&bin, tmp.path(), "forward", &forward_conf(&export, port)));
    let out = std::fs::File::create(&export).unwrap();
    procs.0.push(home.cmd().args(["log", "export", "--follow"]).stdout(out).stderr(Stdio::null()).spawn().unwrap());
    for i in 20..40 {
        propose(&d, i);
    }
    let (st, _) = d.terminate();
    assert!(st.success());
    let local = lines(&home.paths().audit_log());
    daemon::wait_for(Duration::from_secs(30), || lines(&central).len() >= local.len());
    assert_eq!(lines(&central), local, "the central copy differs from the log");
    let key = home.paths().config_dir.join("verification.key");
    let v = home.run(&["log", "verify", "--file", central.to_str().unwrap(), "--key-file", key.to_str().unwrap()], "");
    let text = String::from_utf8_lossy(&v.stdout);
    assert!(v.status.success() && text.contains("every MAC checked"), "{text}");
}
