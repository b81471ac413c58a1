//! The console's keys, as data: one row per key, read by the event loop and by the help line.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    Approve,
    ApproveRemember,
    Deny,
    DenyRemember,
    Details,
    Filter,
    Panic,
    Quit,
}

/// One key binding: the key, its action, and the word the help line shows.
pub struct Binding {
    pub key: KeyCode,
    pub action: Action,
    pub label: &'static str,
    /// Shown in the help line (arrows and aliases are not).
    pub help: bool,
}

const fn bind(key: KeyCode, action: Action, label: &'static str, help: bool) -> Binding {
    Binding { key, action, label, help }
}

/// Every binding. Panic is a capital `P`: the kill switch only tightens, but it stops the agent's work.
pub const BINDINGS: &[Binding] = &[
    bind(KeyCode::Char('a'), Action::Approve, "a approve", true),
    bind(KeyCode::Char('A'), Action::ApproveRemember, "A approve+remember", true),
    bind(KeyCode::Char('d'), Action::Deny, "d deny", true),
    bind(KeyCode::Char('D'), Action::DenyRemember, "D deny+remember", true),
    bind(KeyCode::Enter, Action::Details, "enter details", true),
    bind(KeyCode::Char('/'), Action::Filter, "/ filter", true),
    bind(KeyCode::Char('P'), Action::Panic, "P panic", true),
    bind(KeyCode::Char('q'), Action::Quit, "q quit", true),
    bind(KeyCode::Esc, Action::Quit, "esc", false),
    bind(KeyCode::Up, Action::Up, "up", false),
    bind(KeyCode::Char('k'), Action::Up, "k", false),
    bind(KeyCode::Down, Action::Down, "down", false),
    bind(KeyCode::Char('j'), Action::Down, "j", false),
];

/// The action bound to `key`, if any. Ctrl-C always quits.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    BINDINGS.iter().find(|b| b.key == key.code).map(|b| b.action)
}

/// The help line: the labels of the bindings marked for help.
pub fn help_line() -> String {
    BINDINGS.iter().filter(|b| b.help).map(|b| b.label).collect::<Vec<_>>().join("  ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_key_and_keys_are_unique() {
        let mut keys: Vec<String> = BINDINGS.iter().map(|b| format!("{:?}", b.key)).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "a key is bound twice");
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(&ctrl_c), Some(Action::Quit));
        let plain_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(action_for(&plain_c), None);
    }
}
