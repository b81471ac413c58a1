//! Argon2id password derivation and the keys derived from its output (DESIGN §6).
//!
//! `K = Argon2id(password, salt)` (32 bytes) is never stored. From it:
//! - v2: `seed = HMAC-SHA256(K, "holdfast signing key v2")`, the Ed25519 signing key whose public key the
//!   vault stores; only the public key is on disk, so the file answers no challenge;
//! - v1 (legacy): `auth_key = HMAC-SHA256(K, "holdfast auth v1")`, stored in the vault and
//!   password-equivalent (whoever reads it answers every challenge);
//! - `seal_wrap = k0 XOR HMAC-SHA256(K, "holdfast seal wrap v1")` wraps the audit log's verification key
//!   `k0`. Only `K` (i.e. the password) can unwrap it: the pad is not derivable from `auth_key`.

use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::VaultError;
use crate::wire::KdfParams;

/// Memory cost in KiB of new vaults (OWASP's Argon2id minimum, 19 MiB).
pub(crate) const M_KIB: u32 = 19_456;
/// Iterations of new vaults.
pub(crate) const T_COST: u32 = 2;
/// Lanes of new vaults.
pub(crate) const P_COST: u32 = 1;
/// Largest memory cost a vault may ask for (1 GiB): a hostile vault or daemon must not exhaust the client.
pub(crate) const MAX_M_KIB: u32 = 1 << 20;
/// Largest iteration count a vault may ask for.
pub(crate) const MAX_T_COST: u32 = 64;
/// Largest lane count a vault may ask for.
pub(crate) const MAX_P_COST: u32 = 16;

const AUTH_LABEL: &[u8] = b"holdfast auth v1";
const SEAL_WRAP_LABEL: &[u8] = b"holdfast seal wrap v1";
const SIGNING_LABEL: &[u8] = b"holdfast signing key v2";

/// The parameters new vaults are created with.
pub fn default_params() -> KdfParams {
    KdfParams { alg: "argon2id".into(), m_kib: M_KIB, t: T_COST, p: P_COST }
}

/// Accepts only Argon2id at least as strong as the defaults and bounded above.
pub(crate) fn check_params(k: &KdfParams) -> Result<(), VaultError> {
    let ok = k.alg == "argon2id"
        && (M_KIB..=MAX_M_KIB).contains(&k.m_kib)
        && (T_COST..=MAX_T_COST).contains(&k.t)
        && (P_COST..=MAX_P_COST).contains(&k.p);
    if ok {
        Ok(())
    } else {
        Err(VaultError::Kdf(format!(
            "unsupported key derivation {} m_kib={} t={} p={} (need argon2id, m_kib {M_KIB}..={MAX_M_KIB}, \
             t {T_COST}..={MAX_T_COST}, p {P_COST}..={MAX_P_COST})",
            k.alg, k.m_kib, k.t, k.p
        )))
    }
}

/// HMAC-SHA256 of the concatenated `parts` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// `K`, the Argon2id output. Zeroized on drop; never stored.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl MasterKey {
    /// Derives `K = Argon2id(password, salt)` with `params` (checked first).
    pub fn derive(password: &[u8], salt: &[u8; 16], params: &KdfParams) -> Result<Self, VaultError> {
        check_params(params)?;
        let p = Params::new(params.m_kib, params.t, params.p, Some(32)).map_err(|e| VaultError::Kdf(e.to_string()))?;
        let mut out = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
            .hash_password_into(password, salt, out.as_mut())
            .map_err(|e| VaultError::Kdf(e.to_string()))?;
        Ok(MasterKey(out))
    }

    /// `auth_key = HMAC-SHA256(K, "holdfast auth v1")`.
    pub fn auth_key(&self) -> AuthKey {
        AuthKey(Zeroizing::new(hmac_sha256(self.0.as_ref(), &[AUTH_LABEL])))
    }

    /// The v2 signing key: Ed25519 from the seed `HMAC-SHA256(K, "holdfast signing key v2")`.
    /// Domain separated from `auth_key` and the seal pad, so none of them reveals another.
    pub fn signing_key(&self) -> ed25519_dalek::SigningKey {
        let seed = Zeroizing::new(hmac_sha256(self.0.as_ref(), &[SIGNING_LABEL]));
        ed25519_dalek::SigningKey::from_bytes(&seed)
    }

    /// The v2 public key (what `vault.json` stores).
    pub fn public_key(&self) -> ed25519_dalek::VerifyingKey {
        self.signing_key().verifying_key()
    }

    /// `seal_wrap = k0 XOR HMAC-SHA256(K, "holdfast seal wrap v1")`.
    pub fn wrap_key(&self, k0: &[u8; 32]) -> [u8; 32] {
        let pad = Zeroizing::new(hmac_sha256(self.0.as_ref(), &[SEAL_WRAP_LABEL]));
        std::array::from_fn(|i| k0[i] ^ pad[i])
    }

    /// Inverse of [`MasterKey::wrap_key`]. No integrity of its own: check the password against
    /// `auth_key` first (as [`super::Vault::unlock`] does); a tampered wrap shows up as failing seals.
    pub fn unwrap_key(&self, wrapped: &[u8; 32]) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.wrap_key(wrapped))
    }
}

/// The vault's `auth_key`: whoever holds it can answer challenges. Zeroized on drop.
#[derive(Clone)]
pub struct AuthKey(Zeroizing<[u8; 32]>);

impl AuthKey {
    /// Wraps raw key bytes (as read from the vault file).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        AuthKey(Zeroizing::new(bytes))
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant-time check that `self` is the auth key derived from `k`.
    pub fn matches(&self, k: &MasterKey) -> bool {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(k.0.as_ref()).expect("HMAC accepts any key");
        mac.update(AUTH_LABEL);
        mac.verify_slice(self.0.as_ref()).is_ok()
    }
}

impl std::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derive_is_deterministic_and_salted() {
        let p = default_params();
        let a = MasterKey::derive(b"correct horse battery", &[1; 16], &p).unwrap();
        let b = MasterKey::derive(b"correct horse battery", &[1; 16], &p).unwrap();
        let c = MasterKey::derive(b"correct horse battery", &[2; 16], &p).unwrap();
        assert_eq!(a.auth_key().as_bytes(), b.auth_key().as_bytes());
        assert_ne!(a.auth_key().as_bytes(), c.auth_key().as_bytes());
        assert!(a.auth_key().matches(&b));
        assert!(!c.auth_key().matches(&a));
    }

    #[test]
    fn signing_key_is_derived_from_k_only() {
        let p = default_params();
        let a = MasterKey::derive(b"correct horse battery", &[1; 16], &p).unwrap();
        let b = MasterKey::derive(b"correct horse battery", &[1; 16], &p).unwrap();
        let c = MasterKey::derive(b"correct horse battery", &[2; 16], &p).unwrap();
        assert_eq!(a.public_key(), b.public_key());
        assert_ne!(a.public_key(), c.public_key());
        // Distinct labels: the signing seed is neither K, auth_key nor the seal pad.
        let seed = a.signing_key().to_bytes();
        assert_ne!(&seed, a.auth_key().as_bytes());
        assert_ne!(seed, a.wrap_key(&[0; 32]));
        assert_ne!(&seed, a.0.as_ref());
    }

    #[test]
    fn wrap_round_trips_and_depends_on_k() {
        let p = default_params();
        let k = MasterKey::derive(b"correct horse battery", &[1; 16], &p).unwrap();
        let other = MasterKey::derive(b"wrong horse battery", &[1; 16], &p).unwrap();
        let k0 = [7u8; 32];
        let w = k.wrap_key(&k0);
        assert_ne!(w, k0);
        assert_eq!(*k.unwrap_key(&w), k0);
        assert_ne!(*other.unwrap_key(&w), k0);
    }

    #[test]
    fn weak_or_huge_params_are_refused() {
        let mut p = default_params();
        p.m_kib = 8;
        assert!(check_params(&p).is_err());
        let mut p = default_params();
        p.m_kib = MAX_M_KIB + 1;
        assert!(check_params(&p).is_err());
        let mut p = default_params();
        p.alg = "argon2i".into();
        assert!(check_params(&p).is_err());
        assert!(check_params(&default_params()).is_ok());
    }
}
