//! Command classifier: decides whether a shell command line proposed by an
//! agent is `safe`, `ambiguous` or `catastrophic`.
//!
//! Pipeline: complexity caps (`limits`) → fast conservative lexer for plain
//! lines (`lex`, the prefilter) or the full `brush-parser` AST walk
//! (`parse`); a line that does not parse is also split at its command
//! separators and each part classified (`salvage`) → unwrapping of wrappers such as `sudo`, `env`, `bash -c`,
//! `xargs`, `find -exec` (`unwrap`) → per-family rules (`rules`).
//! The worst class found anywhere in the line wins. All of it runs under one
//! panic guard (`cx::classify_line`): a bug ends in `parse.error`, never in a
//! crash, and never lowers what was found before it.
//!
//! Classification is pure: no I/O, no environment, no clock.
//!
//! `Classification::span` serializes as `{"start": N, "end": M}` (byte
//! offsets into the classified string, end exclusive) or `null`.

mod cx;
mod ir;
mod lex;
mod limits;
mod parse;
mod paths;
mod rules;
mod salvage;
mod text;
mod trace;
mod unwrap;

pub use trace::{Explanation, Step, explain, explain_full_parse};

use serde::{Deserialize, Serialize};

/// Risk class of a command. Ordered: `Safe < Ambiguous < Catastrophic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Everyday work: allow.
    Safe,
    /// Risky or context dependent: hold for a human.
    Ambiguous,
    /// Irreversible or broad destruction, secret exfiltration, disabling the guard.
    Catastrophic,
}

impl Class {
    /// `"safe"`, `"ambiguous"` or `"catastrophic"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Safe => "safe",
            Class::Ambiguous => "ambiguous",
            Class::Catastrophic => "catastrophic",
        }
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict for one command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    /// The worst class found in the line.
    pub class: Class,
    /// Stable dotted rule id (`safe.default` when nothing matched).
    pub rule: &'static str,
    /// One plain sentence explaining the rule.
    pub reason: &'static str,
    /// Byte range of the input that triggered the rule (`None` for `safe.default`).
    pub span: Option<std::ops::Range<usize>>,
    /// False when any part of the line could not be parsed or was over a complexity cap
    /// (`parse.error`/`parse.complex` was found, whatever class won): such a line is never
    /// safe, and no remembered approval applies to it.
    pub parsed: bool,
}

/// A classification rule: stable id, class and human reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    pub id: &'static str,
    pub class: Class,
    pub reason: &'static str,
}

/// The rule reported when nothing matched.
pub(crate) const SAFE_DEFAULT: Rule =
    Rule { id: "safe.default", class: Class::Safe, reason: "No rule matched; the command looks like everyday work." };

/// Classify one command line (may contain newlines, here-documents, …).
pub fn classify(command: &str) -> Classification {
    cx::classify_line(command, false)
}

/// Like [`classify`] but without the fast lexer: every line goes through
/// brush-parser. For differential tests of the fast path only.
#[doc(hidden)]
pub fn classify_full_parse(command: &str) -> Classification {
    cx::classify_line(command, true)
}

/// Every rule: `(id, class, reason)`.
pub fn rule_ids() -> impl Iterator<Item = (&'static str, Class, &'static str)> {
    rules::all_rules().map(|r| (r.id, r.class, r.reason))
}
