//! Challenge-response for privileged operations (DESIGN §6): the vault state the daemon loaded at
//! start, outstanding nonces, the failure throttle, and the one gate [`Daemon::authorize`].
//!
//! Every attempt is an `admin` audit record (op and outcome only); an attempt whose record cannot be
//! written is refused.
//!
//! Time is passed in (`now`) so tests drive the clock; the daemon passes `Instant::now()` (monotonic).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::vault::{Vault, VaultKey, proof};
use crate::wire::{AuthBegin, Challenge, ErrorCode, Peer, Proof, ResponseBody, WireError};

use super::Daemon;

/// How long a nonce may be answered (the daemon's `--auth-nonce-ttl-ms` may only shorten it).
pub(crate) const NONCE_TTL: Duration = Duration::from_secs(60);
/// Most challenges outstanding at once.
pub(crate) const MAX_OUTSTANDING: usize = 16;
/// Failures allowed before lockouts start.
pub(crate) const FREE_FAILURES: u32 = 5;
/// First lockout; each further failure doubles it.
pub(crate) const LOCKOUT_BASE: Duration = Duration::from_secs(30);
/// Longest lockout.
pub(crate) const LOCKOUT_CAP: Duration = Duration::from_secs(3600);

/// What `status` says about a v1 vault (doctor keys on its start, "v1 vault").
pub(crate) const V1_WARNING: &str = "v1 vault: its auth_key answers every challenge by itself, so whoever can read \
     vault.json can approve and stop without the password; run `holdfast vault upgrade` and restart the daemon";

/// What the daemon found at start.
#[derive(Debug)]
pub(crate) enum VaultState {
    /// No vault file: privileged ops need no proof.
    Unprovisioned,
    /// A vault: privileged ops need a proof.
    Locked(Box<Vault>),
    /// A vault file that cannot be used: privileged ops are refused.
    Degraded(String),
}

/// How one attempt ended; recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    NoVault,
    Degraded,
    BadProof,
    Replay,
    Expired,
    WrongOp,
    LockedOut,
}

impl Outcome {
    /// The audit record's `outcome` string.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::NoVault => "no_vault",
            Outcome::Degraded => "degraded",
            Outcome::BadProof => "bad_proof",
            Outcome::Replay => "replay",
            Outcome::Expired => "expired",
            Outcome::WrongOp => "wrong_op",
            Outcome::LockedOut => "locked_out",
        }
    }
}

#[derive(Debug)]
struct Outstanding {
    nonce: [u8; 32],
    op: String,
    issued: Instant,
}

/// Authentication state: the vault, outstanding nonces and the throttle.
#[derive(Debug)]
pub(crate) struct AuthState {
    vault: VaultState,
    outstanding: Vec<Outstanding>,
    nonce_ttl: Duration,
    failures: u32,
    locked_until: Option<Instant>,
    /// The config dir, where a plaintext verification key may wait to be wrapped into the vault.
    config_dir: Option<PathBuf>,
}

impl AuthState {
    /// Loads the vault at `path` once; any problem with an existing file degrades (fails closed).
    pub(crate) fn load(path: &Path) -> Self {
        let vault = match Vault::load(path) {
            Ok(None) => VaultState::Unprovisioned,
            Ok(Some(v)) => VaultState::Locked(Box::new(v)),
            Err(e) => VaultState::Degraded(e.to_string()),
        };
        let mut state = Self::with_vault(vault);
        state.config_dir = path.parent().map(Path::to_path_buf);
        state
    }

    pub(crate) fn with_vault(vault: VaultState) -> Self {
        AuthState {
            vault,
            outstanding: Vec::new(),
            nonce_ttl: NONCE_TTL,
            failures: 0,
            locked_until: None,
            config_dir: None,
        }
    }

    /// Shortens the nonce lifetime (tests); never lengthens it past [`NONCE_TTL`].
    pub(crate) fn set_nonce_ttl(&mut self, ttl: Duration) {
        self.nonce_ttl = ttl.min(NONCE_TTL);
    }

    /// `status.vault`.
    pub(crate) fn describe(&self, now: Instant) -> String {
        match &self.vault {
            VaultState::Unprovisioned => "unlocked (no vault)".into(),
            VaultState::Degraded(why) => format!("degraded: {why}"),
            VaultState::Locked(v) => {
                let mut notes = Vec::new();
                if v.version() == 1 {
                    notes.push(V1_WARNING.to_string());
                }
                if let Some(left) = self.lockout_left(now) {
                    notes.push(format!("locked out for {} s after failed proofs", secs(left)));
                }
                if let Some(file) = self.plaintext_key() {
                    notes.push(format!(
                        "the audit verification key is still in plaintext at {}: run `holdfast vault wrap-key`",
                        file.display()
                    ));
                }
                if notes.is_empty() { "locked".into() } else { format!("locked ({})", notes.join("; ")) }
            }
        }
    }

    /// A verification key file the daemon wrote (`verification.key` or `verification-<log id>.key`)
    /// that is still next to the log. Looked up on each `status`, so the note goes away as soon as
    /// `holdfast vault wrap-key` removes the file, without a restart.
    fn plaintext_key(&self) -> Option<PathBuf> {
        let dir = self.config_dir.as_ref()?;
        std::fs::read_dir(dir).ok()?.filter_map(Result::ok).map(|e| e.path()).find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n == "verification.key" || (n.starts_with("verification-") && n.ends_with(".key")))
        })
    }

    fn lockout_left(&self, now: Instant) -> Option<Duration> {
        self.locked_until.filter(|u| *u > now).map(|u| u - now)
    }

    fn locked_out_error(left: Duration) -> WireError {
        WireError::new(ErrorCode::LockedOut, format!("too many failed admin proofs; try again in {} s", secs(left)))
    }

    /// Answers `auth_begin{op}` for the daemon whose identity (audit log id) is `daemon_id`.
    pub(crate) fn begin(&mut self, op: &str, daemon_id: &str, now: Instant) -> Result<Challenge, WireError> {
        proof::validate_op(op).map_err(|e| WireError::new(ErrorCode::InvalidField, e))?;
        let vault = match &self.vault {
            VaultState::Unprovisioned => {
                return Ok(Challenge {
                    op: op.into(),
                    locked: false,
                    nonce: None,
                    salt: None,
                    kdf: None,
                    vault_v: None,
                    daemon_id: None,
                });
            }
            VaultState::Degraded(why) => return Err(degraded_error(why)),
            VaultState::Locked(v) => v,
        };
        if let Some(left) = self.lockout_left(now) {
            return Err(Self::locked_out_error(left));
        }
        let ttl = self.nonce_ttl;
        // Expired nonces are kept for one more lifetime so that a late answer reads "expired", not "replay".
        self.outstanding.retain(|c| now.saturating_duration_since(c.issued) < ttl * 2);
        let live = self.outstanding.iter().filter(|c| now.saturating_duration_since(c.issued) < ttl).count();
        // When full, refuse the new challenge rather than evict: evicting would let a flood of
        // auth_begin cancel another peer's recent challenge (DESIGN §6). A flood can at worst delay new
        // challenges by one nonce lifetime, and says so.
        if live >= MAX_OUTSTANDING {
            let oldest = self.outstanding.iter().map(|c| c.issued).min().unwrap_or(now);
            let wait = ttl.saturating_sub(now.saturating_duration_since(oldest));
            return Err(WireError::new(
                ErrorCode::Conflict,
                format!("{MAX_OUTSTANDING} challenges are already outstanding; try again in {} s", secs(wait)),
            ));
        }
        if self.outstanding.len() >= MAX_OUTSTANDING * 2 {
            self.outstanding.remove(0); // oldest, and expired: live ones are fewer than MAX_OUTSTANDING
        }
        let mut nonce = [0u8; 32];
        getrandom::fill(&mut nonce)
            .map_err(|e| WireError::new(ErrorCode::Internal, format!("cannot get random bytes: {e}")))?;
        let challenge = Challenge {
            op: op.into(),
            locked: true,
            nonce: Some(hex::encode(nonce)),
            salt: Some(hex::encode(vault.salt)),
            kdf: Some(vault.kdf.clone()),
            vault_v: Some(vault.version()),
            daemon_id: Some(daemon_id.into()),
        };
        self.outstanding.push(Outstanding { nonce, op: op.into(), issued: now });
        Ok(challenge)
    }

    /// Checks `proof` for `op` at the daemon `daemon_id`. Consumes the nonce whatever the outcome.
    pub(crate) fn check(
        &mut self,
        op: &str,
        p: &Proof,
        daemon_id: &str,
        now: Instant,
    ) -> (Outcome, Result<(), WireError>) {
        if let Err(e) = proof::validate_op(op) {
            return (Outcome::WrongOp, Err(WireError::new(ErrorCode::InvalidField, e)));
        }
        let vault = match &self.vault {
            VaultState::Unprovisioned => return (Outcome::NoVault, Ok(())),
            VaultState::Degraded(why) => return (Outcome::Degraded, Err(degraded_error(why))),
            VaultState::Locked(v) => v,
        };
        let nonce = p.nonce.as_deref().and_then(|n| {
            let mut b = [0u8; 32];
            hex::decode_to_slice(n, &mut b).ok().map(|()| b)
        });
        let found = nonce.and_then(|n| self.outstanding.iter().position(|c| c.nonce == n));
        let entry = found.map(|i| self.outstanding.remove(i));
        if let Some(left) = self.lockout_left(now) {
            return (Outcome::LockedOut, Err(Self::locked_out_error(left)));
        }
        let unauthorized = |m: &str| Err(WireError::new(ErrorCode::Unauthorized, m));
        let (outcome, result) = match (p.nonce.is_some() && p.proof.is_some(), entry) {
            (false, _) => (
                Outcome::BadProof,
                unauthorized("this operation needs the admin password: answer an auth_begin challenge"),
            ),
            (true, None) => (Outcome::Replay, unauthorized("unknown or already used nonce; start a new challenge")),
            (true, Some(c)) if now.saturating_duration_since(c.issued) >= self.nonce_ttl => {
                (Outcome::Expired, unauthorized("the challenge expired; start a new one"))
            }
            (true, Some(c)) if c.op != op => {
                (Outcome::WrongOp, unauthorized("the challenge was issued for another operation"))
            }
            (true, Some(c)) => {
                let presented = p.proof.as_deref().and_then(|s| hex::decode(s).ok()).unwrap_or_default();
                let good = match &vault.key {
                    VaultKey::V1(auth_key) => proof::verify(auth_key, op, &c.nonce, &presented),
                    VaultKey::V2(public) => proof::verify_signature(public, op, &c.nonce, daemon_id, &presented),
                };
                if good { (Outcome::Ok, Ok(())) } else { (Outcome::BadProof, unauthorized("wrong admin password")) }
            }
        };
        if outcome == Outcome::Ok {
            self.failures = 0;
            self.locked_until = None;
        } else {
            self.fail(now);
        }
        (outcome, result)
    }

    /// Counts a failure; from the [`FREE_FAILURES`]th on, locks out for 30 s doubling to 1 h.
    fn fail(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= FREE_FAILURES {
            let doublings = (self.failures - FREE_FAILURES).min(16);
            self.locked_until = Some(now + (LOCKOUT_BASE * (1 << doublings)).min(LOCKOUT_CAP));
        }
    }
}

fn degraded_error(why: &str) -> WireError {
    WireError::new(
        ErrorCode::Unauthorized,
        format!(
            "the admin vault is degraded ({why}); privileged operations are refused until it is repaired and the daemon restarted"
        ),
    )
}

/// Whole seconds, rounded up, so "0 s" is never shown while still locked.
fn secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl Daemon {
    /// `auth_begin{op}`: a challenge (or `locked:false` when no vault exists).
    pub(crate) fn auth_begin(&mut self, req: &AuthBegin) -> ResponseBody {
        let id = self.daemon_id();
        match self.auth.begin(&req.op, &id, Instant::now()) {
            Ok(c) => ResponseBody::Challenge(c),
            Err(e) => ResponseBody::Error(e),
        }
    }

    /// The gate for every privileged op: `Ok` when `proof` answers a live challenge for exactly `op`
    /// (or no vault exists). Every attempt is audited; if the audit record cannot be written the
    /// attempt is refused.
    pub(crate) fn authorize(&mut self, op: &str, proof: &Proof, peer: &Peer) -> Result<(), WireError> {
        let id = self.daemon_id();
        let (outcome, result) = self.auth.check(op, proof, &id, Instant::now());
        // An invalid op may come from a hostile request: record a bounded prefix of it.
        let shown: String = op.chars().take(crate::vault::proof::MAX_OP_LEN).collect();
        // Without a vault nothing proves who a TCP peer is (the token is shared with the agent's
        // container), so "no vault, no proof needed" holds for local peers only.
        if outcome == Outcome::NoVault && peer.is_tcp() {
            self.audit_admin(peer, &shown, "no_vault_tcp")?;
            return Err(WireError::new(
                ErrorCode::Unauthorized,
                "privileged operations over TCP need an admin vault (`holdfast vault init` on the host), or use the                  local socket",
            ));
        }
        self.audit_admin(peer, &shown, outcome.as_str())?;
        result
    }

    /// The identity a v2 proof is bound to: the audit log id (empty without a log, when every
    /// privileged op is refused anyway because its record cannot be written).
    fn daemon_id(&self) -> String {
        self.audit.as_ref().map(|a| a.head().log_id).unwrap_or_default()
    }

    /// Records one admin attempt: the op and its outcome (the record's `peer` names the caller).
    /// Never the password, the nonce or the proof: a logged nonce and proof would let a log reader
    /// mount an offline guessing attack on the password.
    fn audit_admin(&mut self, peer: &Peer, op: &str, outcome: &str) -> Result<(), WireError> {
        self.append("admin", peer, &json!({"op": op, "outcome": outcome})).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::MasterKey;

    const PW: &str = "correct horse battery";
    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn state() -> (AuthState, MasterKey) {
        let (v, k) = Vault::create(PW).unwrap();
        (AuthState::with_vault(VaultState::Locked(Box::new(v))), k)
    }

    /// A proof signed for `op` (which may differ from the challenge's, to test binding).
    fn answer(key: &MasterKey, c: &Challenge, op: &str) -> Proof {
        crate::vault::answer_with_key(key, &Challenge { op: op.into(), ..c.clone() }).unwrap()
    }

    fn wrong(c: &Challenge) -> Proof {
        let other = MasterKey::derive(b"not the password", &[0; 16], &crate::vault::kdf::default_params()).unwrap();
        answer(&other, c, &c.op)
    }

    #[test]
    fn v2_proof_is_bound_to_the_daemon_and_v1_vaults_still_work() {
        let (mut s, key) = state();
        let t = Instant::now();
        let c = s.begin("pause", ID, t).unwrap();
        assert_eq!((c.vault_v, c.daemon_id.as_deref()), (Some(2), Some(ID)));
        let p = answer(&key, &c, "pause");
        assert_eq!(s.check("pause", &p, "another daemon's log id", t).0, Outcome::BadProof);
        let (v2, k) = Vault::create(PW).unwrap();
        let v1 = Vault { key: VaultKey::V1(k.auth_key()), ..v2 };
        let mut s = AuthState::with_vault(VaultState::Locked(Box::new(v1)));
        let c = s.begin("pause", ID, t).unwrap();
        assert_eq!(c.vault_v, Some(1));
        assert_eq!(s.check("pause", &answer(&k, &c, "pause"), ID, t).0, Outcome::Ok);
        assert!(s.describe(t).contains(V1_WARNING), "{}", s.describe(t));
    }

    #[test]
    fn right_proof_once_then_replay() {
        let (mut s, key) = state();
        let t = Instant::now();
        let c = s.begin("shutdown", ID, t).unwrap();
        assert!(c.locked && c.nonce.is_some() && c.salt.is_some() && c.kdf.is_some());
        let p = answer(&key, &c, "shutdown");
        assert_eq!(s.check("shutdown", &p, ID, t).0, Outcome::Ok);
        assert_eq!(s.check("shutdown", &p, ID, t).0, Outcome::Replay);
    }

    #[test]
    fn wrong_op_expired_missing() {
        let (mut s, key) = state();
        let t = Instant::now();
        let c = s.begin("pause", ID, t).unwrap();
        assert_eq!(s.check("shutdown", &answer(&key, &c, "shutdown"), ID, t).0, Outcome::WrongOp);
        let c = s.begin("pause", ID, t).unwrap();
        let late = t + NONCE_TTL;
        assert_eq!(s.check("pause", &answer(&key, &c, "pause"), ID, late).0, Outcome::Expired);
        let c = s.begin("pause", ID, t).unwrap();
        let just_in_time = t + NONCE_TTL - Duration::from_millis(1);
        assert_eq!(s.check("pause", &answer(&key, &c, "pause"), ID, just_in_time).0, Outcome::Ok);
        assert_eq!(s.check("pause", &Proof::default(), ID, t).0, Outcome::BadProof);
        let (_, r) = s.check("pause", &Proof::default(), ID, t);
        assert_eq!(r.unwrap_err().code, ErrorCode::Unauthorized);
    }

    #[test]
    fn lockout_doubles_caps_and_resets_on_success() {
        let (mut s, key) = state();
        let mut t = Instant::now();
        for _ in 0..FREE_FAILURES - 1 {
            let c = s.begin("pause", ID, t).unwrap();
            assert_eq!(s.check("pause", &wrong(&c), ID, t).0, Outcome::BadProof);
        }
        assert!(s.lockout_left(t).is_none(), "the first failures are free");
        let c = s.begin("pause", ID, t).unwrap();
        assert_eq!(s.check("pause", &wrong(&c), ID, t).0, Outcome::BadProof);
        assert_eq!(s.lockout_left(t), Some(LOCKOUT_BASE));
        let e = s.begin("pause", ID, t).unwrap_err();
        assert_eq!(e.code, ErrorCode::LockedOut);
        assert!(e.message.contains("30 s"), "{}", e.message);
        let mut expected = LOCKOUT_BASE;
        for _ in 0..10 {
            t += expected;
            let c = s.begin("pause", ID, t).unwrap();
            assert_eq!(s.check("pause", &wrong(&c), ID, t).0, Outcome::BadProof);
            expected = (expected * 2).min(LOCKOUT_CAP);
            assert_eq!(s.lockout_left(t), Some(expected));
        }
        assert_eq!(expected, LOCKOUT_CAP);
        t += LOCKOUT_CAP;
        let c = s.begin("pause", ID, t).unwrap();
        assert_eq!(s.check("pause", &answer(&key, &c, "pause"), ID, t).0, Outcome::Ok);
        assert_eq!(s.failures, 0);
        assert!(s.describe(t) == "locked");
    }

    /// README "Admin vault": a nonce is valid for 60 s (the other tests count in `NONCE_TTL`).
    #[test]
    fn a_nonce_is_valid_for_60_s() {
        let (mut s, key) = state();
        let t = Instant::now();
        let c = s.begin("pause", ID, t).unwrap();
        let last_moment = t + Duration::from_millis(59_999);
        assert_eq!(s.check("pause", &answer(&key, &c, "pause"), ID, last_moment).0, Outcome::Ok);
        let c = s.begin("pause", ID, t).unwrap();
        assert_eq!(s.check("pause", &answer(&key, &c, "pause"), ID, t + Duration::from_secs(60)).0, Outcome::Expired);
    }

    /// README "Admin vault", in the README's own numbers: after 5 failed proofs in a row, 30 s,
    /// doubling up to 1 h; a success before the 5th resets the count.
    #[test]
    fn lockout_schedule_is_the_readmes() {
        let (mut s, key) = state();
        let mut t = Instant::now();
        let fail_once = |s: &mut AuthState, t: Instant| {
            let c = s.begin("pause", ID, t).unwrap();
            assert_eq!(s.check("pause", &wrong(&c), ID, t).0, Outcome::BadProof);
        };
        for _ in 0..4 {
            fail_once(&mut s, t);
        }
        let c = s.begin("pause", ID, t).unwrap();
        assert_eq!(s.check("pause", &answer(&key, &c, "pause"), ID, t).0, Outcome::Ok);
        for _ in 0..4 {
            fail_once(&mut s, t);
        }
        assert_eq!(s.lockout_left(t), None, "4 failures after a success: not locked out");
        let mut lockouts = Vec::new();
        for _ in 0..10 {
            fail_once(&mut s, t);
            let left = s.lockout_left(t).expect("locked out from the 5th failure in a row");
            lockouts.push(left.as_secs());
            t += left;
        }
        assert_eq!(lockouts, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    }

    #[test]
    fn locked_out_refuses_a_right_proof() {
        let (mut s, key) = state();
        let t = Instant::now();
        let held = s.begin("pause", ID, t).unwrap();
        for _ in 0..FREE_FAILURES {
            let c = s.begin("pause", ID, t).unwrap();
            assert_eq!(s.check("pause", &wrong(&c), ID, t).0, Outcome::BadProof);
        }
        let (o, r) = s.check("pause", &answer(&key, &held, "pause"), ID, t);
        assert_eq!(o, Outcome::LockedOut);
        assert_eq!(r.unwrap_err().code, ErrorCode::LockedOut);
        assert!(s.describe(t).starts_with("locked (locked out for 30 s"));
    }

    #[test]
    fn interleaved_challenges_and_full_table() {
        let (mut s, key) = state();
        let t = Instant::now();
        let a = s.begin("pause", ID, t).unwrap();
        let b = s.begin("pause", ID, t).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_eq!(s.check("pause", &answer(&key, &b, "pause"), ID, t).0, Outcome::Ok);
        assert_eq!(s.check("pause", &answer(&key, &a, "pause"), ID, t).0, Outcome::Ok);
        // Fill the table: the new challenge is refused; the existing ones stay answerable.
        let first = s.begin("resume", ID, t).unwrap();
        for _ in 1..MAX_OUTSTANDING {
            s.begin("pause", ID, t).unwrap();
        }
        assert_eq!(s.begin("pause", ID, t).unwrap_err().code, ErrorCode::Conflict);
        assert_eq!(s.check("resume", &answer(&key, &first, "resume"), ID, t).0, Outcome::Ok);
        assert!(s.begin("pause", ID, t).is_ok(), "answering frees a slot");
        // Once they expire, new challenges are issued again and the table stays bounded.
        for i in 1..10u32 {
            let later = t + NONCE_TTL * i;
            for _ in 0..MAX_OUTSTANDING {
                s.begin("pause", ID, later).unwrap();
            }
            assert!(s.outstanding.len() <= MAX_OUTSTANDING * 2);
        }
    }

    /// An expired nonce is kept one more lifetime, so a late answer reads "expired" and not "replay";
    /// after that it is forgotten.
    #[test]
    fn an_expired_nonce_reads_expired_for_one_more_lifetime() {
        let (mut s, key) = state();
        let t = Instant::now();
        let c = s.begin("pause", ID, t).unwrap();
        let late = t + NONCE_TTL * 3 / 2;
        s.begin("pause", ID, late).unwrap(); // each begin sweeps the table
        assert_eq!(s.check("pause", &answer(&key, &c, "pause"), ID, late).0, Outcome::Expired);
        let c = s.begin("pause", ID, t).unwrap();
        let forgotten = t + NONCE_TTL * 2;
        s.begin("pause", ID, forgotten).unwrap();
        assert_eq!(s.check("pause", &answer(&key, &c, "pause"), ID, forgotten).0, Outcome::Replay);
    }

    /// A full table of expired nonces stays answerable ("expired") while as many fresh ones are issued.
    #[test]
    fn a_full_table_of_expired_nonces_is_kept_beside_a_full_live_one() {
        let (mut s, key) = state();
        let t = Instant::now();
        let old: Vec<Challenge> = (0..MAX_OUTSTANDING).map(|_| s.begin("pause", ID, t).unwrap()).collect();
        let later = t + NONCE_TTL;
        for _ in 0..MAX_OUTSTANDING {
            s.begin("pause", ID, later).unwrap();
        }
        assert_eq!(s.check("pause", &answer(&key, &old[0], "pause"), ID, later).0, Outcome::Expired);
    }

    /// `status.vault` names a plaintext verification key (either name the daemon writes) and nothing else.
    #[test]
    fn only_a_verification_key_is_reported_as_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let (v, _) = Vault::create(PW).unwrap();
        let mut s = AuthState::with_vault(VaultState::Locked(Box::new(v)));
        s.config_dir = Some(dir.path().to_path_buf());
        let t = Instant::now();
        for other in ["vault.json", "policy.toml", "seal.key", "verification-0123.txt", "verification.key.bak"] {
            std::fs::write(dir.path().join(other), "x").unwrap();
        }
        assert_eq!(s.describe(t), "locked");
        for name in ["verification.key", "verification-0123456789abcdef.key"] {
            let file = dir.path().join(name);
            std::fs::write(&file, "x").unwrap();
            assert!(s.describe(t).contains(&format!("plaintext at {}", file.display())), "{}", s.describe(t));
            std::fs::remove_file(file).unwrap();
        }
    }

    /// A proof needs both halves: a proof without its nonce is not a replay, and a live nonce
    /// without a proof is asked for the password (the challenge is used up either way).
    #[test]
    fn a_proof_missing_either_half_asks_for_the_password() {
        let (mut s, key) = state();
        let t = Instant::now();
        let c = s.begin("pause", ID, t).unwrap();
        let whole = answer(&key, &c, "pause");
        let halves = [Proof { nonce: None, ..whole.clone() }, Proof { proof: None, ..whole.clone() }];
        for half in halves {
            let (outcome, r) = s.check("pause", &half, ID, t);
            assert_eq!(outcome, Outcome::BadProof, "{half:?}");
            assert!(r.unwrap_err().message.contains("needs the admin password"), "{half:?}");
        }
        assert_eq!(s.check("pause", &whole, ID, t).0, Outcome::Replay, "the nonce-only attempt used it up");
    }

    #[test]
    fn no_vault_and_degraded() {
        let mut s = AuthState::with_vault(VaultState::Unprovisioned);
        let t = Instant::now();
        let c = s.begin("shutdown", ID, t).unwrap();
        assert!(!c.locked && c.nonce.is_none());
        assert_eq!(s.check("shutdown", &Proof::default(), ID, t), (Outcome::NoVault, Ok(())));
        assert_eq!(s.describe(t), "unlocked (no vault)");
        let mut s = AuthState::with_vault(VaultState::Degraded("vault.json is not a valid vault: x".into()));
        assert_eq!(s.begin("shutdown", ID, t).unwrap_err().code, ErrorCode::Unauthorized);
        let (o, r) = s.check("shutdown", &Proof::default(), ID, t);
        assert_eq!(o, Outcome::Degraded);
        assert_eq!(r.unwrap_err().code, ErrorCode::Unauthorized);
        assert!(s.describe(t).starts_with("degraded: "));
    }

    #[test]
    fn bad_ops_and_nonces_are_typed() {
        let (mut s, _) = state();
        let t = Instant::now();
        assert_eq!(s.begin("rm -rf /", ID, t).unwrap_err().code, ErrorCode::InvalidField);
        assert_eq!(s.begin(&"a".repeat(1 << 20), ID, t).unwrap_err().code, ErrorCode::InvalidField);
        let p = Proof { nonce: Some("zz".into()), proof: Some("00".into()) };
        assert_eq!(s.check("pause", &p, ID, t).0, Outcome::Replay);
    }

    #[test]
    fn ttl_can_only_shrink() {
        let (mut s, _) = state();
        s.set_nonce_ttl(Duration::from_secs(3600));
        assert_eq!(s.nonce_ttl, NONCE_TTL);
        s.set_nonce_ttl(Duration::from_millis(5));
        assert_eq!(s.nonce_ttl, Duration::from_millis(5));
    }
}
