//! The kill switch (`panic`/`release`), `pause`/`resume`, and `reload` of the global policy.
//! Every change is recorded before it takes effect; all but `panic` are privileged.

use serde_json::json;

use super::Daemon;
use super::log::log;
use crate::policy::Policy;
use crate::wire::{Ack, ErrorCode, Peer, Proof, ResponseBody, WireError};

/// Loads the global policy at start: a broken file leaves the built-in defaults in force, said loudly.
pub(super) fn load_policy(path: &std::path::Path) -> anyhow::Result<(Policy, Option<String>)> {
    // Fail closed like sudo and sshd: a daemon running without the policy its admin wrote (say,
    // without a [[deny]] rule after a typo elsewhere) would silently allow what it denies.
    Policy::load(path).map(|p| (p, None)).map_err(|e| anyhow::anyhow!(e.refusal()))
}

fn ack(seq: u64, message: &str) -> ResponseBody {
    ResponseBody::Ack(Ack { seq: Some(seq), message: Some(message.into()), flags: Vec::new() })
}

impl Daemon {
    /// `panic`: deny everything from now on. Needs no proof: it only tightens.
    pub(super) fn panic(&mut self, peer: &Peer) -> ResponseBody {
        match self.append("panic", peer, &json!({ "was_engaged": self.killswitch })) {
            Ok(seq) => {
                self.killswitch = true;
                ack(seq, "kill switch engaged: every command is denied until an admin releases it")
            }
            Err(e) => ResponseBody::Error(e),
        }
    }

    /// `release`, `pause`, `resume`: privileged switches.
    pub(super) fn switch(&mut self, kind: &'static str, proof: &Proof, peer: &Peer) -> ResponseBody {
        if let Err(e) = self.authorize(kind, proof, peer) {
            return ResponseBody::Error(e);
        }
        let seq = match self.append(kind, peer, &json!({})) {
            Ok(seq) => seq,
            Err(e) => return ResponseBody::Error(e),
        };
        let message = match kind {
            "release" => {
                self.killswitch = false;
                "kill switch released"
            }
            "pause" => {
                self.paused = true;
                "enforcement paused: commands are recorded and allowed until `holdfast resume`"
            }
            _ => {
                self.paused = false;
                "enforcement resumed"
            }
        };
        ack(seq, message)
    }

    /// `reload` (privileged): re-reads the global policy.
    pub(super) fn reload_request(&mut self, proof: &Proof, peer: &Peer) -> ResponseBody {
        if let Err(e) = self.authorize("reload", proof, peer) {
            return ResponseBody::Error(e);
        }
        self.reload_policy(peer)
    }

    /// Re-reads the global policy (`reload` or SIGHUP). On error the last good policy stays.
    pub(super) fn reload_policy(&mut self, peer: &Peer) -> ResponseBody {
        // A reload is also the human's way to make repository policy edits apply at once.
        self.repos.clear();
        let path = self.paths.policy();
        match Policy::load(&path) {
            Ok(policy) => {
                let data = json!({ "path": path, "ok": true, "mode": policy.mode.as_str() });
                match self.append("reload", peer, &data) {
                    Ok(seq) => {
                        self.policy = policy;
                        self.policy_error = None;
                        self.apply_audit_policy();
                        ack(seq, "policy reloaded")
                    }
                    Err(e) => ResponseBody::Error(e),
                }
            }
            Err(e) => {
                let message = format!("{e}; the last good policy stays in force");
                log!("POLICY ERROR: {message}");
                let _ = self.append("reload", peer, &json!({ "path": path, "ok": false, "error": message }));
                self.policy_error = Some(message.clone());
                ResponseBody::Error(WireError::new(ErrorCode::InvalidField, message))
            }
        }
    }
}
