//! Approval sessions, the daemon's side (see [`crate::session`]): open with an admin proof, answer
//! holds with the session key, close. Kept in memory only: a restart ends every session.

use std::time::{Duration, Instant};

use ed25519_dalek::VerifyingKey;
use serde_json::json;

use super::Daemon;
use crate::session::{self, DEFAULT_TTL_S, MAX_TTL_S};
use crate::wire::{Ack, ErrorCode, Peer, Proof, ResponseBody, SessionInfo, SessionOpen, SessionRef, WireError};

/// Most sessions open at once.
const MAX_SESSIONS: usize = 16;
/// Bad signatures a session survives; the next one closes it.
const MAX_BAD: u32 = 4;

struct Session {
    id: String,
    key: VerifyingKey,
    expires: Instant,
    last_counter: u64,
    bad: u32,
    uses: u64,
    uid: Option<u32>,
}

/// The open sessions.
#[derive(Default)]
pub struct Sessions {
    open: Vec<Session>,
}

impl Sessions {
    fn info(s: &Session, now: Instant) -> SessionInfo {
        SessionInfo {
            session: s.id.clone(),
            expires_in_s: s.expires.saturating_duration_since(now).as_secs(),
            uses: s.uses,
            uid: s.uid,
        }
    }

    /// Drops expired sessions; returns their ids.
    fn expire(&mut self, now: Instant) -> Vec<String> {
        let gone = self.open.iter().filter(|s| s.expires <= now).map(|s| s.id.clone()).collect();
        self.open.retain(|s| s.expires > now);
        gone
    }
}

fn invalid(message: impl Into<String>) -> WireError {
    WireError::new(ErrorCode::InvalidField, message)
}

impl Daemon {
    /// `session_open`: admin-proved, for the public key the op names.
    pub(super) fn session_open(&mut self, req: SessionOpen, peer: &Peer) -> ResponseBody {
        let mut raw = [0u8; 32];
        let key = match hex::decode_to_slice(&req.public_key, &mut raw).ok().and_then(|()| {
            // Reject weak (small-order) keys up front: they would verify forged signatures.
            VerifyingKey::from_bytes(&raw).ok().filter(|k| !k.is_weak())
        }) {
            Some(k) => k,
            None => return ResponseBody::Error(invalid("`public_key` must be an Ed25519 public key in 64 hex digits")),
        };
        let ttl = req.ttl_s.unwrap_or(DEFAULT_TTL_S);
        if !(1..=MAX_TTL_S).contains(&ttl) {
            return ResponseBody::Error(invalid(format!("`ttl_s` must be 1..={MAX_TTL_S}")));
        }
        let now = Instant::now();
        self.close_expired(now);
        if self.sessions.open.len() >= MAX_SESSIONS {
            return ResponseBody::Error(WireError::new(
                ErrorCode::Conflict,
                format!("{MAX_SESSIONS} approval sessions are open; close one (`holdfast sessions --revoke ID`)"),
            ));
        }
        let op = format!("session:{}", req.public_key.to_ascii_lowercase());
        if let Err(e) = self.authorize(&op, &req.proof, peer) {
            return ResponseBody::Error(e);
        }
        let mut id = [0u8; 6];
        if let Err(e) = getrandom::fill(&mut id) {
            return ResponseBody::Error(WireError::new(ErrorCode::Internal, format!("cannot get random bytes: {e}")));
        }
        let id = hex::encode(id);
        if let Err(e) = self.append("session_open", peer, &json!({"session": id, "ttl_s": ttl})) {
            return ResponseBody::Error(e);
        }
        let s = Session {
            id,
            key,
            expires: now + Duration::from_secs(ttl),
            last_counter: 0,
            bad: 0,
            uses: 0,
            uid: peer.uid,
        };
        let info = Sessions::info(&s, now);
        self.sessions.open.push(s);
        ResponseBody::Session(info)
    }

    /// `session_close`: anyone may close a session; it only takes a way of approving away.
    pub(super) fn session_close(&mut self, r: &SessionRef, peer: &Peer) -> ResponseBody {
        let Some(i) = self.sessions.open.iter().position(|s| s.id == r.session) else {
            return ResponseBody::Error(WireError::new(ErrorCode::NotFound, "no such approval session"));
        };
        let seq = match self.append("session_close", peer, &json!({"session": r.session, "why": "closed"})) {
            Ok(seq) => seq,
            Err(e) => return ResponseBody::Error(e),
        };
        self.sessions.open.remove(i);
        ResponseBody::Ack(Ack { seq: Some(seq), message: Some("session closed".into()), flags: Vec::new() })
    }

    /// `list_sessions`.
    pub(super) fn list_sessions(&mut self) -> ResponseBody {
        let now = Instant::now();
        self.close_expired(now);
        ResponseBody::SessionList { items: self.sessions.open.iter().map(|s| Sessions::info(s, now)).collect() }
    }

    /// Records and forgets expired sessions.
    pub(super) fn close_expired(&mut self, now: Instant) {
        for id in self.sessions.expire(now) {
            // Best effort: an expiry that cannot be recorded still ends the session.
            let _ = self.append("session_close", &Peer::default(), &json!({"session": id, "why": "expired"}));
        }
    }

    /// The gate for `approve`, `deny` and `resolve`: a session signature when the proof names a
    /// session, the admin challenge otherwise.
    pub(super) fn authorize_answer(&mut self, op: &str, proof: &Proof, peer: &Peer) -> Result<(), WireError> {
        let Some((id, counter)) = proof.nonce.as_deref().and_then(session::parse_nonce) else {
            return self.authorize(op, proof, peer);
        };
        self.close_expired(Instant::now());
        let outcome = self.check_session(id, counter, op, proof);
        let ok = outcome == "ok";
        self.append("session_use", peer, &json!({"session": id, "op": op, "outcome": outcome}))?;
        if ok {
            return Ok(());
        }
        Err(WireError::new(ErrorCode::Unauthorized, format!("the approval session refused this: {outcome}")))
    }

    /// Checks one session use; returns `ok` or why not. Bad signatures count; too many close it.
    fn check_session(&mut self, id: &str, counter: u64, op: &str, proof: &Proof) -> &'static str {
        if !session::allowed(op) {
            return "op not allowed for sessions";
        }
        let Some(i) = self.sessions.open.iter().position(|s| s.id == id) else { return "unknown or closed session" };
        let s = &mut self.sessions.open[i];
        if counter <= s.last_counter {
            return "counter replayed";
        }
        let sig = proof.proof.as_deref().and_then(|p| hex::decode(p).ok()).unwrap_or_default();
        if !session::verify(&s.key, id, counter, op, &sig) {
            s.bad += 1;
            if s.bad > MAX_BAD {
                self.sessions.open.remove(i);
                return "bad signature; session closed";
            }
            return "bad signature";
        }
        s.last_counter = counter;
        s.uses += 1;
        "ok"
    }
}
