//! State from the log (DESIGN §4): on start, the queue, the decision memory, the kill switch
//! and pause are rebuilt by replaying the audit records through the same functions used live —
//! from the newest checkpoint that verifies (its state, then the records after it), else from
//! the beginning. Checkpoints of that same state are written periodically, after a long
//! replay, and at a clean stop (see `audit::checkpoint`).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::Daemon;
use super::clock::ts_ms;
use super::log::log;
use super::memory::Memory;
use super::queue::{Held, Queue};
use crate::audit::Checkpoint;
use crate::wire::{HumanDecision, PendingState};

/// Version of the checkpointed state; another version is not restored (full replay instead).
const STATE_VERSION: u32 = 1;

/// Everything replay rebuilds, as a checkpoint stores it.
#[derive(Serialize, Deserialize)]
struct State {
    v: u32,
    killswitch: bool,
    paused: bool,
    queue: Queue,
    /// Remembered decisions, oldest first.
    memory: Vec<(String, String, HumanDecision)>,
}

/// [`State`] as written, borrowing the daemon's.
#[derive(Serialize)]
struct StateOut<'a> {
    v: u32,
    killswitch: bool,
    paused: bool,
    queue: &'a Queue,
    memory: Vec<(&'a str, &'a str, HumanDecision)>,
}

impl Daemon {
    /// Rebuilds the daemon's state: the checkpoint's state (when given and readable), then the
    /// records after it. Unreadable records were reported as damage when the log was opened;
    /// they are skipped here. Returns how many records were replayed.
    pub(super) fn replay(&mut self, checkpoint: Option<Checkpoint>) -> u64 {
        let path = match &self.audit {
            Some(log) => log.path().to_path_buf(),
            None => return 0,
        };
        let (offset, after) = match checkpoint.map(|cp| (self.restore(&cp.state), cp)) {
            Some((Ok(()), cp)) => (cp.offset, cp.seq),
            Some((Err(why), cp)) => {
                let why = format!("checkpoint seq {}: {why}; the whole log was replayed instead", cp.seq);
                eprintln!("holdfast: audit log: {why}");
                self.log_damage.push(why);
                (0, 0)
            }
            None => (0, 0),
        };
        // Without a checkpoint in the active segment, every segment present is replayed.
        let records = match if after > 0 {
            crate::audit::read_records_from(&path, offset)
        } else {
            crate::audit::read_log_records(&path)
        } {
            Ok(r) => r,
            Err(e) => {
                log!("cannot replay the audit log: {e}");
                return 0;
            }
        };
        let mut replayed = 0;
        if after > 0 {
            eprintln!("holdfast: audit log: state restored from checkpoint seq {after}");
        }
        for record in records.flatten().filter(|r| r.seq > after) {
            replayed += 1;
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
                super::pending::AGENT_APPROVED => {
                    if let Some(id) = d["pending"].as_str() {
                        let _ = self.queue.close(id, PendingState::AgentApproved, now);
                    }
                }
                "panic" => self.killswitch = true,
                "release" => self.killswitch = false,
                "pause" => self.paused = true,
                "resume" => self.paused = false,
                _ => {}
            }
        }
        replayed
    }

    /// Sets the state from a checkpoint's (all or nothing).
    fn restore(&mut self, state: &RawValue) -> Result<(), String> {
        let s: State = serde_json::from_str(state.get()).map_err(|e| format!("its state is unreadable ({e})"))?;
        if s.v != STATE_VERSION {
            return Err(format!("its state is version {}, this daemon reads version {STATE_VERSION}", s.v));
        }
        let mut memory = Memory::new();
        for (scope, command, decision) in &s.memory {
            memory.remember(scope, command, *decision);
        }
        self.killswitch = s.killswitch;
        self.paused = s.paused;
        self.queue = s.queue;
        self.memory = memory;
        Ok(())
    }

    /// Writes a checkpoint of the current state.
    pub(super) fn write_checkpoint(&mut self) {
        let state = StateOut {
            v: STATE_VERSION,
            killswitch: self.killswitch,
            paused: self.paused,
            queue: &self.queue,
            memory: self.memory.entries().collect(),
        };
        let raw = match serde_json::value::to_raw_value(&state) {
            Ok(raw) => raw,
            Err(e) => return eprintln!("holdfast: cannot encode a checkpoint: {e}"),
        };
        if let Some(log) = self.audit.as_mut()
            && let Err(e) = log.checkpoint(&raw)
        {
            eprintln!("holdfast: cannot write a checkpoint: {e}");
        }
    }

    /// Writes a checkpoint when enough records were written since the last one.
    pub(super) fn checkpoint_if_due(&mut self) {
        if self.audit.as_ref().is_some_and(crate::audit::AuditLog::checkpoint_due) {
            self.write_checkpoint();
        }
    }
}
