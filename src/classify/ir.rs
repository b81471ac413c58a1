//! The small intermediate representation shared by the fast lexer and the
//! brush AST walk: pipelines of simple commands made of words and redirects.

use std::borrow::Cow;
use std::ops::Range;

/// One shell word after quote removal.
#[derive(Debug, Clone, Default)]
pub(crate) struct Word<'a> {
    /// Literal value after quote removal. Expansions are rendered as `$NAME`,
    /// `$(…)` so rules can still recognise `$HOME`.
    pub text: Cow<'a, str>,
    /// Byte range in the top-level input.
    pub span: Range<usize>,
    /// Any quoting or escaping was present (a quoted word is never a reserved word).
    pub quoted: bool,
    /// Contains a parameter, command or arithmetic expansion.
    pub dynamic: bool,
    /// Contains an unquoted glob character (`*`, `?`, `[`).
    pub glob: bool,
    /// Part of the value comes from a downloader or decoder (`$(curl …)`, `<(wget …)`).
    pub fetch: bool,
    /// Text of command substitutions inside this word (raw), used for
    /// heuristics such as `kill $(pgrep holdfast)`.
    pub subst: Option<String>,
    /// A leading `NAME=value` assignment (not part of the command's argv).
    pub assign: bool,
    /// Placeholder for paths produced at run time (`{}` of `find -exec`, `xargs`).
    pub placeholder: bool,
}

impl Word<'_> {
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Redirection operators we care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RedirOp {
    /// `<`
    In,
    /// `>`, `>|`, `&>`
    Out,
    /// `>>`, `&>>`
    Append,
    /// `<>`
    ReadWrite,
    /// `>&N`, `<&N`
    Dup,
    /// `<<<`
    HereString,
    /// `<<`, `<<-` (target text is the body)
    HereDoc,
}

#[derive(Debug, Clone)]
pub(crate) struct Redirect<'a> {
    pub fd: Option<u32>,
    pub op: RedirOp,
    pub target: Word<'a>,
}

/// A simple command. `words` may start with `NAME=value` assignments.
/// A compound command inside a pipeline is represented by an empty
/// `words` with `compound = true` (its body is evaluated separately).
#[derive(Debug, Clone, Default)]
pub(crate) struct Cmd<'a> {
    pub words: Vec<Word<'a>>,
    pub redirs: Vec<Redirect<'a>>,
    pub compound: bool,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Pipeline<'a> {
    pub cmds: Vec<Cmd<'a>>,
}
