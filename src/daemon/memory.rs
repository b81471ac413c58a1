//! Decision memory: a human's remembered allow or deny for one exact command in one repository.
//!
//! Keyed by (scope, command): the scope is [`crate::policy::memory_scope`] of the command's cwd
//! (its repository root, or the cwd outside any repository), recorded in the audit record so
//! replay never touches the filesystem; the command is the exact raw line, byte for byte.
//! The latest decision for a key replaces earlier ones. Like the queue, it is rebuilt from the
//! audit log by calling [`Memory::remember`] for each remembered resolution, in log order.
//!
//! Bounded: at most [`MAX_ENTRIES`] keys and [`MAX_BYTES`] of key text; when either is exceeded
//! the least recently remembered entries are evicted (a lookup does not refresh). A command longer
//! than [`MAX_COMMAND_BYTES`] is not remembered: forgetting only means a human is asked again.
//! How `decide` applies a remembered decision: see [`crate::policy::decide`].

use std::collections::{BTreeMap, HashMap};

use crate::wire::HumanDecision;

/// Most remembered keys.
pub(crate) const MAX_ENTRIES: usize = 100_000;
/// Most key text (scope + command, both copies the index holds), in bytes.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;
/// Longest command that is remembered.
pub(crate) const MAX_COMMAND_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy)]
struct Entry {
    decision: HumanDecision,
    tick: u64,
}

/// Remembered human decisions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Memory {
    by_scope: HashMap<String, HashMap<String, Entry>>,
    /// Remember order: tick → key, oldest first.
    order: BTreeMap<u64, (String, String)>,
    tick: u64,
    bytes: usize,
}

fn cost(scope: &str, command: &str) -> usize {
    2 * (scope.len() + command.len())
}

impl Memory {
    /// An empty memory.
    pub fn new() -> Memory {
        Memory::default()
    }

    /// Number of remembered keys.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when nothing is remembered.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Remembers `decision` for `command` in `scope`; false (nothing changes) when the command
    /// is longer than [`MAX_COMMAND_BYTES`].
    pub fn remember(&mut self, scope: &str, command: &str, decision: HumanDecision) -> bool {
        if command.len() > MAX_COMMAND_BYTES {
            return false;
        }
        self.tick += 1;
        let tick = self.tick;
        let commands = self.by_scope.entry(scope.to_string()).or_default();
        match commands.get_mut(command) {
            Some(e) => {
                self.order.remove(&e.tick);
                *e = Entry { decision, tick };
            }
            None => {
                commands.insert(command.to_string(), Entry { decision, tick });
                self.bytes += cost(scope, command);
            }
        }
        self.order.insert(tick, (scope.to_string(), command.to_string()));
        while self.order.len() > MAX_ENTRIES || self.bytes > MAX_BYTES {
            let Some((_, (s, c))) = self.order.pop_first() else { break };
            self.bytes -= cost(&s, &c);
            if let Some(commands) = self.by_scope.get_mut(&s) {
                commands.remove(&c);
                if commands.is_empty() {
                    self.by_scope.remove(&s);
                }
            }
        }
        true
    }

    /// Every entry, oldest first: calling [`Memory::remember`] with them in this order rebuilds
    /// this memory (audit checkpoints store it so).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str, HumanDecision)> {
        self.order.values().filter_map(|(s, c)| {
            let e = self.by_scope.get(s)?.get(c)?;
            Some((s.as_str(), c.as_str(), e.decision))
        })
    }

    /// The remembered decision for `command` in `scope`.
    pub fn lookup(&self, scope: &str, command: &str) -> Option<HumanDecision> {
        self.by_scope.get(scope)?.get(command).map(|e| e.decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_per_scope_and_exact_command() {
        let mut m = Memory::new();
        assert!(m.is_empty());
        assert!(m.remember("/repo", "make deploy", HumanDecision::Allow));
        assert_eq!(m.lookup("/repo", "make deploy"), Some(HumanDecision::Allow));
        assert_eq!(m.lookup("/other", "make deploy"), None);
        assert_eq!(m.lookup("/repo", "make  deploy"), None);
        assert_eq!(m.lookup("/repo", "make deploy "), None);
        m.remember("/repo", "make deploy", HumanDecision::Deny);
        assert_eq!(m.lookup("/repo", "make deploy"), Some(HumanDecision::Deny));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn oldest_entries_are_evicted() {
        let mut m = Memory::new();
        for i in 0..MAX_ENTRIES {
            m.remember("/r", &format!("cmd {i}"), HumanDecision::Allow);
        }
        // Re-remembering refreshes: "cmd 0" is now the newest.
        m.remember("/r", "cmd 0", HumanDecision::Deny);
        m.remember("/r", "one more", HumanDecision::Allow);
        assert_eq!(m.len(), MAX_ENTRIES);
        assert_eq!(m.lookup("/r", "cmd 0"), Some(HumanDecision::Deny));
        assert_eq!(m.lookup("/r", "cmd 1"), None);
        assert_eq!(m.lookup("/r", "cmd 2"), Some(HumanDecision::Allow));
        assert_eq!(m.lookup("/r", "one more"), Some(HumanDecision::Allow));
    }

    #[test]
    fn byte_budget_evicts_and_long_commands_are_not_remembered() {
        let mut m = Memory::new();
        assert!(!m.remember("/r", &"x".repeat(MAX_COMMAND_BYTES + 1), HumanDecision::Deny));
        assert!(m.is_empty());
        let big = "y".repeat(MAX_COMMAND_BYTES - 8);
        let n = MAX_BYTES / cost("/r", &big) + 2;
        for i in 0..n {
            m.remember("/r", &format!("{i:08}{big}"), HumanDecision::Allow);
        }
        assert!(m.bytes <= MAX_BYTES);
        assert_eq!(m.lookup("/r", &format!("{:08}{big}", 0)), None);
        assert_eq!(m.lookup("/r", &format!("{:08}{big}", n - 1)), Some(HumanDecision::Allow));
    }
}
