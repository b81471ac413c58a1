//! Test support for the admin vault: the ONE place tests turn a password into proofs.
//!
//! Include with `#[path = "support/admin.rs"] mod admin;` next to `support/daemon.rs`. Every proof
//! a test sends is made by [`Admin::answer`], which calls the library's own client-side proof
//! function, so a change of the proof scheme is adapted here and nowhere else.
#![allow(dead_code)] // each test binary uses a different subset

use holdfast::vault::{MasterKey, Vault, answer_with_key};
use holdfast::wire::{AuthBegin, Challenge, Proof, RequestBody, ResponseBody};

use super::daemon::{Daemon, Home};

/// Creates the admin vault of `home` with `password` (through the real CLI).
pub fn init_vault(home: &Home, password: &str) {
    let out = home.run(&["vault", "init", "--password-stdin"], &format!("{password}\n"));
    assert!(out.status.success(), "vault init failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Someone who can answer challenges: the holder of a password (right or wrong).
pub struct Admin {
    key: MasterKey,
}

impl Admin {
    /// The admin of `home`'s vault, unlocked with `password`.
    pub fn unlock(home: &Home, password: &str) -> Admin {
        let v = Vault::load(&home.paths().vault()).unwrap().expect("the home has a vault");
        Admin { key: v.unlock(password).expect("the vault password") }
    }

    /// Someone who does not know the password: proofs made with an unrelated key.
    pub fn impostor() -> Admin {
        let kdf = holdfast::vault::kdf::default_params();
        Admin { key: MasterKey::derive(b"not the admin password", &[0x55; 16], &kdf).unwrap() }
    }

    /// The secret this admin proves with (the Ed25519 signing key), in hex (to check that it never
    /// reaches a log).
    pub fn secret_hex(&self) -> String {
        hex::encode(self.key.signing_key().to_bytes())
    }

    /// A proof for `op`, over a fresh challenge for `op` from `d`.
    pub fn prove(&self, d: &Daemon, op: &str) -> Proof {
        self.answer(&challenge(d, op), op)
    }

    /// The answer to challenge `c`, proved for `op`.
    pub fn answer(&self, c: &Challenge, op: &str) -> Proof {
        // The library's own client-side proof, for `op` (which may differ from the challenge's op,
        // to test that a proof is bound to its op).
        answer_with_key(&self.key, &Challenge { op: op.into(), ..c.clone() }).unwrap()
    }
}

/// `auth_begin{op}` on `d`.
pub fn challenge(d: &Daemon, op: &str) -> Challenge {
    match d.request(RequestBody::AuthBegin(AuthBegin { op: op.into() })) {
        ResponseBody::Challenge(c) => c,
        other => panic!("expected a challenge for {op}, got {other:?}"),
    }
}
