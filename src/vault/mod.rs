//! The admin vault (DESIGN §6): the password-derived keys, the vault file, and challenge proofs.
//!
//! Whoever knows the admin password can answer the daemon's challenges for privileged operations
//! ([`mod@answer`]); see `daemon::auth` for the server side and docs/vault.md for the format. A v2
//! vault stores only a public key; a legacy v1 vault's `auth_key` also answers challenges.
//!
//! The vault also keeps the audit log's verification key `k0`, wrapped under the password
//! (`seal_wrap`). Only the CLI writes the vault file (`vault init|passwd|wrap-key`, which have the
//! password); the daemon reads it once at start. See [`handover`] for how `k0` gets from the daemon
//! into the vault.

pub mod answer;
pub mod file;
pub mod handover;
pub mod kdf;
pub mod proof;

pub use answer::{answer, answer_with_key, derive_for};
pub use file::{MIN_PASSWORD_CHARS, Vault, VaultKey, check_new_password};
pub use kdf::{AuthKey, MasterKey};
use zeroize::Zeroizing;

/// Why a vault operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The file cannot be read or written.
    #[error("{0}")]
    Io(String),
    /// Other users could read or replace the file.
    #[error("{0}")]
    Permissions(String),
    /// Not a well-formed vault object.
    #[error("vault.json is not a valid vault: {0}")]
    Malformed(String),
    /// A version this build does not read.
    #[error("vault.json has version {0}; this build reads versions 1 and 2")]
    UnsupportedVersion(u32),
    /// A hex field of the wrong length or alphabet.
    #[error("vault.json field `{field}` must be {want} bytes of hex")]
    BadField {
        /// The field's name.
        field: &'static str,
        /// Its length in bytes.
        want: usize,
    },
    /// Unsupported or out-of-bounds key derivation.
    #[error("{0}")]
    Kdf(String),
    /// The password does not match the vault.
    #[error("wrong admin password")]
    WrongPassword,
    /// A new password below the minimum length.
    #[error("the admin password must have at least {MIN_PASSWORD_CHARS} characters (got {0})")]
    PasswordTooShort(usize),
    /// A new password above the maximum length.
    #[error("the admin password must be at most {} bytes", file::MAX_PASSWORD_BYTES)]
    PasswordTooLong,
    /// `vault init` when a vault exists.
    #[error("a vault already exists at {0}; use `holdfast vault passwd` to change its password")]
    Exists(String),
    /// The vault holds no wrapped verification key.
    #[error("the vault holds no wrapped audit verification key")]
    NoSealWrap,
    /// A daemon's challenge that cannot be answered.
    #[error("{0}")]
    BadChallenge(String),
    /// The OS random source failed.
    #[error("cannot get random bytes: {0}")]
    Random(String),
}

/// The audit log's verification key `k0`, unwrapped with the admin password (for `log verify --password-stdin`).
pub fn unwrap_verification_key(vault: &Vault, password: &str) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    let k = vault.unlock(password)?;
    let wrapped = vault.seal_wrap.as_ref().ok_or(VaultError::NoSealWrap)?;
    Ok(k.unwrap_key(wrapped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_key_needs_the_password_and_a_wrap() {
        let (mut v, k) = Vault::create("correct horse battery").unwrap();
        assert!(matches!(unwrap_verification_key(&v, "correct horse battery"), Err(VaultError::NoSealWrap)));
        v.set_seal_wrap(&k, &[42; 32]);
        assert_eq!(*unwrap_verification_key(&v, "correct horse battery").unwrap(), [42; 32]);
        assert!(matches!(unwrap_verification_key(&v, "wrong horse battery"), Err(VaultError::WrongPassword)));
    }
}
