//! The prefilter / fast path: a conservative lexer for plain command lines.
//!
//! It accepts only a subset of shell syntax whose word splitting is
//! unambiguous: plain words, single quotes, double quotes without `$`,
//! backquote, backslash or `!`, the operators `;`, `&&`, `||`, `|`, `&`,
//! newlines, simple redirections (`>`, `>>`, `<`, `2>&1`, `&>`) and `#`
//! comments. Anything else — `$`, backquotes, backslashes, parentheses,
//! braces, here-documents, non-ASCII outside quotes, reserved words in
//! command position — returns `None` and the line goes to the full
//! `brush-parser` walk. So the fast path never changes a verdict: it only
//! produces the same words the full parser would, faster.

use std::borrow::Cow;

use super::cx::Origin;
use super::ir::{Cmd, Pipeline, RedirOp, Redirect, Word};

const RESERVED: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for",
    "in", "function", "select", "time", "coproc", "[[", "]]", "{", "}", "!",
];

#[inline]
fn plain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_'
                | b'.'
                | b'/'
                | b'='
                | b':'
                | b','
                | b'@'
                | b'+'
                | b'%'
                | b'^'
                | b'~'
                | b'*'
                | b'?'
                | b'['
                | b']'
                | b'#'
        )
}

struct Lexer<'t, 'o> {
    s: &'t str,
    b: &'t [u8],
    i: usize,
    origin: &'o Origin,
    pipes: Vec<Pipeline<'t>>,
    pipe: Pipeline<'t>,
    cmd: Cmd<'t>,
    redir: Option<(Option<u32>, RedirOp)>,
}

pub(crate) fn lex<'t>(s: &'t str, origin: &Origin) -> Option<Vec<Pipeline<'t>>> {
    let mut lx = Lexer {
        s,
        b: s.as_bytes(),
        i: 0,
        origin,
        pipes: Vec::new(),
        pipe: Pipeline::default(),
        cmd: Cmd::default(),
        redir: None,
    };
    lx.run()?;
    Some(lx.pipes)
}

impl<'t> Lexer<'t, '_> {
    fn run(&mut self) -> Option<()> {
        let len = self.b.len();
        loop {
            while self.i < len && (self.b[self.i] == b' ' || self.b[self.i] == b'\t') {
                self.i += 1;
            }
            if self.i >= len {
                break;
            }
            let c = self.b[self.i];
            let next = self.b.get(self.i + 1).copied();
            match c {
                b'\n' | b';' => {
                    if c == b';' && next == Some(b';') {
                        return None;
                    }
                    // An empty command before `;` is a syntax error: let brush say so.
                    if c == b';' && self.cmd_empty() {
                        return None;
                    }
                    self.end_pipeline(c == b'\n')?;
                    self.i += 1;
                }
                b'&' => match next {
                    Some(b'&') => {
                        self.end_pipeline(false)?;
                        self.i += 2;
                        self.require_more()?;
                    }
                    Some(b'>') => {
                        if self.b.get(self.i + 2) == Some(&b'>') {
                            self.start_redir(None, RedirOp::Append, 3)?;
                        } else {
                            self.start_redir(None, RedirOp::Out, 2)?;
                        }
                    }
                    _ => {
                        self.end_pipeline(false)?;
                        self.i += 1;
                    }
                },
                b'|' => match next {
                    Some(b'|') => {
                        self.end_pipeline(false)?;
                        self.i += 2;
                        self.require_more()?;
                    }
                    Some(b'&') => return None,
                    _ => {
                        self.end_cmd(false)?;
                        self.i += 1;
                        self.require_more()?;
                    }
                },
                b'>' | b'<' => self.redirect_op(None)?,
                b'#' => {
                    // Comment to end of line.
                    while self.i < len && self.b[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                _ => self.word()?,
            }
        }
        if self.redir.is_some() {
            return None;
        }
        self.end_pipeline(true)?;
        Some(())
    }

    fn cmd_empty(&self) -> bool {
        self.cmd.words.is_empty() && self.cmd.redirs.is_empty()
    }

    /// After `|`, `&&`, `||` another command must follow (possibly after newlines).
    fn require_more(&self) -> Option<()> {
        let rest = &self.b[self.i..];
        if rest.iter().all(|b| b.is_ascii_whitespace()) {
            None
        } else {
            Some(())
        }
    }

    fn redirect_op(&mut self, fd: Option<u32>) -> Option<()> {
        let c = self.b[self.i];
        let n1 = self.b.get(self.i + 1).copied();
        match (c, n1) {
            (b'>', Some(b'>')) => self.start_redir(fd, RedirOp::Append, 2),
            (b'>', Some(b'|')) => self.start_redir(fd, RedirOp::Out, 2),
            (b'>', Some(b'&')) | (b'<', Some(b'&')) => self.start_redir(fd, RedirOp::Dup, 2),
            (b'>', Some(b'(')) | (b'<', Some(b'(')) | (b'<', Some(b'<')) => None,
            (b'<', Some(b'>')) => self.start_redir(fd, RedirOp::ReadWrite, 2),
            (b'>', _) => self.start_redir(fd, RedirOp::Out, 1),
            (b'<', _) => self.start_redir(fd, RedirOp::In, 1),
            _ => None,
        }
    }

    fn start_redir(&mut self, fd: Option<u32>, op: RedirOp, len: usize) -> Option<()> {
        if self.redir.is_some() {
            return None;
        }
        self.redir = Some((fd, op));
        self.i += len;
        Some(())
    }

    fn end_cmd(&mut self, allow_empty: bool) -> Option<()> {
        if self.redir.is_some() {
            return None;
        }
        if self.cmd_empty() {
            if allow_empty && self.pipe.cmds.is_empty() {
                return Some(());
            }
            return None;
        }
        let mut cmd = std::mem::take(&mut self.cmd);
        let mut start = usize::MAX;
        let mut end = 0;
        for w in cmd.words.iter().chain(cmd.redirs.iter().map(|r| &r.target)) {
            start = start.min(w.span.start);
            end = end.max(w.span.end);
        }
        cmd.span = start.min(end)..end;
        self.pipe.cmds.push(cmd);
        Some(())
    }

    fn end_pipeline(&mut self, allow_empty: bool) -> Option<()> {
        self.end_cmd(allow_empty)?;
        if !self.pipe.cmds.is_empty() {
            self.pipes.push(std::mem::take(&mut self.pipe));
        }
        Some(())
    }

    fn word(&mut self) -> Option<()> {
        let b = self.b;
        let start = self.i;
        let mut i = self.i;
        let mut owned: Option<String> = None;
        let mut quoted = false;
        let mut glob = false;
        // Track the borrowed text while no mixing happened.
        let mut seg_start = start;
        let flush = |owned: &mut Option<String>, from: usize, to: usize, s: &str| {
            owned.get_or_insert_with(String::new).push_str(&s[from..to]);
        };
        while i < b.len() {
            let c = b[i];
            if plain_byte(c) {
                if matches!(c, b'*' | b'?' | b'[') {
                    glob = true;
                }
                i += 1;
                continue;
            }
            match c {
                b'\'' | b'"' => {
                    let close = b[i + 1..].iter().position(|&x| x == c)? + i + 1;
                    let inner = &b[i + 1..close];
                    if c == b'"'
                        && inner
                            .iter()
                            .any(|&x| matches!(x, b'$' | b'`' | b'\\' | b'!'))
                    {
                        return None;
                    }
                    quoted = true;
                    // Plain prefix, then the quoted content without quotes.
                    flush(&mut owned, seg_start, i, self.s);
                    flush(&mut owned, i + 1, close, self.s);
                    i = close + 1;
                    seg_start = i;
                }
                b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' => break,
                b'<' | b'>' => {
                    // `2>file`, `2>&1`: a digits-only unquoted word is a file descriptor.
                    if !quoted && i > start && b[start..i].iter().all(u8::is_ascii_digit) {
                        let fd: u32 = self.s[start..i].parse().ok()?;
                        self.i = i;
                        return self.redirect_op(Some(fd));
                    }
                    break;
                }
                _ => return None,
            }
        }
        let text: Cow<'t, str> = match owned {
            Some(mut o) => {
                o.push_str(&self.s[seg_start..i]);
                Cow::Owned(o)
            }
            None => Cow::Borrowed(&self.s[start..i]),
        };
        self.i = i;
        let w = Word {
            text,
            span: self.origin.map(start, i),
            quoted,
            glob,
            ..Default::default()
        };
        if let Some((fd, op)) = self.redir.take() {
            self.cmd.redirs.push(Redirect { fd, op, target: w });
            return Some(());
        }
        let mut w = w;
        if self.cmd.words.iter().all(|w| w.assign) {
            if valid_assignment_prefix(&self.s[start..i]) {
                w.assign = true;
            } else if !quoted && RESERVED.contains(&w.as_str()) {
                return None;
            }
        }
        self.cmd.words.push(w);
        Some(())
    }
}

/// `NAME=…` where `NAME` is a valid, unquoted shell variable name.
pub(crate) fn valid_assignment_prefix(raw: &str) -> bool {
    let Some(eq) = raw.find('=') else {
        return false;
    };
    let name = raw[..eq].strip_suffix('+').unwrap_or(&raw[..eq]);
    !name.is_empty()
        && name
            .bytes()
            .enumerate()
            .all(|(k, c)| c == b'_' || c.is_ascii_alphabetic() || (k > 0 && c.is_ascii_digit()))
}
