//! Approval sessions: the admin types the password once, and an ephemeral key answers holds for a
//! bounded time.
//!
//! The client draws an Ed25519 key in memory and opens a session with `session_open`, proved by the
//! admin vault like any privileged op (op `session:<public key hex>`). The daemon then accepts, for
//! `approve`, `deny` and `resolve` only, a signature by that key over the op and a counter that must
//! grow with each use (no replay, no round trip for a nonce). Sessions live in the daemon's memory
//! only: a restart, `session_close`, five bad signatures or the expiry ends them. The key is never
//! written anywhere, so nothing on disk can open or use a session.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::wire::Proof;

/// Domain tag of a session signature.
const SESSION_LABEL: &[u8] = b"holdfast session v1";
/// The ops a session may answer: approvals and denials of holds, nothing that loosens the guard.
pub(crate) const SESSION_OPS: &[&str] = &["approve", "deny", "resolve"];
/// How a proof's `nonce` names a session use: `session:<id>:<counter>`.
pub(crate) const NONCE_PREFIX: &str = "session:";

/// The session id and counter a proof's `nonce` names, when it names a session use.
pub(crate) fn parse_nonce(nonce: &str) -> Option<(&str, u64)> {
    let (id, counter) = nonce.strip_prefix(NONCE_PREFIX)?.split_once(':')?;
    Some((id, counter.parse().ok()?))
}

/// Default session lifetime.
pub(crate) const DEFAULT_TTL_S: u64 = 3600;
/// Longest session lifetime.
pub(crate) const MAX_TTL_S: u64 = 8 * 3600;

/// The bytes a session signs for one use.
pub fn message(session: &str, counter: u64, op: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(SESSION_LABEL.len() + session.len() + op.len() + 11);
    for part in [SESSION_LABEL, &[0], session.as_bytes(), &[0], &counter.to_be_bytes(), &[0], op.as_bytes()] {
        m.extend_from_slice(part);
    }
    m
}

/// True when `op` (`approve:<id>`, …) is one a session may answer.
pub fn allowed(op: &str) -> bool {
    op.split_once(':').is_some_and(|(name, _)| SESSION_OPS.contains(&name))
}

/// Checks a session signature strictly (no malleable or small-order encodings).
pub fn verify(key: &VerifyingKey, session: &str, counter: u64, op: &str, signature: &[u8]) -> bool {
    let Ok(sig) = Signature::from_slice(signature) else { return false };
    key.verify_strict(&message(session, counter, op), &sig).is_ok()
}

/// The client's side of a session: the ephemeral key (zeroized on drop), its id once opened, and
/// the counter of its last use.
pub struct SessionKey {
    key: SigningKey,
    /// The daemon's id for the session, once opened.
    pub session: Option<String>,
    counter: u64,
}

impl SessionKey {
    /// Draws a new key from the OS's random source.
    pub fn generate() -> std::io::Result<Self> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut seed[..]).map_err(std::io::Error::other)?;
        Ok(SessionKey { key: SigningKey::from_bytes(&seed), session: None, counter: 0 })
    }

    /// The public key, hex: what `session_open` carries and its op names.
    pub fn public_hex(&self) -> String {
        hex::encode(self.key.verifying_key().as_bytes())
    }

    /// The op the admin proof of `session_open` is for.
    pub fn open_op(&self) -> String {
        format!("session:{}", self.public_hex())
    }

    /// The proof fields that answer `op` with this session (the next counter value).
    pub fn prove(&mut self, op: &str) -> Option<Proof> {
        let session = self.session.clone()?;
        self.counter += 1;
        let sig = self.key.sign(&message(&session, self.counter, op));
        Some(Proof {
            nonce: Some(format!("{NONCE_PREFIX}{session}:{}", self.counter)),
            proof: Some(hex::encode(sig.to_bytes())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_binds_session_counter_and_op() {
        let mut k = SessionKey::generate().unwrap();
        k.session = Some("s1".into());
        let p = k.prove("approve:abc123").unwrap();
        assert_eq!(parse_nonce(p.nonce.as_deref().unwrap()), Some(("s1", 1)));
        assert_eq!(parse_nonce("0123abcd"), None);
        let sig = hex::decode(p.proof.unwrap()).unwrap();
        let public = k.key.verifying_key();
        assert!(verify(&public, "s1", 1, "approve:abc123", &sig));
        assert!(!verify(&public, "s1", 2, "approve:abc123", &sig));
        assert!(!verify(&public, "s2", 1, "approve:abc123", &sig));
        assert!(!verify(&public, "s1", 1, "deny:abc123", &sig));
        assert!(!verify(&public, "s1", 1, "approve:abc123", &sig[..63]));
        assert!(allowed("approve:x") && allowed("resolve:y") && !allowed("pause") && !allowed("release"));
    }
}
