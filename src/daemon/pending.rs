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
    Ack, Decide, ErrorCode, HumanDecision, PageRequest, Peer, PendingRef, Resolution, ResponseBody, WireError,
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

impl Daemon {
    /// `list_pending`: one page (see [`queue::Queue::page`]).
    pub(super) fn list_pending(&self, page: &PageRequest) -> ResponseBody {
        let limit = page.limit.map_or(queue::PAGE_MAX_ITEMS, |l| l as usize);
        let (items, next) = self.queue.page(now_ms(), page.after.as_deref(), limit);
        ResponseBody::PendingList { items, more: next.is_some(), next }
    }

    /// `pending_status`.
    pub(super) fn pending_status(&self, r: &PendingRef) -> ResponseBody {
        match parse_id(&r.pending) {
            Ok(id) => ResponseBody::Pending(self.queue.item(&id, now_ms())),
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
        if let Err(e) = self.authorize(&format!("{verb}:{id}"), &d.proof, peer) {
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
        }
        ResponseBody::Pending(self.queue.item(&id, now))
    }

    /// `resolve`: a decision a human made in the agent's own prompt.
    pub(super) fn resolve(&mut self, r: Resolution, peer: &Peer) -> ResponseBody {
        if r.command.len() > 1 << 20 {
            return ResponseBody::Error(WireError::new(ErrorCode::InvalidField, "`command` is too long"));
        }
        if let Err(e) = self.authorize(&resolve_op(&r), &r.proof, peer) {
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
