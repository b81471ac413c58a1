//! README claims no other test exercised: pause and the kill switch survive a `kill -9` (state is
//! rebuilt from the log), a vault owned by another user leaves the daemon degraded, and
//! `log verify --anchor` fails once the anchored record is gone.
#[path = "support/daemon.rs"]
mod daemon;

#[path = "support/admin.rs"]
mod admin;

use daemon::{Daemon, Home};
#[cfg(unix)]
use holdfast::wire::ErrorCode;
use holdfast::wire::{Proof, RequestBody, ResponseBody, Status};

fn status(d: &Daemon) -> Status {
    match d.request(RequestBody::Status) {
        ResponseBody::Status(s) => s,
        other => panic!("{other:?}"),
    }
}

/// README "How a command is decided": the log rebuilds memory, the kill switch and pause; a
/// `kill -9` loses none of them.
#[test]
fn pause_and_the_kill_switch_survive_a_kill_9() {
    let home = Home::new();
    let d = home.daemon(&[]);
    assert!(matches!(d.request(RequestBody::Pause(Proof::default())), ResponseBody::Ack(_)));
    d.kill9();
    let d = home.daemon(&[]);
    let s = status(&d);
    assert!(s.paused && !s.panic, "after a restart: paused {} panic {}", s.paused, s.panic);
    assert!(matches!(d.request(RequestBody::Resume(Proof::default())), ResponseBody::Ack(_)));
    assert!(matches!(d.request(RequestBody::Panic), ResponseBody::Ack(_)));
    d.kill9();
    let d = home.daemon(&[]);
    let s = status(&d);
    assert!(!s.paused && s.panic, "after a restart: paused {} panic {}", s.paused, s.panic);
}

/// README "Admin vault": a vault file owned by another user leaves the daemon degraded: every
/// privileged operation is refused, and `status` says why.
#[cfg(unix)]
#[test]
fn a_vault_owned_by_another_user_degrades_the_daemon() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("SKIPPED: changing a file's owner needs root");
        return;
    }
    let home = Home::new();
    admin::init_vault(&home, "correct horse battery staple");
    let vault = home.paths().vault();
    std::os::unix::fs::chown(&vault, Some(12345), None).unwrap();
    let d = home.daemon(&[]);
    let s = status(&d);
    assert!(s.vault.starts_with("degraded") && s.vault.contains("owned by uid 12345"), "{}", s.vault);
    match d.request(RequestBody::Pause(Proof::default())) {
        ResponseBody::Error(e) => assert_eq!(e.code, ErrorCode::Unauthorized, "{e:?}"),
        other => panic!("a degraded vault refuses pause: {other:?}"),
    }
    assert!(!status(&d).paused);
}

/// README "External anchor": `log verify --anchor SEQ:HASH` (the line `log head` prints) fails unless
/// the file still holds that record with that hash.
#[cfg(unix)]
#[test]
fn log_verify_anchor_fails_when_the_anchored_record_is_gone_or_differs() {
    let home = Home::new();
    let d = home.daemon(&[]);
    for raw in ["ls", "pwd", "whoami"] {
        let p = holdfast::wire::Proposal {
            agent: "t".into(),
            cwd: daemon::abs_cwd(),
            raw: raw.into(),
            ..Default::default()
        };
        assert!(matches!(d.request(RequestBody::Propose(p)), ResponseBody::Verdict(_)));
    }
    let head = String::from_utf8(home.run(&["log", "head"], "").stdout).unwrap();
    let anchor = head
        .split_whitespace()
        .skip_while(|w| *w != "anchor")
        .nth(1)
        .unwrap_or_else(|| panic!("no `anchor SEQ:HASH` in {head:?}"))
        .to_string();
    let (status, _) = d.terminate();
    assert!(status.success());
    let verify = |anchor: &str| home.run(&["log", "verify", "--anchor", anchor], "").status.code();
    assert_eq!(verify(&anchor), Some(0), "the intact log holds its anchor");
    let (seq, hash) = anchor.split_once(':').unwrap();
    let other = format!(
        "{seq}:{}",
        if hash.starts_with('0') { hash.replacen('0', "1", 1) } else { hash.replacen(&hash[..1], "0", 1) }
    );
    assert_eq!(verify(&other), Some(8), "a hash the record does not have");
    // Cut the anchored record and everything after it, as an agent hiding its tracks would.
    let log = home.paths().audit_log();
    let text = std::fs::read_to_string(&log).unwrap();
    let keep: Vec<&str> = text.lines().take_while(|l| !l.contains(&format!("\"seq\":{seq},"))).collect();
    assert!(keep.len() < text.lines().count(), "the anchored record was found");
    std::fs::write(&log, format!("{}\n", keep.join("\n"))).unwrap();
    assert_eq!(verify(&anchor), Some(8), "the anchored record is gone");
}
