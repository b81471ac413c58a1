//! A thief with every file of a holdfast home (vault.json, seal.key, the audit log, a leftover
//! verification key) tries to forge an admin proof (DESIGN §6, docs/vault.md).
//!
//! v2: nothing readable answers a challenge — every forgery is refused, online and offline.
//! v1: the vault's `auth_key` answers by itself — the same thief approves a held command. This is
//! why `holdfast vault upgrade` matters; after it, the same attack is refused.
#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/loot.rs"]
mod loot;

use daemon::{Daemon, Home};
use hmac::{KeyInit, Mac};
use holdfast::vault::{AuthKey, Vault, VaultKey, proof};
use holdfast::wire::{
    AuthBegin, Challenge, Decide, ErrorCode, PendingState, Proof, Proposal, RequestBody, ResponseBody,
};
use loot::loot;

const PW: &str = "correct horse battery staple";

fn challenge(d: &Daemon, op: &str) -> Challenge {
    match d.request(RequestBody::AuthBegin(AuthBegin { op: op.into() })) {
        ResponseBody::Challenge(c) => c,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

/// Proposes a destructive command and returns its pending id.
fn hold(d: &Daemon) -> String {
    let p = Proposal { agent: "thief".into(), cwd: daemon::abs_cwd(), raw: "rm -rf /".into(), ..Default::default() };
    match d.request(RequestBody::Propose(p)) {
        ResponseBody::Verdict(v) => v.pending.expect("rm -rf / is held in attended mode"),
        other => panic!("expected a verdict, got {other:?}"),
    }
}

/// Approves `id` with `proof`: `Ok` when the daemon accepted it.
fn approve(d: &Daemon, id: &str, proof: Proof) -> Result<(), ErrorCode> {
    match d.request(RequestBody::Approve(Decide { pending: id.into(), remember: false, proof })) {
        ResponseBody::Pending(p) if p.state == PendingState::Approved => Ok(()),
        ResponseBody::Error(e) => Err(e.code),
        other => panic!("unexpected answer {other:?}"),
    }
}

/// Everything the thief tries with one lifted value against `c`: the value as a v1 `auth_key`,
/// as an Ed25519 seed, and as `K` (deriving the seed the way holdfast does).
fn forgeries(value: &[u8; 32], c: &Challenge) -> Vec<(&'static str, Proof)> {
    let mut nonce = [0u8; 32];
    hex::decode_to_slice(c.nonce.as_ref().unwrap(), &mut nonce).unwrap();
    let id = c.daemon_id.clone().unwrap_or_default();
    let mut as_k = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(value).unwrap();
    as_k.update(b"holdfast signing key v2");
    let seed_from_k: [u8; 32] = as_k.finalize().into_bytes().into();
    let sign = |seed: &[u8; 32]| proof::sign(&ed25519_dalek::SigningKey::from_bytes(seed), &c.op, &nonce, &id).to_vec();
    [
        ("as v1 auth_key", proof::proof(&AuthKey::from_bytes(*value), &c.op, &nonce).to_vec()),
        ("as ed25519 seed", sign(value)),
        ("as K", sign(&seed_from_k)),
    ]
    .into_iter()
    .map(|(how, p)| (how, Proof { nonce: c.nonce.clone(), proof: Some(hex::encode(p)) }))
    .collect()
}

/// Starts a daemon with a vault and a held command; returns them with the held id.
fn daemon_with_hold(home: &Home) -> (Daemon, String) {
    let d = home.daemon(&[]);
    let id = hold(&d);
    (d, id)
}

fn admin_outcomes(home: &Home) -> Vec<String> {
    std::fs::read_to_string(home.paths().audit_log())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["body"]["kind"] == "admin")
        .map(|r| {
            format!("{}={}", r["body"]["data"]["op"].as_str().unwrap(), r["body"]["data"]["outcome"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn nothing_readable_in_a_v2_home_forges_a_proof() {
    let home = Home::new();
    // The daemon runs first so the log, seal.key and the plaintext verification key all exist.
    home.daemon(&[]).terminate();
    let out = home.run(&["vault", "init", "--password-stdin"], &format!("{PW}\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let vault = Vault::load(&home.paths().vault()).unwrap().unwrap();
    let VaultKey::V2(public) = vault.key else { panic!("new vaults are v2") };
    let (d, id) = daemon_with_hold(&home);
    let op = format!("approve:{id}");
    let loot = loot(&home);
    assert!(loot.iter().any(|(n, _)| n.ends_with("vault.json")), "the vault holds a 64-hex key field");
    assert!(loot.iter().any(|(n, _)| n.ends_with("seal.key")), "the loot includes seal.key");

    // Offline, every forgery from every lifted value fails the daemon's own check.
    let c = challenge(&d, &op);
    assert_eq!(c.vault_v, Some(2));
    let mut nonce = [0u8; 32];
    hex::decode_to_slice(c.nonce.as_ref().unwrap(), &mut nonce).unwrap();
    let daemon_id = c.daemon_id.clone().unwrap();
    for (name, value) in &loot {
        for (how, p) in forgeries(value, &c) {
            let sig = hex::decode(p.proof.unwrap()).unwrap();
            assert!(!proof::verify_signature(&public, &op, &nonce, &daemon_id, &sig), "{name} {how} forged a proof");
        }
    }
    // Online: the vault's public key used each way, and the current sealing key, are each refused
    // (four attempts: below the lockout, so each is judged on its proof) and recorded.
    let vault_value = loot.iter().find(|(n, _)| n.ends_with("vault.json")).unwrap().1;
    let seal_value = loot.iter().find(|(n, _)| n.ends_with("seal.key")).unwrap().1;
    let tries = [(vault_value, 0), (vault_value, 1), (vault_value, 2), (seal_value, 1)];
    for (value, how) in tries {
        let c = challenge(&d, &op);
        let (label, p) = forgeries(&value, &c).swap_remove(how);
        assert_eq!(approve(&d, &id, p), Err(ErrorCode::Unauthorized), "{label}");
    }
    // The password still works, bound to this daemon: the admin's proof approves.
    let c = challenge(&d, &op);
    approve(&d, &id, holdfast::vault::answer(PW, &c).unwrap()).expect("the password approves");
    let outcomes = admin_outcomes(&home);
    assert_eq!(outcomes.iter().filter(|o| **o == format!("{op}=bad_proof")).count(), 4, "{outcomes:?}");
    assert!(outcomes.contains(&format!("{op}=ok")), "{outcomes:?}");
    d.terminate_authorized(&home, PW);
}

#[test]
fn a_v1_vault_file_answers_challenges_until_upgraded() {
    let home = Home::new();
    home.daemon(&[]).terminate();
    // A legacy v1 vault, as older builds wrote it.
    let (v2, k) = Vault::create(PW).unwrap();
    let v1 = Vault { key: VaultKey::V1(k.auth_key()), ..v2 };
    v1.save_new(&home.paths().vault()).unwrap();
    let (d, id) = daemon_with_hold(&home);
    let status = d.request(RequestBody::Status);
    let ResponseBody::Status(s) = status else { panic!("{status:?}") };
    assert!(s.vault.contains("v1 vault") && s.vault.contains("holdfast vault upgrade"), "{}", s.vault);
    let doctor = String::from_utf8(home.run(&["doctor"], "").stdout).unwrap();
    assert!(doctor.contains("WARN vault") && doctor.contains("vault upgrade"), "{doctor}");

    // The thief reads vault.json and approves its own held command without the password.
    let op = format!("approve:{id}");
    let auth_key = loot(&home).into_iter().find(|(n, _)| n.ends_with("vault.json")).unwrap().1;
    let c = challenge(&d, &op);
    let (_, forged) = forgeries(&auth_key, &c).swap_remove(0);
    assert_eq!(approve(&d, &id, forged), Ok(()), "a v1 vault's auth_key answers by itself");
    d.terminate_authorized(&home, PW);

    let out = home.run(&["vault", "upgrade", "--password-stdin"], &format!("{PW}\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(home.paths().vault()).unwrap();
    assert!(text.starts_with("{\"v\":2,") && !text.contains("auth_key"), "{text}");
    let (d, id) = daemon_with_hold(&home);
    let op = format!("approve:{id}");
    // The stolen v1 key (kept from before the upgrade) no longer answers, nor does the new file.
    let c = challenge(&d, &op);
    let (_, forged) = forgeries(&auth_key, &c).swap_remove(0);
    assert_eq!(approve(&d, &id, forged), Err(ErrorCode::Unauthorized));
    let c = challenge(&d, &op);
    approve(&d, &id, holdfast::vault::answer(PW, &c).unwrap()).expect("the password approves after upgrade");
    d.terminate_authorized(&home, PW);
}
