//! `propose`: kill switch → classify → policy → mode → decision memory → verdict.
//! Recorded first, answered second; if the record cannot be written the command is denied.

use std::ops::Range;
use std::path::Path;

use serde::Serialize;

use super::Daemon;
use super::clock::now_ms;
use super::log::log;
use super::queue::Held;
use crate::classify::{Class, classify};
use crate::policy::carry::{self, Source};
use crate::policy::{self, DecideInput, Effective, PolicyMatch};
use crate::wire::{Decision, ErrorCode, Peer, Proposal, ResponseBody, Verdict, WireError};

/// Rule id of a held command allowed once by an earlier admin approval of the same command.
pub(crate) const RULE_APPROVED_ONCE: &str = "approval.once";
/// Flag: an earlier admin approval of this exact command allowed it (once).
pub(crate) const FLAG_APPROVED_ONCE: &str = "approved_once";

/// Largest command line accepted (the classifier caps its own work far below this).
const MAX_RAW: usize = 1 << 20;
/// Largest `cwd`.
const MAX_CWD: usize = 4096;
/// Largest `agent`, `session` and `client_ts`.
const MAX_LABEL: usize = 256;
/// Most `argv` entries.
const MAX_ARGV: usize = 4096;

/// Checks the client-supplied fields of a proposal. They are recorded as given, never trusted.
pub(crate) fn validate(p: &Proposal) -> Result<(), WireError> {
    let bad = |m: String| Err(WireError::new(ErrorCode::InvalidField, m));
    if p.raw.len() > MAX_RAW {
        return bad(format!("`raw` is {} bytes; the limit is {MAX_RAW}", p.raw.len()));
    }
    if p.cwd.len() > MAX_CWD || p.cwd.contains('\0') || !Path::new(&p.cwd).is_absolute() {
        return bad("`cwd` must be an absolute path without NUL, at most 4096 bytes".into());
    }
    for (name, value) in
        [("agent", Some(&p.agent)), ("session", p.session.as_ref()), ("client_ts", p.client_ts.as_ref())]
    {
        if value.is_some_and(|v| v.len() > MAX_LABEL || v.contains('\0')) {
            return bad(format!("`{name}` must be at most {MAX_LABEL} bytes without NUL"));
        }
    }
    if p.argv.as_ref().is_some_and(|a| a.len() > MAX_ARGV || a.iter().any(|w| w.len() > MAX_RAW)) {
        return bad(format!("`argv` must have at most {MAX_ARGV} entries"));
    }
    if let Some(carried) = &p.repo_policy {
        carry::check(&p.cwd, carried).or_else(bad)?;
    }
    Ok(())
}

impl Daemon {
    /// Answers a proposed command with a recorded verdict.
    pub(super) fn propose(&mut self, p: Proposal, peer: &Peer) -> ResponseBody {
        if let Err(e) = validate(&p) {
            return ResponseBody::Error(e);
        }
        let now = now_ms();
        let classification = classify(&p.raw);
        let repo = self.repos.lookup(&p.cwd, std::time::Instant::now());
        let choice = carry::choose(&repo, p.repo_policy.as_deref());
        let (repo_policy, used) = match &choice {
            carry::Choice::Daemon => {
                (repo.policy.as_ref().map(Option::as_ref), repo.found.as_deref().map(|f| (f, Source::Daemon)))
            }
            carry::Choice::Client(compiled) => (
                compiled.as_ref().as_ref().map(Some),
                p.repo_policy.as_ref().map(|c| (Path::new(&c.path), Source::Client)),
            ),
        };
        let effective = Effective::new(&self.policy, repo_policy.ok().flatten());
        let matched = match repo_policy {
            Err(why) => PolicyMatch::Broken(why.clone()),
            Ok(_) => effective.check(&p.raw),
        };
        let scope = &repo.scope;
        let decided = policy::decide(&DecideInput {
            killswitch: self.killswitch,
            paused: self.paused,
            class: classification.class,
            rule: classification.rule,
            reason: classification.reason,
            policy: &matched,
            mode: effective.mode,
            remembered: self.memory.lookup(scope, &p.raw),
            parsed: classification.parsed,
            repo_loosening_ignored: !effective.ignored.is_empty(),
        });
        let mut verdict = Verdict {
            decision: decided.decision,
            class: decided.class,
            rule: decided.rule,
            reason: decided.reason,
            pending: None,
            seq: 0,
            flags: decided.flags,
        };
        if verdict.decision == Decision::Hold
            && let Some(id) = self.grants.take(&p.agent, &p.cwd, p.session.as_deref(), &p.raw, now)
        {
            verdict.decision = Decision::Allow;
            verdict.rule = RULE_APPROVED_ONCE.into();
            verdict.reason = format!(
                "A human approved this exact command ({id}); it runs once. It would be held: {}",
                verdict.reason
            );
            verdict.flags.push(FLAG_APPROVED_ONCE.into());
        }
        let held = if verdict.decision == Decision::Hold {
            let mut held = Held {
                id: String::new(),
                created_ms: now,
                expires_ms: now + effective.hold_expiry_secs * 1000,
                agent: p.agent.clone(),
                cwd: p.cwd.clone(),
                scope: scope.clone(),
                session: p.session.clone(),
                command: p.raw.clone(),
                class: verdict.class,
                rule: verdict.rule.clone(),
                reason: verdict.reason.clone(),
            };
            match self.queue.new_id(held.bytes() + super::queue::ID_LEN, random_bytes) {
                Ok(id) => {
                    verdict.pending = Some(id.clone());
                    held.id = id;
                    Some(held)
                }
                Err(e) => {
                    // No room to wait for a human: the safe answer is no.
                    verdict.decision = Decision::Deny;
                    verdict.reason = format!("{} It would be held, but {e}.", verdict.reason);
                    None
                }
            }
        } else {
            None
        };
        let data = ProposeRecord {
            agent: &p.agent,
            argv: p.argv.as_deref(),
            client_ts: p.client_ts.as_deref(),
            cwd: &p.cwd,
            held: held.as_ref(),
            pid: p.pid,
            raw: &p.raw,
            repo_policy: used.map(|(path, source)| RepoPolicyUsed { path, source }),
            repo_policy_ignored: &effective.ignored,
            session: p.session.as_deref(),
            span: classification.span.clone(),
            verdict: VerdictRecord {
                class: verdict.class,
                decision: verdict.decision,
                flags: &verdict.flags,
                reason: &verdict.reason,
                rule: &verdict.rule,
            },
        };
        match self.append("propose", peer, &data) {
            Ok(seq) => verdict.seq = seq,
            Err(e) => return ResponseBody::Error(e),
        }
        if let Some(held) = held {
            if let Some(settings) = &self.policy.notify {
                self.notifier.announce(settings, &held);
            }
            // The id was drawn against this queue a moment ago; a failure here is a bug, not a race.
            if let Err(e) = self.queue.hold(held) {
                log!("cannot queue a recorded hold: {e}");
            }
        }
        if verdict.decision == Decision::Allow {
            self.bypass.note_command(&p.cwd, &p.raw, std::time::Instant::now());
        }
        ResponseBody::Verdict(verdict)
    }
}

/// A `propose` record's data, serialized straight from borrowed fields (this is the hot path:
/// no intermediate JSON tree). Absent and empty fields are left out (readers take them as null).
#[derive(Serialize)]
struct ProposeRecord<'a> {
    agent: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    argv: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_ts: Option<&'a str>,
    cwd: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    held: Option<&'a Held>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
    raw: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    repo_policy: Option<RepoPolicyUsed<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    repo_policy_ignored: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    span: Option<Range<usize>>,
    verdict: VerdictRecord<'a>,
}

/// Which repository policy file governed a proposal, and whose read of it was used.
#[derive(Serialize)]
struct RepoPolicyUsed<'a> {
    path: &'a Path,
    source: Source,
}

/// The verdict as a `propose` record states it (its seq is the record's own).
#[derive(Serialize)]
struct VerdictRecord<'a> {
    class: Class,
    decision: Decision,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    flags: &'a [String],
    reason: &'a str,
    rule: &'a str,
}

/// Four random bytes for a pending id.
fn random_bytes() -> [u8; 4] {
    let mut b = [0u8; 4];
    // An OS without randomness cannot run holdfast safely; ids would collide, not leak.
    getrandom::fill(&mut b).expect("the OS random source failed");
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposal(cwd: &str, raw: &str) -> Proposal {
        Proposal { agent: "t".into(), cwd: cwd.into(), raw: raw.into(), ..Default::default() }
    }

    #[test]
    fn validation() {
        let abs = if cfg!(windows) { r"C:\tmp" } else { "/tmp" };
        assert!(validate(&proposal(abs, "ls")).is_ok());
        assert!(validate(&proposal("tmp", "ls")).is_err());
        assert!(validate(&proposal(&format!("{abs}\0x"), "ls")).is_err());
        assert!(validate(&proposal(abs, &"x".repeat(MAX_RAW + 1))).is_err());
        let mut p = proposal(abs, "ls");
        p.agent = "a".repeat(MAX_LABEL + 1);
        assert!(validate(&p).is_err());
    }
}
