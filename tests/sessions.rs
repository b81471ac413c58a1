//! Approval sessions through the real daemon: the admin password once, then approvals signed by an
//! ephemeral key, for approve/deny/resolve only, until expiry, revocation or a restart.
#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/loot.rs"]
mod loot;

use std::time::Duration;

use daemon::{Daemon, Home};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use holdfast::session::SessionKey;
use holdfast::wire::{
    AuthBegin, Decide, PendingState, Proof, Proposal, RequestBody, ResponseBody, SessionOpen, SessionRef,
};

const PW: &str = "correct horse battery staple";

fn init_vault(home: &Home) {
    let out = home.run(&["vault", "init", "--password-stdin"], &format!("{PW}\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The admin's proof for `op`, from the password, through the library's client-side API.
fn admin_proof(d: &Daemon, op: &str, password: &str) -> Proof {
    let ResponseBody::Challenge(c) = d.request(RequestBody::AuthBegin(AuthBegin { op: op.into() })) else { panic!() };
    holdfast::vault::answer(password, &c).unwrap()
}

fn open(d: &Daemon, ttl_s: Option<u64>, password: &str) -> Result<SessionKey, String> {
    let mut key = SessionKey::generate().unwrap();
    let proof = admin_proof(d, &key.open_op(), password);
    match d.request(RequestBody::SessionOpen(SessionOpen { public_key: key.public_hex(), ttl_s, proof })) {
        ResponseBody::Session(info) => {
            key.session = Some(info.session);
            Ok(key)
        }
        ResponseBody::Error(e) => Err(e.message),
        other => panic!("{other:?}"),
    }
}

fn hold(d: &Daemon, n: usize) -> String {
    let raw = format!("git push --force origin b{n}");
    let p = Proposal { agent: "t".into(), cwd: daemon::abs_cwd(), raw, ..Default::default() };
    match d.request(RequestBody::Propose(p)) {
        ResponseBody::Verdict(v) => v.pending.expect("held"),
        other => panic!("{other:?}"),
    }
}

fn approve(d: &Daemon, id: &str, proof: Proof) -> Result<PendingState, String> {
    match d.request(RequestBody::Approve(Decide { pending: id.into(), remember: false, proof })) {
        ResponseBody::Pending(i) => Ok(i.state),
        ResponseBody::Error(e) => Err(e.message),
        other => panic!("{other:?}"),
    }
}

fn log_kinds(home: &Home) -> Vec<String> {
    std::fs::read_to_string(home.paths().audit_log())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["body"]["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn one_password_then_ten_approvals_each_recorded() {
    let home = Home::new();
    init_vault(&home);
    let d = home.daemon(&[]);
    assert!(open(&d, None, "not the password").is_err(), "a wrong password opens nothing");
    let mut key = open(&d, None, PW).unwrap();
    for n in 0..10 {
        let id = hold(&d, n);
        let proof = key.prove(&format!("approve:{id}")).unwrap();
        assert_eq!(approve(&d, &id, proof), Ok(PendingState::Approved));
    }
    let kinds = log_kinds(&home);
    assert_eq!(kinds.iter().filter(|k| *k == "session_open").count(), 1);
    assert_eq!(kinds.iter().filter(|k| *k == "session_use").count(), 10);
    assert_eq!(kinds.iter().filter(|k| *k == "approve").count(), 10);
    let ResponseBody::SessionList { items } = d.request(RequestBody::ListSessions) else { panic!() };
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].uses, 10);
}

#[test]
fn a_session_answers_holds_only_once_per_signature_and_nothing_else() {
    let home = Home::new();
    init_vault(&home);
    let d = home.daemon(&[]);
    let mut key = open(&d, None, PW).unwrap();
    let a = hold(&d, 1);
    let proof = key.prove(&format!("approve:{a}")).unwrap();
    assert_eq!(approve(&d, &a, proof.clone()), Ok(PendingState::Approved));
    // Replayed on another hold: refused (the op and the counter are signed).
    let b = hold(&d, 2);
    assert!(approve(&d, &b, proof).unwrap_err().contains("approval session"));
    // A signature for deny does not approve.
    let deny_proof = key.prove(&format!("deny:{b}")).unwrap();
    assert!(approve(&d, &b, deny_proof).is_err());
    // Pause, release, shutdown are not session ops: the session's signature is no admin proof.
    let pause = key.prove("pause").unwrap();
    assert!(matches!(d.request(RequestBody::Pause(pause)), ResponseBody::Error(_)));
    let ResponseBody::Status(s) = d.request(RequestBody::Status) else { panic!() };
    assert!(!s.paused);
    // Another key claiming the session: refused, and after five bad signatures the session is closed.
    let mut forger = SessionKey::generate().unwrap();
    forger.session = key.session.clone();
    for _ in 0..5 {
        let p = forger.prove(&format!("approve:{b}")).unwrap();
        assert!(approve(&d, &b, p).is_err());
    }
    let good = key.prove(&format!("approve:{b}")).unwrap();
    assert!(approve(&d, &b, good).unwrap_err().contains("unknown or closed"), "closed after forgeries");
}

#[test]
fn expired_revoked_and_restarted_sessions_are_refused() {
    let home = Home::new();
    init_vault(&home);
    let d = home.daemon(&[]);
    let mut short = open(&d, Some(1), PW).unwrap();
    let mut revoked = open(&d, None, PW).unwrap();
    let mut survivor = open(&d, None, PW).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let id = hold(&d, 1);
    let p = short.prove(&format!("approve:{id}")).unwrap();
    assert!(approve(&d, &id, p).unwrap_err().contains("unknown or closed"));
    let out = home.run(&["sessions", "--revoke", revoked.session.as_deref().unwrap()], "");
    assert!(out.status.success(), "{out:?}");
    let p = revoked.prove(&format!("approve:{id}")).unwrap();
    assert!(approve(&d, &id, p).is_err());
    let listed = home.run(&["sessions", "--json"], "");
    let v: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    // A restart ends every session: nothing of it is on disk.
    drop(d);
    let d = home.daemon(&[]);
    let id = hold(&d, 2);
    let p = survivor.prove(&format!("approve:{id}")).unwrap();
    assert!(approve(&d, &id, p).is_err());
    let kinds = log_kinds(&home);
    assert!(kinds.iter().filter(|k| *k == "session_close").count() >= 2, "expiry and revocation recorded");
    match d.request(RequestBody::SessionClose(SessionRef { session: "nope".into() })) {
        ResponseBody::Error(e) => assert_eq!(e.code, holdfast::wire::ErrorCode::NotFound),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_thief_with_every_file_cannot_open_or_use_a_session() {
    let home = Home::new();
    init_vault(&home);
    let d = home.daemon(&[]);
    let mut key = open(&d, None, PW).unwrap();
    let session = key.session.clone().unwrap();
    let id = hold(&d, 1);
    let op = format!("approve:{id}");
    let loot = loot::loot(&home);
    assert!(loot.iter().any(|(n, _)| n.ends_with("vault.json")), "the loot includes the vault");

    // Offline: no lifted value, used as the session's signing key, signs for the open session
    // (nothing of the session's secret is on disk).
    let mut public = [0u8; 32];
    hex::decode_to_slice(key.public_hex(), &mut public).unwrap();
    let public = VerifyingKey::from_bytes(&public).unwrap();
    for (name, value) in &loot {
        let thief = SigningKey::from_bytes(value);
        for counter in 1..=3 {
            let sig = thief.sign(&holdfast::session::message(&session, counter, &op)).to_bytes();
            assert!(!holdfast::session::verify(&public, &session, counter, &op, &sig), "{name} signs for the session");
        }
    }

    // Online: a session of the thief's own, its admin proof signed with each lifted vault and
    // sealing value, is refused (four tries, below the lockout, so each is judged on its proof).
    let mut thief = SessionKey::generate().unwrap();
    let picks = ["vault.json", "seal.key"].map(|f| loot.iter().find(|(n, _)| n.ends_with(f)).unwrap().1);
    for value in [picks[0], picks[1], picks[0], picks[1]] {
        let ResponseBody::Challenge(c) = d.request(RequestBody::AuthBegin(AuthBegin { op: thief.open_op() })) else {
            panic!()
        };
        let mut nonce = [0u8; 32];
        hex::decode_to_slice(c.nonce.as_ref().unwrap(), &mut nonce).unwrap();
        let sig = holdfast::vault::proof::sign(
            &SigningKey::from_bytes(&value),
            &c.op,
            &nonce,
            c.daemon_id.as_deref().unwrap(),
        );
        let proof = Proof { nonce: c.nonce.clone(), proof: Some(hex::encode(sig)) };
        let answer =
            d.request(RequestBody::SessionOpen(SessionOpen { public_key: thief.public_hex(), ttl_s: None, proof }));
        assert!(matches!(answer, ResponseBody::Error(_)), "a forged admin proof opened a session: {answer:?}");
    }
    thief.session = Some(session.clone());
    let forged = thief.prove(&op).unwrap();
    assert!(approve(&d, &id, forged).is_err(), "the thief's key answers for the admin's session");
    // The admin's session is untouched by all of it.
    let proof = key.prove(&op).unwrap();
    assert_eq!(approve(&d, &id, proof), Ok(PendingState::Approved));
    assert_eq!(log_kinds(&home).iter().filter(|k| *k == "session_open").count(), 1);
}
