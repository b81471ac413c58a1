//! `observe`: a filesystem change the watcher saw, flagged `bypass` when no recent
//! allowed or recorded command explains it.

use serde_json::json;

use super::Daemon;
use crate::wire::{Ack, ErrorCode, Observation, Peer, ResponseBody, WireError};

const CHANGES: &[&str] = &["create", "modify", "remove", "rename", "overflow"];

impl Daemon {
    /// Records an observation; the bypass flag is decided before the record so it is part of it.
    pub(super) fn observe(&mut self, o: Observation, peer: &Peer) -> ResponseBody {
        if !CHANGES.contains(&o.change.as_str()) {
            let msg = format!("`change` must be one of {}", CHANGES.join(", "));
            return ResponseBody::Error(WireError::new(ErrorCode::InvalidField, msg));
        }
        if o.path.len() > 4096 || o.to.as_ref().is_some_and(|t| t.len() > 4096) {
            return ResponseBody::Error(WireError::new(ErrorCode::InvalidField, "`path` is longer than 4096 bytes"));
        }
        let reason = self.bypass.check(&o, std::time::Instant::now());
        let mut data = match serde_json::to_value(&o) {
            Ok(v) => v,
            Err(e) => return ResponseBody::Error(WireError::new(ErrorCode::Internal, format!("cannot encode: {e}"))),
        };
        if let Some(reason) = &reason {
            data["bypass"] = json!(true);
            data["reason"] = json!(reason);
        }
        match self.append("observe", peer, &data) {
            Ok(seq) => {
                let flags = if reason.is_some() {
                    self.bypass_flags += 1;
                    vec!["bypass".to_string()]
                } else {
                    Vec::new()
                };
                ResponseBody::Ack(Ack { seq: Some(seq), message: reason, flags })
            }
            Err(e) => ResponseBody::Error(e),
        }
    }
}
