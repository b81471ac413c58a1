//! Full parse: `brush-parser` AST walk into pipelines of simple commands.
//!
//! Command substitutions (`$(…)`, backquotes) are left as word text by
//! brush: we parse words with `brush_parser::word::parse` and classify the
//! substituted code recursively. Process substitutions, here-document
//! expansions and compound command bodies are walked as executed code.

use std::borrow::Cow;
use std::ops::Range;

use brush_parser::ast;
use brush_parser::word::{self, Parameter, ParameterExpr, TildeExpr, WordPiece, WordPieceWithSource};
use brush_parser::{Parser, ParserOptions};

use super::cx::{Cx, Origin};
use super::ir::{Cmd, Pipeline, RedirOp, Redirect, Word};
use super::rules::{self, meta, system};
use super::text;

/// Maps brush character indices to byte offsets of the parsed text.
struct CharMap {
    /// `None` for ASCII text (identity).
    offsets: Option<Vec<usize>>,
    len: usize,
}

impl CharMap {
    fn new(text: &str) -> Self {
        let offsets = if text.is_ascii() {
            None
        } else {
            let mut v: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            v.push(text.len());
            Some(v)
        };
        CharMap { offsets, len: text.len() }
    }
    fn byte(&self, ch: usize) -> usize {
        match &self.offsets {
            None => ch.min(self.len),
            Some(v) => v.get(ch).copied().unwrap_or(self.len),
        }
    }
}

fn options() -> ParserOptions {
    ParserOptions::default()
}

/// Parse and walk `text`; `Err` when brush cannot parse it.
pub(crate) fn run(cx: &mut Cx<'_>, text: &str, origin: &Origin, depth: u32) -> Result<(), ()> {
    let parsed = std::panic::catch_unwind(|| {
        let mut p = Parser::new(std::io::Cursor::new(text.as_bytes()), &options());
        p.parse_program()
    });
    let program = match parsed {
        Ok(Ok(p)) => p,
        _ => return Err(()),
    };
    let mut w = Walker { cx, text, map: CharMap::new(text), origin: origin.clone(), depth, funcs: Vec::new() };
    for list in &program.complete_commands {
        w.compound_list(list);
    }
    Ok(())
}

struct Walker<'c, 'i, 't> {
    cx: &'c mut Cx<'i>,
    text: &'t str,
    map: CharMap,
    origin: Origin,
    depth: u32,
    /// Names of the functions whose bodies are being walked (fork-bomb detection).
    funcs: Vec<String>,
}

/// Decode the body of an ANSI-C quote (`$'…'`).
pub(crate) fn ansi_c_decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = it.next() else {
            out.push('\\');
            break;
        };
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'e' | 'E' => out.push('\x1b'),
            'f' => out.push('\x0c'),
            'v' => out.push('\x0b'),
            'x' | 'u' | 'U' => {
                let max = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut v = 0u32;
                let mut n = 0;
                while n < max {
                    match it.peek().and_then(|c| c.to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            it.next();
                            n += 1;
                        }
                        None => break,
                    }
                }
                if let Some(ch) = char::from_u32(v) {
                    out.push(ch);
                }
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match it.peek().and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            it.next();
                        }
                        None => break,
                    }
                }
                if let Some(ch) = char::from_u32(v) {
                    out.push(ch);
                }
            }
            'c' => {
                if let Some(x) = it.next() {
                    out.push(char::from_u32((x as u32) & 0x1f).unwrap_or('?'));
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Remove the backslash escapes that are special inside backquotes.
fn unescape_backquoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\'
            && let Some(&n) = it.peek()
            && matches!(n, '$' | '`' | '\\')
        {
            out.push(n);
            it.next();
            continue;
        }
        out.push(c);
    }
    out
}

/// Does this substituted code download or decode something?
pub(crate) fn code_fetches(code: &str) -> bool {
    // Occurrences as `match_indices` gives them (non-overlapping, in order),
    // found with `text`: a `match_indices` searcher per word cost more than
    // the whole test on these short snippets.
    let has_word = |w: &str| {
        if !text::has(code, w) {
            return false;
        }
        let mut from = 0;
        while let Some(k) = text::find(&code[from..], w) {
            let i = from + k;
            let before = code[..i].chars().next_back();
            let after = code[i + w.len()..].chars().next();
            if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return true;
            }
            from = i + w.len();
        }
        false
    };
    let has = |s: &str| text::has(code, s);
    has_word("curl")
        || has_word("wget")
        || has_word("fetch")
        || has_word("http")
        || has_word("xh")
        || has_word("aria2c")
        || (has_word("base64") && (has(" -d") || has("--decode") || has(" -D")))
        || (has_word("xxd") && has("-r"))
        || (has_word("openssl") && has(" -d"))
        || has_word("nc")
        || has_word("ncat")
}

fn param_name(p: &Parameter) -> String {
    match p {
        Parameter::Positional(n) => format!("${n}"),
        Parameter::Special(s) => format!("${s}"),
        Parameter::Named(n) => format!("${n}"),
        Parameter::NamedWithIndex { name, .. } => format!("${name}"),
        Parameter::NamedWithAllIndices { name, .. } => format!("${name}"),
    }
}

fn param_expr_name(e: &ParameterExpr) -> String {
    match e {
        ParameterExpr::Parameter { parameter, .. }
        | ParameterExpr::UseDefaultValues { parameter, .. }
        | ParameterExpr::AssignDefaultValues { parameter, .. } => param_name(parameter),
        _ => "$?".to_string(),
    }
}

#[derive(Default)]
struct Render {
    text: String,
    quoted: bool,
    dynamic: bool,
    glob: bool,
    fetch: bool,
    subst: Option<String>,
}

impl Walker<'_, '_, '_> {
    fn span_of(&self, loc: &Option<brush_parser::SourceSpan>) -> Range<usize> {
        match loc {
            Some(l) => {
                let s = self.map.byte(l.start.index);
                let e = self.map.byte(l.end.index).max(s);
                self.origin.map(s, e)
            }
            None => self.origin.map(0, self.text.len()),
        }
    }

    fn local_start(&self, loc: &Option<brush_parser::SourceSpan>) -> Option<usize> {
        loc.as_ref().map(|l| self.map.byte(l.start.index))
    }

    /// Classify substituted code found inside a word.
    fn run_subst(&mut self, code: &str, origin: Origin) {
        let depth = self.depth + 1;
        self.cx.run_code(code, &origin, depth);
    }

    fn render_pieces(
        &mut self,
        pieces: &[WordPieceWithSource],
        r: &mut Render,
        in_quotes: bool,
        word_base: Option<usize>,
        pin: &Range<usize>,
    ) {
        for p in pieces {
            match &p.piece {
                WordPiece::Text(t) => {
                    if !in_quotes && t.contains(['*', '?', '[']) {
                        r.glob = true;
                    }
                    r.text.push_str(t);
                }
                WordPiece::SingleQuotedText(t) => {
                    r.quoted = true;
                    r.text.push_str(t);
                }
                WordPiece::AnsiCQuotedText(t) => {
                    r.quoted = true;
                    r.text.push_str(&ansi_c_decode(t));
                }
                WordPiece::DoubleQuotedSequence(inner) | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    r.quoted = true;
                    self.render_pieces(inner, r, true, word_base, pin);
                }
                WordPiece::TildeExpansion(t) => match t {
                    TildeExpr::Home | TildeExpr::UserHome(_) => r.text.push('~'),
                    _ => {
                        r.dynamic = true;
                        r.text.push_str("$PWD");
                    }
                },
                WordPiece::ParameterExpansion(e) => {
                    r.dynamic = true;
                    r.text.push_str(&param_expr_name(e));
                }
                WordPiece::CommandSubstitution(code) | WordPiece::BackquotedCommandSubstitution(code) => {
                    let back = matches!(p.piece, WordPiece::BackquotedCommandSubstitution(_));
                    self.render_subst(code, back, p.start_index, r, word_base, pin);
                }
                WordPiece::EscapeSequence(s) => {
                    r.quoted = true;
                    let s = s.strip_prefix('\\').unwrap_or(s);
                    if s != "\n" {
                        r.text.push_str(s);
                    }
                }
                WordPiece::ArithmeticExpression(e) => {
                    r.dynamic = true;
                    if e.value.contains("$(") || e.value.contains('`') {
                        let span = pin.clone();
                        self.cx.hit(&meta::DYNAMIC_ARITH, span);
                    }
                    r.text.push('0');
                }
            }
        }
    }

    /// `$(CODE)` or `` `CODE` `` inside a word (at `start` in it): classified where it sits.
    fn render_subst(
        &mut self,
        code: &str,
        back: bool,
        start: usize,
        r: &mut Render,
        word_base: Option<usize>,
        pin: &Range<usize>,
    ) {
        r.dynamic = true;
        let code: Cow<'_, str> =
            if back && code.contains('\\') { Cow::Owned(unescape_backquoted(code)) } else { Cow::Borrowed(code) };
        if code_fetches(&code) {
            r.fetch = true;
        }
        let skip = if back { 1 } else { 2 };
        let origin = match word_base {
            Some(b) if !matches!(code, Cow::Owned(_)) => {
                let start = b + start + skip;
                let o = self.origin.map(start, start + code.len());
                Origin { base: o.start, pin: self.origin.pin.clone() }
            }
            _ => Origin { base: pin.start, pin: Some(pin.clone()) },
        };
        r.subst.get_or_insert_with(String::new).push_str(&code);
        self.run_subst(&code, origin);
        r.text.push_str("$(");
        r.text.push_str(&code);
        r.text.push(')');
    }

    /// Convert a brush word into an IR word, classifying any substitution in it.
    fn word(&mut self, w: &ast::Word) -> Word<'static> {
        let span = self.span_of(&w.loc);
        let v = &w.value;
        let special = v.bytes().any(|b| matches!(b, b'$' | b'`' | b'\\' | b'\'' | b'"' | b'~'));
        if !special {
            return Word { text: Cow::Owned(v.clone()), glob: v.contains(['*', '?', '[']), span, ..Default::default() };
        }
        let pieces = match word::parse(v, &options()) {
            Ok(p) => p,
            Err(_) => {
                self.cx.hit(&meta::PARSE_ERROR, span.clone());
                return Word { text: Cow::Owned(v.clone()), span, dynamic: true, ..Default::default() };
            }
        };
        // Offsets inside the word are exact only when the word's raw text is
        // the verbatim source slice.
        let base = self.local_start(&w.loc).filter(|&s| self.text.get(s..s + v.len()) == Some(v.as_str()));
        let mut r = Render::default();
        self.render_pieces(&pieces, &mut r, false, base, &span);
        Word {
            text: Cow::Owned(r.text),
            span,
            quoted: r.quoted,
            dynamic: r.dynamic,
            glob: r.glob,
            fetch: r.fetch,
            subst: r.subst,
            ..Default::default()
        }
    }

    fn proc_subst(&mut self, sub: &ast::SubshellCommand, read: bool) -> Word<'static> {
        let span = self.span_of(&Some(sub.loc.clone()));
        let src = self.cx.input.get(span.clone()).unwrap_or("").to_string();
        let saved = self.depth;
        self.depth += 1;
        if self.depth > super::limits::MAX_DEPTH {
            self.cx.hit(&meta::PARSE_COMPLEX, span.clone());
        } else {
            self.compound_list(&sub.list);
        }
        self.depth = saved;
        Word {
            text: Cow::Owned(if read { "<(…)" } else { ">(…)" }.to_string()),
            span,
            dynamic: true,
            fetch: code_fetches(&src),
            subst: Some(src),
            ..Default::default()
        }
    }

    fn redirect(&mut self, r: &ast::IoRedirect, out: &mut Vec<Redirect<'static>>) {
        let fd = |f: &Option<i32>| f.and_then(|x| u32::try_from(x).ok());
        match r {
            ast::IoRedirect::File(f, kind, target) => {
                let op = match kind {
                    ast::IoFileRedirectKind::Read => RedirOp::In,
                    ast::IoFileRedirectKind::Write | ast::IoFileRedirectKind::Clobber => RedirOp::Out,
                    ast::IoFileRedirectKind::Append => RedirOp::Append,
                    ast::IoFileRedirectKind::ReadAndWrite => RedirOp::ReadWrite,
                    ast::IoFileRedirectKind::DuplicateInput | ast::IoFileRedirectKind::DuplicateOutput => RedirOp::Dup,
                };
                let target = match target {
                    ast::IoFileRedirectTarget::Filename(w) => self.word(w),
                    ast::IoFileRedirectTarget::Duplicate(w) => {
                        let mut w = self.word(w);
                        // `>&file` writes a file like `>`.
                        if op == RedirOp::Dup && !w.text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
                            out.push(Redirect { fd: fd(f), op: RedirOp::Out, target: w });
                            return;
                        }
                        w.dynamic = true;
                        w
                    }
                    ast::IoFileRedirectTarget::Fd(n) => {
                        Word { text: Cow::Owned(n.to_string()), span: self.origin.map(0, 0), ..Default::default() }
                    }
                    ast::IoFileRedirectTarget::ProcessSubstitution(k, sub) => {
                        self.proc_subst(sub, matches!(k, ast::ProcessSubstitutionKind::Read))
                    }
                };
                out.push(Redirect { fd: fd(f), op, target });
            }
            ast::IoRedirect::HereDocument(f, doc) => {
                let body = &doc.doc.value;
                let start = self.local_start(&doc.doc.loc).unwrap_or(0);
                let exact = self.text.get(start..start + body.len()) == Some(body.as_str());
                let span = if exact { self.origin.map(start, start + body.len()) } else { self.span_of(&doc.doc.loc) };
                let mut target = Word {
                    text: Cow::Owned(body.clone()),
                    span: span.clone(),
                    quoted: !doc.requires_expansion,
                    ..Default::default()
                };
                if doc.requires_expansion
                    && (body.contains("$(") || body.contains('`'))
                    && let Ok(pieces) = word::parse_heredoc(body, &options())
                {
                    let mut r = Render::default();
                    let base = if exact { Some(start) } else { None };
                    self.render_pieces(&pieces, &mut r, true, base, &span);
                    target.fetch = r.fetch;
                    target.dynamic = true;
                }
                out.push(Redirect { fd: fd(f), op: RedirOp::HereDoc, target });
            }
            ast::IoRedirect::HereString(f, w) => {
                let target = self.word(w);
                out.push(Redirect { fd: fd(f), op: RedirOp::HereString, target });
            }
            ast::IoRedirect::OutputAndError(w, append) => {
                let target = self.word(w);
                let op = if *append { RedirOp::Append } else { RedirOp::Out };
                out.push(Redirect { fd: None, op, target });
            }
        }
    }

    fn redirect_list(&mut self, list: &Option<ast::RedirectList>) -> Vec<Redirect<'static>> {
        let mut out = Vec::new();
        if let Some(l) = list {
            for r in &l.0 {
                self.redirect(r, &mut out);
            }
        }
        out
    }

    fn compound_list(&mut self, list: &ast::CompoundList) {
        for item in &list.0 {
            if self.cx.done() {
                return;
            }
            self.and_or(&item.0);
        }
    }

    fn and_or(&mut self, l: &ast::AndOrList) {
        self.pipeline(&l.first);
        for a in &l.additional {
            match a {
                ast::AndOr::And(p) | ast::AndOr::Or(p) => self.pipeline(p),
            }
        }
    }

    fn pipeline(&mut self, p: &ast::Pipeline) {
        let mut out = Pipeline::default();
        for c in &p.seq {
            let cmd = self.command(c);
            out.cmds.push(cmd);
        }
        if !self.cx.done() {
            rules::eval_pipeline(self.cx, &out, self.depth);
        }
    }

    fn simple(&mut self, s: &ast::SimpleCommand) -> Cmd<'static> {
        let mut cmd = Cmd::default();
        let mut items: Vec<&ast::CommandPrefixOrSuffixItem> = Vec::new();
        if let Some(p) = &s.prefix {
            items.extend(p.0.iter());
        }
        let prefix_len = items.len();
        for (k, it) in items.iter().enumerate() {
            debug_assert!(k < prefix_len);
            self.item(it, &mut cmd, true);
        }
        if let Some(w) = &s.word_or_name {
            let w = self.word(w);
            cmd.words.push(w);
        }
        if let Some(sfx) = &s.suffix {
            for it in &sfx.0 {
                self.item(it, &mut cmd, false);
            }
        }
        // Fork bomb: a function calling itself.
        if let Some(first) = cmd.words.iter().find(|w| !w.assign)
            && self.funcs.iter().any(|f| f == first.as_str())
        {
            let span = first.span.clone();
            self.cx.hit(&system::FORK_BOMB, span);
        }
        cmd.span = cmd.words_span();
        cmd
    }

    fn item(&mut self, it: &ast::CommandPrefixOrSuffixItem, cmd: &mut Cmd<'static>, prefix: bool) {
        match it {
            ast::CommandPrefixOrSuffixItem::IoRedirect(r) => self.redirect(r, &mut cmd.redirs),
            ast::CommandPrefixOrSuffixItem::Word(w) => {
                let w = self.word(w);
                cmd.words.push(w);
            }
            ast::CommandPrefixOrSuffixItem::AssignmentWord(_, w) => {
                let mut w = self.word(w);
                w.assign = prefix;
                cmd.words.push(w);
            }
            ast::CommandPrefixOrSuffixItem::ProcessSubstitution(k, sub) => {
                let w = self.proc_subst(sub, matches!(k, ast::ProcessSubstitutionKind::Read));
                cmd.words.push(w);
            }
        }
    }

    fn command(&mut self, c: &ast::Command) -> Cmd<'static> {
        match c {
            ast::Command::Simple(s) => self.simple(s),
            ast::Command::Compound(cc, redirs) => {
                self.compound(cc);
                let redirs = self.redirect_list(redirs);
                let loc = match cc {
                    ast::CompoundCommand::BraceGroup(b) => Some(b.loc.clone()),
                    ast::CompoundCommand::Subshell(s) => Some(s.loc.clone()),
                    ast::CompoundCommand::ForClause(f) => Some(f.loc.clone()),
                    ast::CompoundCommand::IfClause(i) => Some(i.loc.clone()),
                    ast::CompoundCommand::CaseClause(c) => Some(c.loc.clone()),
                    ast::CompoundCommand::WhileClause(w) | ast::CompoundCommand::UntilClause(w) => Some(w.2.clone()),
                    _ => None,
                };
                let span = match loc {
                    Some(l) => self.span_of(&Some(l)),
                    None => redirs.first().map(|r| r.target.span.clone()).unwrap_or_else(|| self.origin.map(0, 0)),
                };
                Cmd { words: Vec::new(), redirs, compound: true, span }
            }
            ast::Command::Function(f) => {
                self.funcs.push(f.fname.value.clone());
                self.compound(&f.body.0);
                let _ = self.redirect_list(&f.body.1);
                self.funcs.pop();
                Cmd { compound: true, ..Default::default() }
            }
            ast::Command::ExtendedTest(t, redirs) => {
                self.ext_test(&t.expr);
                let redirs = self.redirect_list(redirs);
                Cmd { words: Vec::new(), redirs, compound: true, span: self.origin.map(0, 0) }
            }
        }
    }

    fn ext_test(&mut self, e: &ast::ExtendedTestExpr) {
        match e {
            ast::ExtendedTestExpr::And(a, b) | ast::ExtendedTestExpr::Or(a, b) => {
                self.ext_test(a);
                self.ext_test(b);
            }
            ast::ExtendedTestExpr::Not(a) | ast::ExtendedTestExpr::Parenthesized(a) => self.ext_test(a),
            ast::ExtendedTestExpr::UnaryTest(_, w) => {
                let _ = self.word(w);
            }
            ast::ExtendedTestExpr::BinaryTest(_, a, b) => {
                let _ = self.word(a);
                let _ = self.word(b);
            }
        }
    }

    fn compound(&mut self, cc: &ast::CompoundCommand) {
        let saved = self.depth;
        self.depth += 1;
        if self.depth > super::limits::MAX_DEPTH + 4 {
            self.cx.hit(&meta::PARSE_COMPLEX, self.origin.map(0, self.text.len()));
            self.depth = saved;
            return;
        }
        match cc {
            ast::CompoundCommand::Arithmetic(a) => {
                let span = self.span_of(&Some(a.loc.clone()));
                if a.expr.value.contains("$(") || a.expr.value.contains('`') {
                    self.cx.hit(&meta::DYNAMIC_ARITH, span.clone());
                }
                // brush-parser also reads `( (cmd) )` and `((cmd) )` as arithmetic, where bash runs
                // nested subshells (`((` is arithmetic only when an adjacent `))` closes it): unless
                // the source is `((…))`, its text is classified as commands.
                let src = self.cx.input.get(span.clone()).unwrap_or_default();
                if !(src.starts_with("((") && src.ends_with("))")) {
                    self.run_subst(&a.expr.value, Origin { base: span.start, pin: Some(span) });
                }
            }
            ast::CompoundCommand::ArithmeticForClause(f) => self.compound_list(&f.body.list),
            ast::CompoundCommand::BraceGroup(b) => self.compound_list(&b.list),
            ast::CompoundCommand::Subshell(s) => self.compound_list(&s.list),
            ast::CompoundCommand::ForClause(f) => {
                if let Some(vals) = &f.values {
                    for v in vals {
                        let _ = self.word(v);
                    }
                }
                self.compound_list(&f.body.list);
            }
            ast::CompoundCommand::CaseClause(c) => {
                let _ = self.word(&c.value);
                for item in &c.cases {
                    if let Some(l) = &item.cmd {
                        self.compound_list(l);
                    }
                }
            }
            ast::CompoundCommand::IfClause(i) => {
                self.compound_list(&i.condition);
                self.compound_list(&i.then);
                if let Some(elses) = &i.elses {
                    for e in elses {
                        if let Some(c) = &e.condition {
                            self.compound_list(c);
                        }
                        self.compound_list(&e.body);
                    }
                }
            }
            ast::CompoundCommand::WhileClause(w) | ast::CompoundCommand::UntilClause(w) => {
                self.compound_list(&w.0);
                self.compound_list(&w.1.list);
            }
            ast::CompoundCommand::Coprocess(c) => {
                let cmd = self.command(&c.body);
                let mut p = Pipeline::default();
                p.cmds.push(cmd);
                rules::eval_pipeline(self.cx, &p, self.depth);
            }
        }
        self.depth = saved;
    }
}
