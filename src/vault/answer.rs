//! The client's half of challenge-response: the admin password (or `K` derived from it) and a
//! daemon's `challenge` in, the `Proof` to put in the privileged request out.
//!
//! One call for every client (CLI, tests, scripts): [`answer`] with the password, or
//! [`answer_with_key`] when `K` is already derived (to answer many challenges with one Argon2id run).

use super::VaultError;
use super::kdf::MasterKey;
use super::proof;
use crate::wire::{Challenge, Proof};

fn unhex<const N: usize>(what: &str, s: Option<&str>) -> Result<[u8; N], VaultError> {
    let mut out = [0u8; N];
    let s = s.ok_or_else(|| VaultError::BadChallenge(format!("the challenge has no {what}")))?;
    hex::decode_to_slice(s, &mut out)
        .map_err(|_| VaultError::BadChallenge(format!("the challenge's {what} is not {N} bytes of hex")))?;
    Ok(out)
}

/// `K` for `challenge`: Argon2id of `password` with the challenge's salt and parameters. The
/// parameters are bounded first, so a hostile endpoint cannot make the client allocate gigabytes.
pub fn derive_for(password: &str, challenge: &Challenge) -> Result<MasterKey, VaultError> {
    let salt = unhex::<16>("salt", challenge.salt.as_deref())?;
    let kdf = challenge.kdf.as_ref().ok_or_else(|| VaultError::BadChallenge("the challenge has no kdf".into()))?;
    MasterKey::derive(password.as_bytes(), &salt, kdf)
}

/// The proof answering `challenge` with the admin password (empty when the daemon has no vault).
pub fn answer(password: &str, challenge: &Challenge) -> Result<Proof, VaultError> {
    if !challenge.locked {
        return Ok(Proof::default());
    }
    answer_with_key(&derive_for(password, challenge)?, challenge)
}

/// The proof answering `challenge` with `K` already derived (from [`derive_for`] or
/// `Vault::unlock`). A v2 vault gets an Ed25519 signature bound to the op, the nonce and the
/// daemon's identity; a v1 vault the legacy HMAC.
pub fn answer_with_key(k: &MasterKey, challenge: &Challenge) -> Result<Proof, VaultError> {
    if !challenge.locked {
        return Ok(Proof::default());
    }
    let nonce = unhex::<32>("nonce", challenge.nonce.as_deref())?;
    let bytes = match challenge.vault_v.unwrap_or(1) {
        1 => proof::proof(&k.auth_key(), &challenge.op, &nonce).to_vec(),
        2 => {
            let id = challenge
                .daemon_id
                .as_deref()
                .ok_or_else(|| VaultError::BadChallenge("a version 2 challenge has no daemon_id".into()))?;
            proof::sign(&k.signing_key(), &challenge.op, &nonce, id).to_vec()
        }
        v => {
            return Err(VaultError::BadChallenge(format!(
                "the daemon's vault has version {v}; this build knows 1 and 2"
            )));
        }
    };
    Ok(Proof { nonce: challenge.nonce.clone(), proof: Some(hex::encode(bytes)) })
}
