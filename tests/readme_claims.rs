//! README claims no other test exercised: pause and the kill switch survive a `kill -9` (state is
//! rebuilt from the log), and a vault owned by another user leaves the daemon degraded.
#[path = "support/daemon.rs"]
mod daemon;

#[path = "support/admin.rs"]
mod admin;

use daemon::{Daemon, Home};
use holdfast::wire::{ErrorCode, Proof, RequestBody, ResponseBody, Status};

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
