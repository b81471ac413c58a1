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

impl Cmd<'_> {
    /// The byte range its words and redirection targets cover (empty at 0 when it has none).
    pub fn words_span(&self) -> Range<usize> {
        let mut start = usize::MAX;
        let mut end = 0;
        for w in self.words.iter().chain(self.redirs.iter().map(|r| &r.target)) {
            start = start.min(w.span.start);
            end = end.max(w.span.end);
        }
        start.min(end)..end
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Pipeline<'a> {
    pub cmds: InlineFirst<Cmd<'a>>,
}

/// A list whose first element is held inline. Most lines have one pipeline
/// and most pipelines one command: this spares each an allocation (and its
/// free), a sizeable share of classifying a short line.
#[derive(Debug, Clone)]
pub(crate) struct InlineFirst<T> {
    first: Option<T>,
    /// Empty while `first` is `None`.
    more: Vec<T>,
}

impl<T> Default for InlineFirst<T> {
    fn default() -> Self {
        InlineFirst { first: None, more: Vec::new() }
    }
}

impl<T> InlineFirst<T> {
    pub fn push(&mut self, x: T) {
        if self.first.is_none() {
            self.first = Some(x);
        } else {
            self.more.push(x);
        }
    }

    pub fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.len()
    }

    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    pub fn first(&self) -> Option<&T> {
        self.first.as_ref()
    }

    /// The elements in the order they were pushed.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.first.iter().chain(&self.more)
    }
}

impl<T> std::ops::Index<usize> for InlineFirst<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        match i {
            0 => self.first.as_ref().expect("index 0 of an empty list"),
            _ => &self.more[i - 1],
        }
    }
}
