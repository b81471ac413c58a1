//! State from the log (DESIGN §4): on start, the queue, the decision memory, the kill switch
//! and pause are rebuilt by replaying the audit records through the same functions used live.

use super::Daemon;
use super::clock::ts_ms;
use super::log::log;
use super::queue::Held;
use crate::wire::HumanDecision;

impl Daemon {
    /// Replays the audit log into the daemon's state. Unreadable records were reported as
    /// damage when the log was opened; they are skipped here.
    pub(super) fn replay(&mut self) {
        let path = match &self.audit {
            Some(log) => log.path().to_path_buf(),
            None => return,
        };
        let records = match crate::audit::read_records(&path) {
            Ok(r) => r,
            Err(e) => {
                log!("cannot replay the audit log: {e}");
                return;
            }
        };
        for record in records.flatten() {
            let Some(now) = ts_ms(&record.ts) else { continue };
            self.queue.expire(now);
            let d = &record.data;
            match record.kind.as_str() {
                "propose" => {
                    if let Ok(held) = serde_json::from_value::<Held>(d["held"].clone()) {
                        let _ = self.queue.hold(held);
                    }
                }
                "approve" | "deny" | "resolve" => {
                    let decision = match record.kind.as_str() {
                        "approve" => HumanDecision::Allow,
                        "deny" => HumanDecision::Deny,
                        _ => match serde_json::from_value::<HumanDecision>(d["decision"].clone()) {
                            Ok(decision) => decision,
                            Err(_) => continue,
                        },
                    };
                    self.apply_resolution(
                        d["pending"].as_str(),
                        decision,
                        d["remember"].as_bool().unwrap_or(false),
                        d["scope"].as_str(),
                        d["command"].as_str().unwrap_or_default(),
                        now,
                    );
                }
                "panic" => self.killswitch = true,
                "release" => self.killswitch = false,
                "pause" => self.paused = true,
                "resume" => self.paused = false,
                _ => {}
            }
        }
    }
}
