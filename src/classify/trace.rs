//! `holdfast explain`: the commands the classifier looked at, after
//! unwrapping, and the rule each one raised. Off unless [`explain`] runs:
//! a classification then costs one thread-local flag test per command.

use std::cell::{Cell, RefCell};

use serde::Serialize;

use super::{Class, Classification, classify};

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static STEPS: RefCell<Vec<Step>> = const { RefCell::new(Vec::new()) };
}

/// One simple command as the rules saw it.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Nesting: 0 for the line itself, +1 inside `bash -c`, `ssh host '…'`, a decoded payload, …
    pub depth: u32,
    /// The program name the rules matched on (`git`, `rm`, `powershell`).
    pub program: String,
    /// Its arguments after unwrapping (`sudo`, `env`, `xargs` … removed).
    pub argv: Vec<String>,
    /// It runs with elevated privileges (`sudo`, `doas`, `pkexec`).
    pub sudo: bool,
    /// The rule this command raised when it made the verdict worse, with its class.
    pub raised: Option<(&'static str, Class)>,
}

/// The verdict and the commands behind it.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The verdict, as `classify` gives it.
    pub classification: Classification,
    /// The commands the line was taken apart into, in order, with each one's class.
    pub steps: Vec<Step>,
}

/// Tracing is on for this thread.
#[inline]
pub(crate) fn on() -> bool {
    ON.with(Cell::get)
}

/// Record one step (only called when [`on`]).
pub(crate) fn record(step: Step) {
    STEPS.with(|s| {
        let mut s = s.borrow_mut();
        // A hostile line can expand to many commands: the verdict does not depend on the trace.
        if s.len() < 256 {
            s.push(step);
        }
    });
}

/// Classify `command` and report every command the rules looked at.
pub fn explain(command: &str) -> Explanation {
    explain_with(command, classify)
}

/// Like [`explain`] but without the fast lexer (see `classify_full_parse`). For differential
/// tests of the fast path only.
#[doc(hidden)]
pub fn explain_full_parse(command: &str) -> Explanation {
    explain_with(command, super::classify_full_parse)
}

fn explain_with(command: &str, classify: fn(&str) -> Classification) -> Explanation {
    STEPS.with(|s| s.borrow_mut().clear());
    ON.with(|c| c.set(true));
    let classification = classify(command);
    ON.with(|c| c.set(false));
    let steps = STEPS.with(|s| std::mem::take(&mut *s.borrow_mut()));
    Explanation { classification, steps }
}
