//! Challenge proofs and the privileged op names they are bound to (DESIGN §6, docs/vault.md).
//!
//! - v2: `proof = Ed25519-Sign(signing key, "holdfast proof v2" ‖ 0x00 ‖ op ‖ 0x00 ‖ nonce ‖ 0x00 ‖ daemon_id)`
//!   (64 bytes), verified with `verify_strict`; `daemon_id` is the daemon's audit log id.
//! - v1 (legacy): `proof = HMAC-SHA256(auth_key, "holdfast proof v1" ‖ 0x00 ‖ op ‖ 0x00 ‖ nonce)`.
//!
//! `nonce` is the raw 32 nonce bytes in both.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::kdf::{AuthKey, hmac_sha256};

const PROOF_LABEL: &[u8] = b"holdfast proof v1";
const PROOF_LABEL_V2: &[u8] = b"holdfast proof v2";
/// Longest op string accepted (`resolve:` + a 64-hex command hash fits with room).
pub(crate) const MAX_OP_LEN: usize = 128;
/// Ops that take no argument.
pub(crate) const BARE_OPS: &[&str] = &["shutdown", "pause", "resume", "reload", "release"];
/// Ops that name a pending id (for `resolve`, a pending id or command hash; for `session`, the
/// approval session key's public key).
pub(crate) const ARG_OPS: &[&str] = &["approve", "deny", "resolve", "session"];

/// Checks that `op` is one of the privileged ops: a bare op, or `approve:<id>`, `deny:<id>`,
/// `resolve:<id or command hash>` with an id of 1..=64 ASCII letters, digits, `-` or `_`.
pub(crate) fn validate_op(op: &str) -> Result<(), String> {
    if op.len() > MAX_OP_LEN {
        return Err(format!("op is {} bytes, longer than {MAX_OP_LEN}", op.len()));
    }
    if BARE_OPS.contains(&op) {
        return Ok(());
    }
    let shown: String = op.chars().take(32).flat_map(char::escape_default).collect();
    let Some((name, arg)) = op.split_once(':') else {
        return Err(format!("unknown privileged op `{shown}`"));
    };
    if !ARG_OPS.contains(&name) {
        return Err(format!("unknown privileged op `{shown}`"));
    }
    let arg_ok =
        (1..=64).contains(&arg.len()) && arg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if arg_ok { Ok(()) } else { Err(format!("bad argument in privileged op `{shown}`")) }
}

/// The bytes a v2 proof signs. `op` holds no NUL (see [`validate_op`]) and `nonce` has a fixed length,
/// so the fields cannot slide into each other.
fn signed_message(op: &str, nonce: &[u8; 32], daemon_id: &str) -> Vec<u8> {
    [PROOF_LABEL_V2, &[0], op.as_bytes(), &[0], nonce, &[0], daemon_id.as_bytes()].concat()
}

/// The v2 proof for `op`, `nonce` and `daemon_id` (the daemon's audit log id).
pub fn sign(key: &SigningKey, op: &str, nonce: &[u8; 32], daemon_id: &str) -> [u8; 64] {
    key.sign(&signed_message(op, nonce, daemon_id)).to_bytes()
}

/// Strict Ed25519 check of a presented v2 proof (rejects malleable and small-order signatures).
pub fn verify_signature(key: &VerifyingKey, op: &str, nonce: &[u8; 32], daemon_id: &str, presented: &[u8]) -> bool {
    let Ok(sig) = Signature::from_slice(presented) else { return false };
    key.verify_strict(&signed_message(op, nonce, daemon_id), &sig).is_ok()
}

/// The v1 proof for `op` and `nonce` under `auth_key`.
pub fn proof(auth_key: &AuthKey, op: &str, nonce: &[u8; 32]) -> [u8; 32] {
    hmac_sha256(auth_key.as_bytes(), &[PROOF_LABEL, &[0], op.as_bytes(), &[0], nonce])
}

/// Constant-time check of a presented v1 proof.
pub fn verify(auth_key: &AuthKey, op: &str, nonce: &[u8; 32], presented: &[u8]) -> bool {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(auth_key.as_bytes()).expect("HMAC accepts any key");
    for part in [PROOF_LABEL, &[0], op.as_bytes(), &[0], nonce] {
        mac.update(part);
    }
    mac.verify_slice(presented).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops() {
        for ok in ["shutdown", "pause", "resume", "reload", "release", "approve:AB12", "deny:x-y_z", "resolve:ab"] {
            assert!(validate_op(ok).is_ok(), "{ok}");
        }
        let hash = format!("resolve:{}", "a".repeat(64));
        assert!(validate_op(&hash).is_ok());
        let too_long = format!("resolve:{}", "a".repeat(65));
        for bad in ["", "SHUTDOWN", "approve", "approve:", "approve:a b", "propose", "shutdown:1", &too_long, "deny:é"]
        {
            assert!(validate_op(bad).is_err(), "{bad}");
        }
        assert!(validate_op(&"x".repeat(10_000)).is_err());
    }

    #[test]
    fn signature_binds_key_op_nonce_and_daemon() {
        let k = SigningKey::from_bytes(&[3; 32]);
        let pk = k.verifying_key();
        let p = sign(&k, "shutdown", &[9; 32], "log-a");
        assert!(verify_signature(&pk, "shutdown", &[9; 32], "log-a", &p));
        assert!(!verify_signature(&pk, "pause", &[9; 32], "log-a", &p));
        assert!(!verify_signature(&pk, "shutdown", &[8; 32], "log-a", &p));
        assert!(!verify_signature(&pk, "shutdown", &[9; 32], "log-b", &p));
        assert!(!verify_signature(
            &SigningKey::from_bytes(&[4; 32]).verifying_key(),
            "shutdown",
            &[9; 32],
            "log-a",
            &p
        ));
        assert!(!verify_signature(&pk, "shutdown", &[9; 32], "log-a", &p[..63]));
        assert!(!verify_signature(&pk, "shutdown", &[9; 32], "log-a", &[0; 64]));
    }

    #[test]
    fn proof_binds_key_op_and_nonce() {
        let k = AuthKey::from_bytes([3; 32]);
        let p = proof(&k, "shutdown", &[9; 32]);
        assert!(verify(&k, "shutdown", &[9; 32], &p));
        assert!(!verify(&k, "pause", &[9; 32], &p));
        assert!(!verify(&k, "shutdown", &[8; 32], &p));
        assert!(!verify(&AuthKey::from_bytes([4; 32]), "shutdown", &[9; 32], &p));
        assert!(!verify(&k, "shutdown", &[9; 32], &p[..31]));
        // The 0x00 separators keep op and nonce from sliding into each other.
        assert_ne!(proof(&k, "approve:a", &[0; 32]), proof(&k, "approve:", &[0; 32]));
    }
}
