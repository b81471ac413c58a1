//! docs/protocol.md is enough to write a client: a Python client written from the document alone
//! (tests/python/client.py) talks to the real daemon and checks every answer it relies on.
#![cfg(unix)]
#[path = "support/daemon.rs"]
mod daemon;

use std::process::Command;

#[test]
fn a_client_written_from_the_protocol_doc_works() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let home = daemon::Home::new();
    let _d = home.daemon(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/client.py");
    let out = Command::new("python3").arg(script).arg(home.socket()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python client failed: {stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}
