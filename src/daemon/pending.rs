//! The approval queue's requests: `list_pending`, `pending_status`, `approve`, `deny`,
//! `resolve`, and the expiry sweep. Each state change is an audit record first.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::Daemon;
use super::clock::now_ms;
use super::log::log;
use super::queue::{self, QueueError};
use crate::classify::Class;
use crate::wire::{
    Ack, Decide, ErrorCode, HumanDecision, PageRequest, Peer, PendingRef, PendingState, Resolution, ResponseBody,
    WireError,
};

fn queue_error(e: QueueError) -> WireError {
    let code = match e {
        QueueError::NotFound(_) => ErrorCode::NotFound,
        QueueError::Conflict { .. } | QueueError::Duplicate(_) => ErrorCode::Conflict,
        QueueError::Full | QueueError::TooLarge(_) | QueueError::NoFreeId => ErrorCode::Unavailable,
    };
    WireError::new(code, e.to_string())
}

fn parse_id(raw: &str) -> Result<String, WireError> {
    queue::normalize_id(raw)
        .ok_or_else(|| WireError::new(ErrorCode::InvalidField, "`pending` is not a pending id (6 base32 characters)"))
}

/// The op a `resolve` is proved for: the pending id, or a hash of the command when there is none.
pub(crate) fn resolve_op(r: &Resolution) -> String {
    match r.pending.as_deref().and_then(queue::normalize_id) {
        Some(id) => format!("resolve:{id}"),
        None => format!("resolve:{}", hex::encode(Sha256::digest(r.command.as_bytes()))),
    }
}

/// The audit record kind of an agent's report that its user approved in the agent's prompt.
pub(crate) const AGENT_APPROVED: &str = "agent_approved";

/// True for the agent's post-tool report: an allow of a held id, no memory asked, no proof given.
fn is_agent_report(r: &Resolution) -> bool {
    r.decision == HumanDecision::Allow
        && !r.remember
        && r.pending.is_some()
        && r.proof.nonce.is_none()
        && r.proof.proof.is_none()
}

impl Daemon {
    /// `list_pending`: one page (see [`queue::Queue::page`]).
    pub(super) fn list_pending(&self, page: &PageRequest) -> ResponseBody {
        let limit = page.limit.map_or(queue::PAGE_MAX_ITEMS, |l| l as usize);
        let (items, next) = self.queue.page(now_ms(), page.after.as_deref(), limit);
        ResponseBody::PendingList { items, more: next.is_some(), next }
    }

    /// `pending_status`. A waiter that sees its approval takes it: the one-time grant goes, so one
    /// approval runs the command once.
    pub(super) fn pending_status(&mut self, r: &PendingRef) -> ResponseBody {
        match parse_id(&r.pending) {
            Ok(id) => {
                let item = self.queue.item(&id, now_ms());
                if item.state == PendingState::Approved {
                    self.grants.drop_pending(&id);
                }
                ResponseBody::Pending(item)
            }
            Err(e) => ResponseBody::Error(e),
        }
    }

    /// `approve` / `deny`: exactly once, proved when a vault exists, recorded before it counts.
    pub(super) fn decide_pending(&mut self, d: Decide, decision: HumanDecision, peer: &Peer) -> ResponseBody {
        let id = match parse_id(&d.pending) {
            Ok(id) => id,
            Err(e) => return ResponseBody::Error(e),
        };
        let verb = match decision {
            HumanDecision::Allow => "approve",
            HumanDecision::Deny => "deny",
        };
        if let Err(e) = self.authorize_answer(&format!("{verb}:{id}"), &d.proof, peer) {
            return ResponseBody::Error(e);
        }
        let now = now_ms();
        let held = match self.queue.check_resolve(&id, now) {
            Ok(h) => h.clone(),
            Err(e) => return ResponseBody::Error(queue_error(e)),
        };
        // A remembered approval never applies to catastrophic commands, so none is stored.
        let remember = d.remember && !(decision == HumanDecision::Allow && held.class == Class::Catastrophic);
        let data = json!({
            "pending": id,
            "remember": remember,
            "remember_refused": d.remember && !remember,
            "scope": held.scope,
            "cwd": held.cwd,
            "agent": held.agent,
            "command": held.command,
            "class": held.class,
        });
        if let Err(e) = self.append(verb, peer, &data) {
            return ResponseBody::Error(e);
        }
        self.apply_resolution(Some(&id), decision, remember, Some(&held.scope), &held.command, now);
        if decision == HumanDecision::Allow {
            self.bypass.note_command(&held.cwd, &held.command, std::time::Instant::now());
            // The approval outlives the hook that waited for it (see `grant`).
            self.grants.add(&held, now);
        }
        ResponseBody::Pending(self.queue.item(&id, now))
    }

    /// `resolve`: a decision a human made in the agent's own prompt. Without a proof, an allow of a
    /// held id that asks for no memory is the agent's report (see [`Daemon::agent_approved`]).
    pub(super) fn resolve(&mut self, r: Resolution, peer: &Peer) -> ResponseBody {
        if r.command.len() > 1 << 20 {
            return ResponseBody::Error(WireError::new(ErrorCode::InvalidField, "`command` is too long"));
        }
        if is_agent_report(&r) {
            return self.agent_approved(&r, peer);
        }
        if let Err(e) = self.authorize_answer(&resolve_op(&r), &r.proof, peer) {
            return ResponseBody::Error(e);
        }
        let now = now_ms();
        let id = r.pending.as_deref().map(parse_id).transpose();
        let id = match id {
            Ok(id) => id,
            Err(e) => return ResponseBody::Error(e),
        };
        let held = match &id {
            Some(id) => match self.queue.check_resolve(id, now) {
                Ok(h) if h.command == r.command => Some(h.clone()),
                Ok(_) => {
                    return ResponseBody::Error(WireError::new(
                        ErrorCode::InvalidField,
                        "`command` is not the command held under that pending id",
                    ));
                }
                Err(e) => return ResponseBody::Error(queue_error(e)),
            },
            None => None,
        };
        let scope = match (&held, r.cwd.as_deref()) {
            (Some(h), _) => Some(h.scope.clone()),
            (None, Some(cwd)) if std::path::Path::new(cwd).is_absolute() && !cwd.contains('\0') => {
                // The propose path's lookup, so both sides of a decision agree on the scope.
                Some(self.repos.lookup(cwd, std::time::Instant::now()).scope.clone())
            }
            _ => None,
        };
        if r.remember && scope.is_none() {
            return ResponseBody::Error(WireError::new(
                ErrorCode::InvalidField,
                "an absolute `cwd` (or a `pending` id) is needed to remember a decision",
            ));
        }
        let catastrophic = held.as_ref().map_or_else(|| crate::classify::classify(&r.command).class, |h| h.class)
            == Class::Catastrophic;
        let remember = r.remember && !(r.decision == HumanDecision::Allow && catastrophic);
        let data = json!({
            "pending": id,
            "decision": r.decision,
            "remember": remember,
            "remember_refused": r.remember && !remember,
            "scope": scope,
            "cwd": r.cwd,
            "agent": r.agent,
            "command": r.command,
        });
        let seq = match self.append("resolve", peer, &data) {
            Ok(seq) => seq,
            Err(e) => return ResponseBody::Error(e),
        };
        self.apply_resolution(id.as_deref(), r.decision, remember, scope.as_deref(), &r.command, now);
        let mut flags = Vec::new();
        if r.remember && !remember {
            flags.push("remember_refused_catastrophic".to_string());
        }
        ResponseBody::Ack(Ack { seq: Some(seq), message: None, flags })
    }

    /// The agent reports that its user approved a held command in the agent's own prompt and that
    /// it ran. A different fact from an admin approval: no proof is asked (so it never counts toward
    /// the lockout), no decision memory is stored, and the hold closes as `agent_approved`, which no
    /// waiting hook takes for an approval — so a forged report can close a hold, never release one.
    fn agent_approved(&mut self, r: &Resolution, peer: &Peer) -> ResponseBody {
        let id = match parse_id(r.pending.as_deref().unwrap_or_default()) {
            Ok(id) => id,
            Err(e) => return ResponseBody::Error(e),
        };
        let now = now_ms();
        let held = match self.queue.check_resolve(&id, now) {
            Ok(h) if h.command == r.command => h.clone(),
            Ok(_) => {
                return ResponseBody::Error(WireError::new(
                    ErrorCode::InvalidField,
                    "`command` is not the command held under that pending id",
                ));
            }
            Err(e) => return ResponseBody::Error(queue_error(e)),
        };
        let data = json!({
            "pending": id,
            "agent": held.agent,
            "reported_by": r.agent,
            "cwd": held.cwd,
            "command": held.command,
            "class": held.class,
        });
        let seq = match self.append(AGENT_APPROVED, peer, &data) {
            Ok(seq) => seq,
            Err(e) => return ResponseBody::Error(e),
        };
        let _ = self.queue.close(&id, PendingState::AgentApproved, now);
        let message = Some("recorded: approved in the agent's own prompt (not an admin approval)".to_string());
        ResponseBody::Ack(Ack { seq: Some(seq), message, flags: Vec::new() })
    }

    /// Applies a recorded human decision to the queue and the memory (live and at replay).
    pub(super) fn apply_resolution(
        &mut self,
        id: Option<&str>,
        decision: HumanDecision,
        remember: bool,
        scope: Option<&str>,
        command: &str,
        now: u64,
    ) {
        if let Some(id) = id {
            let _ = self.queue.resolve(id, decision, now);
        }
        if let Some(scope) = scope.filter(|_| remember) {
            self.memory.remember(scope, command, decision);
        }
    }

    /// Expires held commands whose time ran out, recording each (an expiry is a denial).
    pub(super) fn sweep_expired(&mut self) {
        let now = now_ms();
        for held in self.queue.expire(now) {
            let data = json!({ "pending": held.id, "command": held.command, "agent": held.agent, "cwd": held.cwd });
            if let Err(e) = self.append("expire", &Peer::default(), &data) {
                log!("{}", e.message);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Proof;

    #[test]
    fn resolve_op_binds_to_the_id_or_the_command() {
        let mut r = Resolution {
            command: "rm -rf x".into(),
            decision: HumanDecision::Allow,
            remember: false,
            cwd: None,
            agent: None,
            pending: Some("AB12CD".into()),
            proof: Proof::default(),
        };
        assert_eq!(resolve_op(&r), "resolve:ab12cd");
        r.pending = None;
        let op = resolve_op(&r);
        assert!(op.starts_with("resolve:") && op.len() == "resolve:".len() + 64);
    }
}
