//! The classification context: keeps the worst hit, maps offsets of nested
//! code back to the top-level input, and drives lexing/parsing.

use std::ops::Range;

use super::ir::Word;
use super::rules::{self, meta, system};
use super::{Class, Classification, Rule, SAFE_DEFAULT, lex, limits, parse, salvage};

/// Where a piece of code being classified sits in the top-level input.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// Byte offset of the code's first byte in the top-level input.
    pub base: usize,
    /// When set, the code is not a verbatim slice of the input (it was
    /// unquoted or unescaped), so every span is pinned to this range.
    pub pin: Option<Range<usize>>,
}

impl Origin {
    pub const TOP: Origin = Origin { base: 0, pin: None };

    #[inline]
    pub fn map(&self, start: usize, end: usize) -> Range<usize> {
        match &self.pin {
            Some(p) => p.clone(),
            None => self.base + start..self.base + end,
        }
    }
}

pub(crate) struct Cx<'i> {
    pub input: &'i str,
    best: Option<(&'static Rule, Range<usize>)>,
    /// Simple commands evaluated so far (work bound).
    pub commands: u32,
    /// Literal variable assignments seen so far in the line (`R=rm; $R -rf /`).
    pub vars: Vec<(String, String)>,
    /// Root of run-time paths bound to `$1…`/`$@` (`find / -exec sh -c '…' _ {} ;`).
    pub positional: Option<String>,
    /// Disable the fast lexer (differential testing).
    pub no_fast: bool,
    /// False once a `parse.*` rule was hit (see [`Classification::parsed`]).
    parsed: bool,
    /// Classifying the parts of an unparsable text: a part that fails is not split again.
    salvaging: bool,
}

impl<'i> Cx<'i> {
    pub fn new(input: &'i str) -> Self {
        Cx {
            input,
            best: None,
            commands: 0,
            vars: Vec::new(),
            positional: None,
            no_fast: false,
            parsed: true,
            salvaging: false,
        }
    }

    /// Remember `NAME=value` assignments with literal values.
    pub fn record_assignments(&mut self, words: &[Word<'_>]) {
        for w in words {
            if !w.assign || w.dynamic || self.vars.len() >= 64 {
                continue;
            }
            if let Some((n, v)) = w.as_str().split_once('=') {
                self.vars.retain(|(k, _)| k != n);
                self.vars.push((n.to_string(), v.to_string()));
            }
        }
    }

    /// The program a dynamic word certainly names: `$R` with `R=rm` earlier
    /// in the line, or `$(echo rm)`.
    pub fn resolve_program(&self, w: &Word<'_>) -> Option<String> {
        let t = w.as_str();
        if let Some(code) = &w.subst {
            if t == format!("$({code})") {
                let code = code.trim();
                let rest = code.strip_prefix("echo ").or_else(|| code.strip_prefix("printf "))?;
                let rest = rest.trim().trim_matches(['\'', '"']);
                if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b)) {
                    return Some(rest.to_string());
                }
            }
            return None;
        }
        let name = t.strip_prefix('$')?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return None;
        }
        self.vars.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    /// Record a rule hit; the first hit of the worst class wins.
    #[inline]
    pub fn hit(&mut self, rule: &'static Rule, span: Range<usize>) {
        // `parse.error` and `parse.complex`: some of the line was not understood.
        if rule.id.starts_with("parse.") {
            self.parsed = false;
        }
        match &self.best {
            Some((r, _)) if r.class >= rule.class => {}
            _ => self.best = Some((rule, span)),
        }
    }

    /// The worst rule hit so far (for `holdfast explain`).
    pub fn best_rule(&self) -> Option<&'static Rule> {
        self.best.as_ref().map(|(r, _)| *r)
    }

    /// True once a catastrophic hit is known: further work cannot change the class.
    #[inline]
    pub fn done(&self) -> bool {
        matches!(&self.best, Some((r, _)) if r.class == Class::Catastrophic)
    }

    /// The origin to use when `text` (the literal value of `w`) is itself classified as code.
    pub fn origin_of(&self, w: &Word<'_>, text: &str) -> Origin {
        let span = w.span.clone();
        if let Some(src) = self.input.get(span.clone()) {
            if src == text {
                return Origin { base: span.start, pin: None };
            }
            let b = src.as_bytes();
            if b.len() >= 2
                && (b[0] == b'\'' || b[0] == b'"')
                && b[b.len() - 1] == b[0]
                && &src[1..src.len() - 1] == text
            {
                return Origin { base: span.start + 1, pin: None };
            }
        }
        Origin { base: span.start, pin: Some(span) }
    }

    /// Classify `text` as shell code found at `origin`, `depth` levels deep.
    pub fn run_code(&mut self, text: &str, origin: &Origin, depth: u32) {
        if self.done() {
            return;
        }
        let whole = origin.map(0, text.len());
        if depth > limits::MAX_DEPTH || (depth > 0 && limits::over_caps(text)) {
            self.hit(&meta::PARSE_COMPLEX, whole);
            return;
        }
        // A line the fast lexer finds incomplete goes to the full parse: its verdict on a broken
        // line (and on the parts salvaged from it) must never be milder than brush-parser's.
        let lexed = (!self.no_fast).then(|| lex::lex(text, origin, depth)).flatten().filter(|l| !l.incomplete);
        if let Some(lexed) = lexed {
            for (r, level) in &lexed.subs {
                let o = Origin { base: origin.base + r.start, pin: origin.pin.clone() };
                self.run_code(&text[r.clone()], &o, depth + level + 1);
                if self.done() {
                    return;
                }
            }
            for span in lexed.bombs {
                self.hit(&system::FORK_BOMB, span);
            }
            for (p, level) in lexed.pipes.iter() {
                rules::eval_pipeline(self, p, depth + level);
                if self.done() {
                    return;
                }
            }
            return;
        }
        if limits::keyword_nesting_over_cap(text) {
            self.unparsable(text, origin, depth, &meta::PARSE_COMPLEX);
        } else if parse::run(self, text, origin, depth).is_err() {
            self.unparsable(text, origin, depth, &meta::PARSE_ERROR);
        }
    }

    /// `text` is not valid shell or too deep to parse (`why`): ambiguous at least, and each part
    /// between its command separators is classified on its own (bash runs the statements before
    /// a syntax error on a later line, so a junk suffix must not hide them). Parts are not split
    /// again.
    fn unparsable(&mut self, text: &str, origin: &Origin, depth: u32, why: &'static Rule) {
        self.hit(why, origin.map(0, text.len()));
        if self.salvaging {
            return;
        }
        self.salvaging = true;
        for r in salvage::parts(text) {
            let o = Origin { base: origin.base + r.start, pin: origin.pin.clone() };
            self.run_code(&text[r], &o, depth);
            if self.done() {
                break;
            }
        }
        self.salvaging = false;
    }

    fn finish(self) -> Classification {
        match self.best {
            Some((r, span)) => {
                let len = self.input.len();
                let mut span = span.start.min(len)..span.end.min(len);
                if span.start > span.end
                    || !self.input.is_char_boundary(span.start)
                    || !self.input.is_char_boundary(span.end)
                {
                    span = 0..len;
                }
                Classification { class: r.class, rule: r.id, reason: r.reason, span: Some(span), parsed: self.parsed }
            }
            None => Classification {
                class: SAFE_DEFAULT.class,
                rule: SAFE_DEFAULT.id,
                reason: SAFE_DEFAULT.reason,
                span: None,
                parsed: self.parsed,
            },
        }
    }
}

pub(crate) fn classify_line(input: &str, no_fast: bool) -> Classification {
    let mut cx = Cx::new(input);
    cx.no_fast = no_fast;
    if limits::over_caps(input) {
        cx.hit(&meta::PARSE_COMPLEX, 0..input.len());
        return cx.finish();
    }
    guarded(&mut cx, |cx| cx.run_code(input, &Origin::TOP, 0));
    cx.finish()
}

/// The one guard around all of the work (lexer, parser, walk, rules): whatever panics in `work`
/// ends in `parse.error` on top of what was found before it, so a bug never crashes the daemon or
/// the hook and never lowers a class.
fn guarded(cx: &mut Cx<'_>, work: impl FnOnce(&mut Cx<'_>)) {
    // `cx` holds plain data (the best hit so far and bounded scratch), valid after any unwind.
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(cx)));
    if ran.is_err() {
        cx.salvaging = false;
        cx.hit(&meta::PARSE_ERROR, 0..cx.input.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_a_parse_error_that_keeps_what_was_found() {
        let input = "rm -rf / ; x";
        let mut cx = Cx::new(input);
        guarded(&mut cx, |_| panic!("a bug"));
        let c = cx.finish();
        assert_eq!((c.class, c.rule, c.parsed, c.span), (Class::Ambiguous, "parse.error", false, Some(0..12)));

        let mut cx = Cx::new(input);
        guarded(&mut cx, |cx| {
            cx.hit(&system::FORK_BOMB, 0..8);
            panic!("a bug after a hit");
        });
        let c = cx.finish();
        assert_eq!((c.class, c.rule, c.parsed), (Class::Catastrophic, system::FORK_BOMB.id, false));
    }
}
