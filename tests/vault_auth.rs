//! Admin vault and challenge-response through the real binary (DESIGN §6).
#[path = "support/daemon.rs"]
mod daemon;

#[path = "support/admin.rs"]
mod admin;

use std::process::Stdio;
use std::time::Duration;

use admin::Admin;
use daemon::{Daemon, Home, wait_timeout};
use holdfast::vault::Vault;
use holdfast::wire::{AuthBegin, Challenge, ErrorCode, Proof, RequestBody, ResponseBody, WireError};

const PW: &str = "correct horse battery staple";
const PW2: &str = "another long admin password";

use admin::{challenge, init_vault};

fn auth_key(home: &Home, pw: &str) -> Admin {
    Admin::unlock(home, pw)
}

fn answer(key: &Admin, c: &Challenge, op: &str) -> Proof {
    key.answer(c, op)
}

fn wrong_key() -> Admin {
    Admin::impostor()
}

fn err(body: ResponseBody) -> WireError {
    match body {
        ResponseBody::Error(e) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// `pause` is gated: `Ok` means the proof was accepted (and the daemon paused).
fn pause(d: &Daemon, p: Proof) -> Result<(), WireError> {
    match d.request(RequestBody::Pause(p)) {
        ResponseBody::Ack(_) => Ok(()),
        other => Err(err(other)),
    }
}

fn vault_status(d: &Daemon) -> String {
    match d.request(RequestBody::Status) {
        ResponseBody::Status(s) => s.vault,
        other => panic!("expected status, got {other:?}"),
    }
}

/// `holdfast stop --password-stdin`. Stdin errors are ignored: when the daemon refuses before the
/// password is read, the CLI may exit before the test writes it.
fn stop_with(home: &Home, stdin: &str) -> std::process::Output {
    let mut child = home
        .cmd()
        .args(["stop", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin.as_bytes());
    child.wait_with_output().unwrap()
}

#[test]
fn no_vault_allows_stop_and_status_says_so() {
    let home = Home::new();
    let mut d = home.daemon(&[]);
    assert_eq!(vault_status(&d), "unlocked (no vault)");
    let c = challenge(&d, "shutdown");
    assert!(!c.locked && c.nonce.is_none());
    let out = home.run(&["vault", "status", "--json"], "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["file"], "absent");
    assert_eq!(v["daemon"]["vault"], "unlocked (no vault)");
    let out = home.run(&["stop"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(wait_timeout(&mut d.child, Duration::from_secs(10)).is_some(), "daemon did not stop");
}

#[test]
fn stop_needs_the_right_password() {
    let home = Home::new();
    init_vault(&home, PW);
    let mut d = home.daemon(&[]);
    // The log was created after the vault: the status also asks for `vault wrap-key`.
    assert!(vault_status(&d).starts_with("locked ("), "{}", vault_status(&d));
    assert_eq!(err(d.request(RequestBody::Shutdown(Proof::default()))).code, ErrorCode::Unauthorized);
    let out = stop_with(&home, "not the admin password\n");
    assert_eq!(out.status.code(), Some(6), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong admin password"));
    d.assert_alive();
    let out = stop_with(&home, &format!("{PW}\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(wait_timeout(&mut d.child, Duration::from_secs(10)).is_some(), "daemon did not stop");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut d.child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!stderr.contains(PW), "password in the daemon's log");
}

#[test]
fn proofs_are_single_use_and_bound_to_their_op() {
    let home = Home::new();
    init_vault(&home, PW);
    let d = home.daemon(&[]);
    let key = auth_key(&home, PW);
    // Two clients interleave: both challenges stay valid, answered in reverse order.
    let a = challenge(&d, "pause");
    let b = challenge(&d, "pause");
    assert_ne!(a.nonce, b.nonce);
    assert!(pause(&d, answer(&key, &b, "pause")).is_ok());
    let pa = answer(&key, &a, "pause");
    assert!(pause(&d, pa.clone()).is_ok());
    // Replay.
    let e = pause(&d, pa).unwrap_err();
    assert_eq!(e.code, ErrorCode::Unauthorized);
    assert!(e.message.contains("already used"), "{}", e.message);
    // A proof for another op, in both directions.
    let c = challenge(&d, "resume");
    assert_eq!(pause(&d, answer(&key, &c, "resume")).unwrap_err().code, ErrorCode::Unauthorized);
    let c = challenge(&d, "approve:ABC123");
    let e = pause(&d, answer(&key, &c, "pause")).unwrap_err();
    assert!(e.message.contains("another operation"), "{}", e.message);
    // Three failures so far; a success resets the throttle before the next ones.
    let c = challenge(&d, "pause");
    assert!(pause(&d, answer(&key, &c, "pause")).is_ok());
    // A wrong key.
    let c = challenge(&d, "pause");
    let e = pause(&d, answer(&wrong_key(), &c, "pause")).unwrap_err();
    assert!(e.message.contains("wrong admin password"), "{}", e.message);
    // Hostile ops and nonces are typed errors and the daemon keeps serving.
    let e = err(d.request(RequestBody::AuthBegin(AuthBegin { op: "x".repeat(100_000) })));
    assert_eq!(e.code, ErrorCode::InvalidField);
    let junk = Proof { nonce: Some("not hex".into()), proof: Some("zz".into()) };
    assert_eq!(pause(&d, junk).unwrap_err().code, ErrorCode::Unauthorized);
    // Two failures since the reset: a good proof still works.
    let c = challenge(&d, "pause");
    assert!(pause(&d, answer(&key, &c, "pause")).is_ok());
    d.assert_alive();
}

/// README "Admin vault": up to 16 challenges may be outstanding; with 16 live a new one is refused
/// (`conflict`) rather than cancelling someone else's, and each of the 16 can still be answered.
#[test]
fn a_seventeenth_challenge_is_refused_and_cancels_none_of_the_sixteen() {
    let home = Home::new();
    init_vault(&home, PW);
    let d = home.daemon(&[]);
    let key = auth_key(&home, PW);
    let outstanding: Vec<Challenge> = (0..16).map(|_| challenge(&d, "pause")).collect();
    let e = err(d.request(RequestBody::AuthBegin(AuthBegin { op: "pause".into() })));
    assert_eq!(e.code, ErrorCode::Conflict, "{e:?}");
    assert!(e.message.contains("16 challenges are already outstanding"), "{}", e.message);
    // Answering the oldest frees a slot; the refused request cancelled nothing, so all 16 still work.
    let mut answers = outstanding.iter().map(|c| answer(&key, c, "pause"));
    assert!(pause(&d, answers.next().unwrap()).is_ok(), "the oldest challenge was not cancelled");
    let seventeenth = challenge(&d, "pause");
    for (i, p) in answers.enumerate() {
        assert!(pause(&d, p).is_ok(), "challenge {} was cancelled", i + 2);
    }
    assert!(pause(&d, answer(&key, &seventeenth, "pause")).is_ok());
}

#[test]
fn expired_nonce_is_refused() {
    let home = Home::new();
    init_vault(&home, PW);
    let d = home.daemon(&["--auth-nonce-ttl-ms", "100"]);
    let key = auth_key(&home, PW);
    let c = challenge(&d, "pause");
    std::thread::sleep(Duration::from_millis(300));
    let e = pause(&d, answer(&key, &c, "pause")).unwrap_err();
    assert_eq!(e.code, ErrorCode::Unauthorized);
    assert!(e.message.contains("expired"), "{}", e.message);
    // The flag can only shorten the lifetime.
    let out = home.run(&["daemon", "--auth-nonce-ttl-ms", "3600000"], "");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn lockout_after_five_failures_and_reset_on_success() {
    let home = Home::new();
    init_vault(&home, PW);
    let d = home.daemon(&[]);
    let key = auth_key(&home, PW);
    let fail = |n: usize| {
        for _ in 0..n {
            let c = challenge(&d, "pause");
            assert_eq!(pause(&d, answer(&wrong_key(), &c, "pause")).unwrap_err().code, ErrorCode::Unauthorized);
        }
    };
    let succeed = || {
        let c = challenge(&d, "pause");
        assert!(pause(&d, answer(&key, &c, "pause")).is_ok());
    };
    // Four failures, a success, four more: never locked out, because the success reset the count.
    fail(4);
    succeed();
    fail(4);
    succeed();
    // Five in a row: locked out, even with the right password.
    let held = challenge(&d, "pause");
    fail(5);
    let e = pause(&d, answer(&key, &held, "pause")).unwrap_err();
    assert_eq!(e.code, ErrorCode::LockedOut);
    assert!(e.message.contains("try again in 30 s"), "{}", e.message);
    assert_eq!(err(d.request(RequestBody::AuthBegin(AuthBegin { op: "pause".into() }))).code, ErrorCode::LockedOut);
    assert!(vault_status(&d).starts_with("locked (locked out for"), "{}", vault_status(&d));
    let out = stop_with(&home, &format!("{PW}\n"));
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("try again in"), "{}", String::from_utf8_lossy(&out.stderr));
    d.assert_alive();
}

#[test]
fn degraded_vault_refuses_privileged_ops() {
    let home = Home::new();
    init_vault(&home, PW);
    let path = home.paths().vault();
    let good = std::fs::read_to_string(&path).unwrap();
    // Tests run as root, who reads any file whatever its mode, so "unreadable" is produced with a
    // directory named vault.json (open/read fails for everyone) rather than chmod 0000.
    type Damage<'a> = Box<dyn Fn() + 'a>;
    let cases: Vec<(&str, Damage)> = vec![
        ("garbage", Box::new(|| std::fs::write(&path, b"\x00\xffnot json").unwrap())),
        ("truncated", Box::new(|| std::fs::write(&path, &good[..good.len() / 2]).unwrap())),
        ("wrong version", Box::new(|| std::fs::write(&path, good.replace("\"v\":2", "\"v\":9")).unwrap())),
        ("short salt", Box::new(|| std::fs::write(&path, good.replace("\"salt\":\"", "\"salt\":\"ab")).unwrap())),
        (
            "directory",
            Box::new(|| {
                std::fs::remove_file(&path).unwrap();
                std::fs::create_dir(&path).unwrap();
            }),
        ),
    ];
    // Permission bits exist only on Unix (Windows files carry ACLs, which the vault does not check).
    #[cfg(unix)]
    let cases = {
        use std::os::unix::fs::PermissionsExt;
        let mut cases = cases;
        cases.push((
            "group-readable",
            Box::new(|| {
                let _ = std::fs::remove_dir(&path);
                std::fs::write(&path, &good).unwrap();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
            }),
        ));
        cases
    };
    for (name, damage) in cases {
        damage();
        let d = home.daemon(&[]);
        let status = vault_status(&d);
        assert!(status.starts_with("degraded: "), "{name}: {status}");
        let e = err(d.request(RequestBody::Shutdown(Proof::default())));
        assert_eq!(e.code, ErrorCode::Unauthorized, "{name}");
        assert!(e.message.contains("degraded"), "{name}: {}", e.message);
        assert_eq!(
            err(d.request(RequestBody::AuthBegin(AuthBegin { op: "shutdown".into() }))).code,
            ErrorCode::Unauthorized
        );
        let out = stop_with(&home, &format!("{PW}\n"));
        assert_eq!(out.status.code(), Some(6), "{name}");
        d.assert_alive();
        d.kill9();
        let _ = std::fs::remove_file(home.paths().pid_file());
    }
}

#[test]
fn passwd_replaces_the_password_at_next_start() {
    let home = Home::new();
    init_vault(&home, PW);
    let before = std::fs::read(home.paths().vault()).unwrap();
    let out = home.run(&["vault", "passwd", "--password-stdin"], &format!("wrong old password\n{PW2}\n"));
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(std::fs::read(home.paths().vault()).unwrap(), before, "vault changed by a failed passwd");
    let out = home.run(&["vault", "passwd", "--password-stdin"], &format!("{PW}\nshort\n"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12"));
    let out = home.run(&["vault", "passwd", "--password-stdin"], &format!("{PW}\n{PW2}\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut d = home.daemon(&[]);
    let out = stop_with(&home, &format!("{PW}\n"));
    assert_eq!(out.status.code(), Some(6), "the old password still works");
    let out = stop_with(&home, &format!("{PW2}\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(wait_timeout(&mut d.child, Duration::from_secs(10)).is_some());
}

#[test]
fn vault_init_rules() {
    let home = Home::new();
    let out = home.run(&["vault", "init", "--password-stdin"], "elevenchars\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12 characters"));
    assert!(!home.paths().vault().exists());
    let out = home.run(&["vault", "init", "--password-stdin"], "");
    assert!(!out.status.success(), "an empty stdin must not create a vault");
    init_vault(&home, PW);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.paths().vault()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Refused before reading stdin (so no stdin here: writing to it would hit a closed pipe).
    let out = home.cmd().args(["vault", "init", "--password-stdin"]).stdin(Stdio::null()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert!(Vault::load(&home.paths().vault()).unwrap().unwrap().unlock(PW).is_ok(), "second init clobbered");
    let out = home.run(&["vault", "status", "--json"], "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["file"], "present");
    assert_eq!(v["detail"]["kdf"]["m_kib"], 19456);
    assert_eq!(v["daemon"]["running"], false);
    let text = std::fs::read_to_string(home.paths().vault()).unwrap();
    assert!(!text.contains(PW));
}

/// The `admin` audit records: (op, outcome) in log order.
fn admin_records(home: &Home) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(home.paths().audit_log()).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["body"]["kind"] == "admin")
        .map(|v| {
            let d = &v["body"]["data"];
            assert_eq!(d.as_object().unwrap().len(), 2, "an admin record holds only op and outcome: {d}");
            assert!(v["body"]["peer"]["pid"].is_u64(), "the caller's pid is recorded: {v}");
            (d["op"].as_str().unwrap().to_string(), d["outcome"].as_str().unwrap().to_string())
        })
        .collect()
}

/// Stops `d` without an admin attempt and returns its stderr: SIGTERM on Unix. Windows has no
/// signal for it and its `shutdown` request is itself a gated, audited attempt (refused while
/// locked out), so there the daemon is killed; every record was on disk before its answer.
fn stop(d: Daemon) -> String {
    if cfg!(windows) { d.kill_for_stderr() } else { d.terminate().1 }
}

/// Every attempt, good or bad, is an `admin` audit record with its outcome; the password, the nonces
/// and the proofs never reach the audit log (nor the daemon's stderr).
#[test]
fn admin_attempts_are_audited_without_secrets() {
    let home = Home::new();
    init_vault(&home, PW);
    let key = auth_key(&home, PW);
    let mut secrets: Vec<String> = vec![PW.into(), "a wrong password here".into(), key.secret_hex()];
    let mut keep = |p: &Proof| {
        secrets.extend(p.nonce.clone());
        secrets.extend(p.proof.clone());
        p.clone()
    };
    let d = home.daemon(&[]);
    let held = challenge(&d, "pause");
    let c = challenge(&d, "pause");
    let good = keep(&answer(&key, &c, "pause"));
    assert!(pause(&d, good.clone()).is_ok()); // ok
    let _ = pause(&d, good); // replay
    let c = challenge(&d, "resume");
    let _ = pause(&d, keep(&answer(&key, &c, "resume"))); // wrong_op
    let out = stop_with(&home, "a wrong password here\n"); // bad_proof
    assert_eq!(out.status.code(), Some(6));
    for _ in 0..2 {
        let c = challenge(&d, "pause");
        let _ = pause(&d, keep(&answer(&wrong_key(), &c, "pause"))); // bad_proof
    }
    assert_eq!(pause(&d, keep(&answer(&key, &held, "pause"))).unwrap_err().code, ErrorCode::LockedOut); // locked_out
    let stderr1 = stop(d);
    let d = home.daemon(&["--auth-nonce-ttl-ms", "100"]);
    let c = challenge(&d, "pause");
    std::thread::sleep(Duration::from_millis(300));
    let _ = pause(&d, keep(&answer(&key, &c, "pause"))); // expired
    let stderr2 = stop(d);
    let outcomes: Vec<String> = admin_records(&home).into_iter().map(|(_, o)| o).collect();
    assert_eq!(
        outcomes,
        ["ok", "replay", "wrong_op", "bad_proof", "bad_proof", "bad_proof", "locked_out", "expired"],
        "{outcomes:?}"
    );
    assert_eq!(admin_records(&home)[3].0, "shutdown");
    let audit = std::fs::read_to_string(home.paths().audit_log()).unwrap();
    for text in [&audit, &stderr1, &stderr2] {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "secret {s:?} logged");
        }
    }

    // No vault, then a degraded one.
    let home = Home::new();
    let d = home.daemon(&[]);
    assert!(pause(&d, Proof::default()).is_ok());
    stop(d);
    std::fs::write(home.paths().vault(), b"not a vault").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(home.paths().vault(), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let d = home.daemon(&[]);
    assert_eq!(pause(&d, Proof::default()).unwrap_err().code, ErrorCode::Unauthorized);
    stop(d);
    assert_eq!(admin_records(&home), [("pause".into(), "no_vault".into()), ("pause".into(), "degraded".into())]);
}

/// If the admin record cannot be written, the attempt is refused even with the right password.
#[test]
#[cfg_attr(windows, ignore = "needs `ulimit -f` through `sh`; Windows has no per-process file-size limit")]
fn admin_attempt_fails_closed_when_the_log_cannot_be_written() {
    let home = Home::new();
    init_vault(&home, PW);
    let key = auth_key(&home, PW);
    // A file-size limit (in 512-byte blocks) the log reaches after a few records.
    let mut cmd = std::process::Command::new("sh");
    cmd.env_clear()
        .env("HOLDFAST_HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .arg("-c")
        .arg("ulimit -f 6 && exec \"$0\" daemon")
        .arg(daemon::bin())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let d = Daemon { child: cmd.spawn().unwrap(), client: home.client() };
    d.wait_ready();
    // Fill the log to the last byte that fits a minimal record (cwd `/`, empty command); the admin
    // record for `shutdown` (`{"op":"shutdown","outcome":"ok"}`, kind `admin`) is 1 byte longer than
    // one, so it cannot fit.
    let mut refused = 0;
    for i in 0..200 {
        let raw = if refused == 0 { format!("echo {i} {}", "x".repeat(150)) } else { String::new() };
        let p = holdfast::wire::Proposal { raw, cwd: "/".into(), ..Default::default() };
        if let ResponseBody::Error(e) = d.request(RequestBody::Record(p)) {
            assert_eq!(e.code, ErrorCode::Unavailable);
            refused += 1;
            if refused == 2 {
                break;
            }
        }
    }
    assert_eq!(refused, 2, "the log never filled up");
    let c = challenge(&d, "shutdown");
    let e = err(d.request(RequestBody::Shutdown(answer(&key, &c, "shutdown"))));
    assert_eq!(e.code, ErrorCode::Unavailable, "{e:?}");
    assert!(e.message.contains("nothing was recorded"), "{}", e.message);
    d.assert_alive();
}
