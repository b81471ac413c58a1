//! One-time grants: an admin approval outlives the hook that waited for it.
//!
//! A waiting hook (Codex, Gemini, generic) gives up after its wait and tells the agent to run the
//! command again once a human approved it. An admin `approve` therefore leaves a grant: the
//! identical command (same agent, same cwd, same agent session when the hold had one) is allowed
//! once within [`WINDOW_MS`], in place of a new hold. A waiting hook that sees the approval itself
//! takes the grant, so one approval runs the command once.
//!
//! Grants live in memory only: a restarted daemon holds the retry again (the safe direction). The
//! approval and the allowed retry are each an audit record.

use super::queue::Held;

/// How long after the approval the identical command may be run once.
pub(crate) const WINDOW_MS: u64 = 10 * 60 * 1000;
/// Most grants kept at once (oldest dropped first).
const MAX_GRANTS: usize = 256;

/// An approved hold whose command may run once more.
#[derive(Debug, Clone)]
struct Grant {
    pending: String,
    agent: String,
    cwd: String,
    session: Option<String>,
    command: String,
    at_ms: u64,
}

/// The grants in force.
#[derive(Debug, Default)]
pub(crate) struct Grants {
    items: Vec<Grant>,
}

impl Grants {
    /// Leaves a grant for an approved hold.
    pub fn add(&mut self, held: &Held, now: u64) {
        self.items.retain(|g| g.pending != held.id);
        if self.items.len() >= MAX_GRANTS {
            self.items.remove(0);
        }
        self.items.push(Grant {
            pending: held.id.clone(),
            agent: held.agent.clone(),
            cwd: held.cwd.clone(),
            session: held.session.clone(),
            command: held.command.clone(),
            at_ms: now,
        });
    }

    /// Takes the grant matching this proposal, if one is in force: returns its pending id.
    pub fn take(&mut self, agent: &str, cwd: &str, session: Option<&str>, command: &str, now: u64) -> Option<String> {
        self.items.retain(|g| now.saturating_sub(g.at_ms) <= WINDOW_MS);
        let i = self.items.iter().position(|g| {
            g.agent == agent
                && g.cwd == cwd
                && g.command == command
                && g.session.as_deref().is_none_or(|s| session == Some(s))
        })?;
        Some(self.items.remove(i).pending)
    }

    /// Drops the grant of `pending` (its waiting hook took the approval itself).
    pub fn drop_pending(&mut self, pending: &str) {
        self.items.retain(|g| g.pending != pending);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Class;

    fn held(session: Option<&str>) -> Held {
        Held {
            id: "abc123".into(),
            created_ms: 0,
            expires_ms: 1,
            agent: "codex".into(),
            cwd: "/r".into(),
            scope: "/r".into(),
            session: session.map(str::to_owned),
            command: "make deploy".into(),
            class: Class::Ambiguous,
            rule: "r".into(),
            reason: "x".into(),
        }
    }

    #[test]
    fn once_same_command_cwd_agent_session_within_the_window() {
        let mut g = Grants::default();
        g.add(&held(Some("s1")), 1_000);
        assert_eq!(g.take("codex", "/r", Some("s2"), "make deploy", 1_001), None, "another session");
        assert_eq!(g.take("codex", "/other", Some("s1"), "make deploy", 1_001), None, "another cwd");
        assert_eq!(g.take("gemini", "/r", Some("s1"), "make deploy", 1_001), None, "another agent");
        assert_eq!(g.take("codex", "/r", Some("s1"), "make deploy ", 1_001), None, "another command");
        assert_eq!(g.take("codex", "/r", Some("s1"), "make deploy", 1_001).as_deref(), Some("abc123"));
        assert_eq!(g.take("codex", "/r", Some("s1"), "make deploy", 1_002), None, "once");
        g.add(&held(None), 1_000);
        assert_eq!(g.take("codex", "/r", None, "make deploy", 1_000 + WINDOW_MS + 1), None, "expired");
        g.add(&held(None), 1_000);
        g.drop_pending("abc123");
        assert_eq!(g.take("codex", "/r", Some("any"), "make deploy", 1_001), None, "taken by its waiter");
    }
}
