//! The prefilter / fast path: a conservative lexer for common command lines.
//!
//! It accepts only a subset of shell syntax whose word splitting it can do
//! exactly like a shell: plain words, single quotes, double quotes,
//! backslash escapes, simple parameter expansions (`$X`, `${X}`,
//! `${X:-default}`), command substitutions (`$(…)`, backquotes without
//! escapes) and process substitutions (`<(…)`) with simply nested content,
//! the operators `;`, `&&`, `||`, `|`, `&`, newlines, redirections (`>`,
//! `>>`, `<`, `2>&1`, `&>`, `<<<`), one here-document per line, `#`
//! comments, ANSI-C quotes (`$'…'`), and the common compound commands:
//! `if`/`elif`/`else`, `while`/`until`, `for NAME [in WORDS]`, brace groups,
//! subshells, `name() { …; }` function definitions and `[[ … ]]` tests.
//! Anything else — arithmetic, brace expansion, `case`, `!`, `function`,
//! `select`, `coproc`, `=~` — returns `None` and the line goes to the full
//! `brush-parser` walk. So the fast path never changes a verdict: it produces
//! the same words, pipelines and nesting depths the full parser's walk would,
//! faster. Text it can tell is malformed the way brush rejects it too (an
//! operator with no command before or after it, `;;` or `)` outside `case`, a
//! here-document without its delimiter line, an unclosed compound) is
//! reported as such ([`Lexed::incomplete`]) rather than handed to brush,
//! whose search for a parse is slow on such text. Substituted code is
//! returned as byte ranges for the caller to classify recursively.

use std::borrow::Cow;
use std::ops::Range;

use super::cx::Origin;
use super::ir::{Cmd, InlineFirst, Pipeline, RedirOp, Redirect, Word};
use super::limits;
use super::parse::{ansi_c_decode, code_fetches};
use super::text;

fn is_reserved(w: &str) -> bool {
    matches!(
        w,
        "if" | "then"
            | "else"
            | "elif"
            | "fi"
            | "do"
            | "done"
            | "case"
            | "esac"
            | "while"
            | "until"
            | "for"
            | "in"
            | "function"
            | "select"
            | "coproc"
            | "[["
            | "]]"
            | "{"
            | "}"
            | "!"
    )
}

/// Result of a successful fast lex. Each pipeline and substitution carries
/// its compound nesting level (added to the depth, as the full walk does).
pub(crate) struct Lexed<'t> {
    /// Pipelines in the order the full walk evaluates them (compound bodies
    /// before the pipeline that contains the compound).
    pub pipes: InlineFirst<(Pipeline<'t>, u32)>,
    /// Byte ranges (in the lexed text) of substituted code to classify.
    pub subs: Vec<(Range<usize>, u32)>,
    /// Spans (mapped to the input) of commands calling the function whose body they are in.
    pub bombs: Vec<Range<usize>>,
    /// The text is a syntax error for the shell (and for the full parser):
    /// it ends inside a compound command or `[[` or after `|`, `&&`, `||`;
    /// an operator has no command before it; `;;` appears outside `case`; a
    /// `)` closes nothing; or a here-document lacks its delimiter line.
    pub incomplete: bool,
}

/// State of an open compound command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Brace,
    Subshell,
    /// Condition list of `if`/`elif`.
    IfCond,
    /// Body after `then`.
    IfThen,
    /// Body after `else`.
    IfElse,
    /// Condition list of `while`/`until`.
    LoopCond,
    /// Body after `do`.
    LoopBody,
    /// `for` header: 0 expects the name, 1 `in`/`do`/terminator, 2 inside the
    /// value words, 3 expects `do`.
    ForHead(u8),
}

struct Frame<'t> {
    kind: Kind,
    /// Byte index of the opening token (span start of the compound).
    start: usize,
    /// The enclosing pipeline, restored when the compound closes.
    outer: Pipeline<'t>,
    /// `pipes.len()` when the current clause began (clauses may not be empty).
    list_start: usize,
    /// Name of the function whose body this brace group is.
    func: Option<&'t str>,
}

/// Class bits of a byte that may appear unquoted in a plain word (0: it
/// may not). One table lookup per byte in the lexer's hot loop.
const PLAIN: u8 = 1;
/// A glob character: `*`, `?`, `[`.
const GLOB: u8 = 2;
/// `{`, which may start a brace expansion.
const BRACE: u8 = 4;

const BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let plain = b.is_ascii_alphanumeric()
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
                    | b'{'
                    | b'}'
            );
        if plain {
            t[c] = PLAIN;
            if matches!(b, b'*' | b'?' | b'[') {
                t[c] |= GLOB;
            }
            if b == b'{' {
                t[c] |= BRACE;
            }
        }
        c += 1;
    }
    t
};

#[inline]
fn plain_byte(b: u8) -> bool {
    BYTE_CLASS[b as usize] != 0
}

/// A byte that ends an unquoted word: blanks and the operator characters.
#[inline]
fn is_word_end(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')')
}

struct Lexer<'t, 'o> {
    s: &'t str,
    b: &'t [u8],
    i: usize,
    origin: &'o Origin,
    pipes: InlineFirst<(Pipeline<'t>, u32)>,
    pipe: Pipeline<'t>,
    cmd: Cmd<'t>,
    redir: Option<(Option<u32>, RedirOp)>,
    subs: Vec<(Range<usize>, u32)>,
    bombs: Vec<Range<usize>>,
    /// A here-document body to skip when the lexer reaches this newline: (newline index, resume index).
    heredoc_skip: Option<(usize, usize)>,
    /// Open compound commands, innermost last.
    frames: Vec<Frame<'t>>,
    /// Inside `[[ … ]]`.
    test: bool,
    /// Tokens of the current `[[ … ]]`: `(is_operator, source text)`.
    test_toks: Vec<(bool, &'t str)>,
    /// Just after `&&`/`||`: a command (not a closing keyword) must follow.
    after_andor: bool,
    /// Recursion depth of the lexed text (bounds compound nesting like the full walk).
    depth: u32,
    /// Set with `None` from [`Lexer::syntax_error`]: the text is certainly
    /// malformed (rather than beyond this lexer).
    error: bool,
}

pub(crate) fn lex<'t>(s: &'t str, origin: &Origin, depth: u32) -> Option<Lexed<'t>> {
    let mut lx = Lexer {
        s,
        b: s.as_bytes(),
        i: 0,
        origin,
        pipes: InlineFirst::default(),
        pipe: Pipeline::default(),
        cmd: Cmd::default(),
        redir: None,
        subs: Vec::new(),
        bombs: Vec::new(),
        heredoc_skip: None,
        frames: Vec::new(),
        test: false,
        test_toks: Vec::new(),
        after_andor: false,
        depth,
        error: false,
    };
    let incomplete = match lx.run() {
        Some(ends_inside) => ends_inside,
        // Brush rejects it too, after a slow search: report the error now.
        None if lx.error => true,
        None => return None,
    };
    Some(Lexed { pipes: lx.pipes, subs: lx.subs, bombs: lx.bombs, incomplete })
}

/// Index of the `)` closing a `$(`/`<(` whose content starts at `i`, for
/// simply nested content only.
fn close_paren(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 1usize;
    while i < b.len() {
        match b[i] {
            b'\'' => i += b[i + 1..].iter().position(|&c| c == b'\'')? + 1,
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    match b[i] {
                        b'\\' => i += 1,
                        b'$' | b'`' => return None,
                        _ => {}
                    }
                    i += 1;
                }
                if i >= b.len() {
                    return None;
                }
            }
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            b'`' | b'#' => return None,
            b'<' if b.get(i + 1) == Some(&b'<') => return None,
            b'c' if b[i..].starts_with(b"case") => return None,
            // Non-ASCII and control bytes (NUL, ^D…) inside parentheses: the full parse reads them.
            c if !c.is_ascii() || (c.is_ascii_control() && !matches!(c, b'\t' | b'\n')) => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

impl<'t> Lexer<'t, '_> {
    /// Lex the whole text; `Some(true)` when it ends inside an open compound.
    fn run(&mut self) -> Option<bool> {
        let len = self.b.len();
        loop {
            while self.i < len {
                match self.b[self.i] {
                    b' ' | b'\t' => self.i += 1,
                    b'\\' if self.b.get(self.i + 1) == Some(&b'\n') => self.i += 2,
                    _ => break,
                }
            }
            if self.i >= len {
                break;
            }
            let c = self.b[self.i];
            let next = self.b.get(self.i + 1).copied();
            if self.test {
                self.test_token(c, next)?;
                continue;
            }
            if self.for_head(c)? {
                continue;
            }
            match c {
                b'\n' | b';' => {
                    // A `case` terminator outside `case` (see `outside_case`), or an empty
                    // command before `;`.
                    // `;;`, `;&` (and `;;&`) end `case` items only.
                    if c == b';' && matches!(next, Some(b';' | b'&')) {
                        return if self.outside_case() { self.syntax_error() } else { None };
                    }
                    if c == b';' && self.cmd_empty() {
                        return self.syntax_error();
                    }
                    self.end_pipeline(c == b'\n')?;
                    if c == b'\n'
                        && let Some((nl, resume)) = self.heredoc_skip
                        && nl == self.i
                    {
                        self.heredoc_skip = None;
                        self.i = resume;
                        continue;
                    }
                    self.i += 1;
                }
                b'&' => self.ampersand(next)?,
                b'|' => self.bar(next)?,
                b'<' | b'>' if next == Some(b'(') => self.proc_subst()?,
                b'(' => self.open_paren()?,
                b')' => self.close_subshell()?,
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
        if self.redir.is_some() || self.heredoc_skip.is_some() {
            return None;
        }
        if self.test || !self.frames.is_empty() {
            return Some(true);
        }
        self.end_pipeline(true)?;
        Some(false)
    }

    /// In a `for NAME in WORDS` head only words and the `;` or newline that ends it may come:
    /// `Some(true)` when `c` was that separator.
    fn for_head(&mut self, c: u8) -> Option<bool> {
        if let Some(Frame { kind: Kind::ForHead(st), .. }) = self.frames.last_mut() {
            match c {
                b'\n' | b';' => {
                    *st = match (*st, c) {
                        (1 | 2, _) | (3, b'\n') => 3,
                        _ => return None,
                    };
                    self.i += 1;
                    return Some(true);
                }
                b'&' | b'|' | b'<' | b'>' | b'(' | b')' | b'#' => return None,
                _ => {}
            }
        }
        Some(false)
    }

    /// `&&`, `&>`, `&>>` or a background `&`.
    fn ampersand(&mut self, next: Option<u8>) -> Option<()> {
        match next {
            Some(b'&') => self.and_or(),
            Some(b'>') if self.b.get(self.i + 2) == Some(&b'>') => self.start_redir(None, RedirOp::Append, 3),
            Some(b'>') => self.start_redir(None, RedirOp::Out, 2),
            _ => {
                self.need_command()?;
                self.end_pipeline(false)?;
                self.i += 1;
                Some(())
            }
        }
    }

    /// `||` or a pipe (`|&` is left to the full walk).
    fn bar(&mut self, next: Option<u8>) -> Option<()> {
        match next {
            Some(b'|') => self.and_or(),
            Some(b'&') => None,
            _ => {
                self.need_command()?;
                self.end_cmd(false)?;
                self.i += 1;
                self.require_more()
            }
        }
    }

    fn cmd_empty(&self) -> bool {
        !self.cmd.compound && self.cmd.words.is_empty() && self.cmd.redirs.is_empty()
    }

    /// One token inside `[[ … ]]`: test operators are skipped, words are
    /// lexed (for their substitutions) and dropped, `]]` ends the test.
    fn test_token(&mut self, c: u8, next: Option<u8>) -> Option<()> {
        let op: &'static str = match (c, next) {
            (b'&', Some(b'&')) => "&&",
            (b'|', Some(b'|')) => "||",
            (b'!', Some(b'=')) => "!=",
            (b'!', Some(b' ' | b'\t')) => "!",
            (b'(', _) => "(",
            (b')', _) => ")",
            (b'<', n) if n != Some(b'(') && n != Some(b'<') => "<",
            (b'>', n) if n != Some(b'(') && n != Some(b'>') => ">",
            (b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'#' | b'!', _) => return None,
            _ => return self.word(),
        };
        self.i += op.len();
        self.test_toks.push((true, op));
        Some(())
    }

    /// A word in the `for` header (`st` as in [`Kind::ForHead`]).
    fn for_word(&mut self, st: u8, w: &Word<'t>, bare: bool) -> Option<()> {
        let n = self.pipes.len();
        let f = self.frames.last_mut()?;
        let t = w.as_str();
        match st {
            0 if bare && valid_assignment_prefix(&format!("{t}=")) => f.kind = Kind::ForHead(1),
            1 if bare && t == "in" => f.kind = Kind::ForHead(2),
            1 | 3 if bare && t == "do" => {
                f.kind = Kind::LoopBody;
                f.list_start = n;
            }
            2 => {}
            _ => return None,
        }
        Some(())
    }

    /// A reserved word in command position.
    fn keyword(&mut self, start: usize, end: usize) -> Option<()> {
        match &self.s[start..end] {
            "{" => self.open(Kind::Brace, start, None),
            "if" => self.open(Kind::IfCond, start, None),
            "while" | "until" => self.open(Kind::LoopCond, start, None),
            "for" => self.open(Kind::ForHead(0), start, None),
            "[[" => {
                self.test = true;
                self.after_andor = false;
                Some(())
            }
            "then" => self.next_clause(Kind::IfCond, Kind::IfThen),
            "elif" => self.next_clause(Kind::IfThen, Kind::IfCond),
            "else" => self.next_clause(Kind::IfThen, Kind::IfElse),
            "do" => self.next_clause(Kind::LoopCond, Kind::LoopBody),
            "fi" => self.close(&[Kind::IfThen, Kind::IfElse], end),
            "done" => self.close(&[Kind::LoopBody], end),
            "}" => self.close(&[Kind::Brace], end),
            _ => None,
        }
    }

    /// Open a compound command at `start` (the current command must be empty).
    fn open(&mut self, kind: Kind, start: usize, func: Option<&'t str>) -> Option<()> {
        if !self.cmd_empty() || self.redir.is_some() {
            return None;
        }
        // The full walk reports deeper nesting as too complex: let it.
        if self.depth + self.frames.len() as u32 + 1 > limits::MAX_DEPTH + 4 {
            return None;
        }
        let outer = std::mem::take(&mut self.pipe);
        self.frames.push(Frame { kind, start, outer, list_start: self.pipes.len(), func });
        self.after_andor = false;
        Some(())
    }

    /// A clause may end here: the previous list is complete and not empty.
    fn clause_done(&self) -> bool {
        self.pipe.cmds.is_empty()
            && self.cmd_empty()
            && self.redir.is_none()
            && !self.after_andor
            && self.frames.last().is_some_and(|f| self.pipes.len() > f.list_start)
    }

    fn next_clause(&mut self, from: Kind, to: Kind) -> Option<()> {
        if !self.clause_done() {
            return None;
        }
        let n = self.pipes.len();
        let f = self.frames.last_mut().filter(|f| f.kind == from)?;
        f.kind = to;
        f.list_start = n;
        Some(())
    }

    /// Close the innermost compound (ending at `end`) if it is one of `kinds`;
    /// it becomes the current command of the enclosing pipeline.
    fn close(&mut self, kinds: &[Kind], end: usize) -> Option<()> {
        if !self.clause_done() || !self.frames.last().is_some_and(|f| kinds.contains(&f.kind)) {
            return None;
        }
        let f = self.frames.pop()?;
        self.pipe = f.outer;
        self.cmd = Cmd { compound: true, span: self.origin.map(f.start, end), ..Default::default() };
        Some(())
    }

    /// `(` in command position opens a subshell; after a lone name it starts
    /// a function definition `name() { …; }`.
    fn open_paren(&mut self) -> Option<()> {
        let b = self.b;
        let i = self.i;
        if b.get(i + 1) == Some(&b'(') {
            return None; // arithmetic
        }
        if self.cmd_empty() && self.redir.is_none() {
            self.i += 1;
            return self.open(Kind::Subshell, i, None);
        }
        if self.cmd.words.len() != 1 || !self.cmd.redirs.is_empty() || !self.pipe.cmds.is_empty() {
            return None;
        }
        let w = &self.cmd.words[0];
        let Cow::Borrowed(name) = w.text else { return None };
        // A name with `=` (`a=()`) is an array assignment to bash, a syntax error before `{`: the full parse decides.
        // A name ending in `@` or `+` (`?`, `*` and `!` are not plain) is an extended glob `@(…)`
        // to brush-parser: its reading decides.
        if w.assign
            || w.glob
            || w.dynamic
            || name.contains('=')
            || name.ends_with(['@', '+'])
            || b.get(i + 1) != Some(&b')')
        {
            return None;
        }
        let mut j = i + 2;
        while j < b.len() && matches!(b[j], b' ' | b'\t' | b'\n') {
            j += 1;
        }
        if b.get(j) != Some(&b'{') || !matches!(b.get(j + 1), Some(b' ' | b'\t' | b'\n')) {
            return None;
        }
        let start = name.as_ptr() as usize - self.s.as_ptr() as usize;
        self.cmd = Cmd::default();
        self.i = j + 1;
        self.open(Kind::Brace, start, Some(name))
    }

    /// `)` closes a subshell.
    fn close_subshell(&mut self) -> Option<()> {
        if self.frames.is_empty() && self.outside_case() {
            return self.syntax_error();
        }
        if !self.frames.last().is_some_and(|f| f.kind == Kind::Subshell) {
            return None;
        }
        if !self.cmd_empty() {
            self.end_pipeline(false)?;
        }
        self.i += 1;
        self.close(&[Kind::Subshell], self.i)
    }

    /// `&&` or `||` at `self.i`: ends the pipeline; another command must follow.
    fn and_or(&mut self) -> Option<()> {
        self.need_command()?;
        self.end_pipeline(false)?;
        self.i += 2;
        self.require_more()?;
        self.after_andor = true;
        Some(())
    }

    /// After `|`, `&&`, `||` another command must follow (possibly after newlines and comments:
    /// `ls && # c` is a syntax error for bash and brush).
    fn require_more(&mut self) -> Option<()> {
        // The next line may be a pending here-document's body, not the command: the full parse
        // tells them apart.
        if self.heredoc_skip.is_some() {
            return None;
        }
        let mut rest = &self.b[self.i..];
        loop {
            match rest.iter().position(|&b| !matches!(b, b' ' | b'\t' | b'\n')) {
                None => return self.syntax_error(),
                // A line continuation there (`ls &&\<newline>`) is the full parse's to join.
                Some(k) if rest[k..].starts_with(b"\\\n") => return None,
                Some(k) if rest[k] == b'#' => match rest[k..].iter().position(|&b| b == b'\n') {
                    Some(n) => rest = &rest[k + n..],
                    None => return self.syntax_error(),
                },
                Some(_) => break,
            }
        }
        // Other ASCII white space (`\r`, form feed) is a word character to the shell: leave it to brush.
        if rest.iter().all(|b| b.is_ascii_whitespace()) { None } else { Some(()) }
    }

    /// Before `|`, `&&`, `||`, `&`: a command (simple or compound) must precede.
    fn need_command(&mut self) -> Option<()> {
        if self.cmd_empty() && self.redir.is_none() {
            return self.syntax_error();
        }
        Some(())
    }

    /// No `case` anywhere in the text, so a `)` or `;;` cannot belong to one.
    fn outside_case(&self) -> bool {
        !text::has(self.s, "case")
    }

    /// The text is certainly malformed: stop, and let [`lex`] report it.
    fn syntax_error<T>(&mut self) -> Option<T> {
        self.error = true;
        None
    }

    fn redirect_op(&mut self, fd: Option<u32>) -> Option<()> {
        let c = self.b[self.i];
        let n1 = self.b.get(self.i + 1).copied();
        let n2 = self.b.get(self.i + 2).copied();
        match (c, n1) {
            (b'<', Some(b'<')) if n2 == Some(b'<') => self.start_redir(fd, RedirOp::HereString, 3),
            (b'<', Some(b'<')) => self.heredoc(fd),
            (b'>', Some(b'>')) => self.start_redir(fd, RedirOp::Append, 2),
            (b'>', Some(b'|')) => self.start_redir(fd, RedirOp::Out, 2),
            (b'>', Some(b'&')) | (b'<', Some(b'&')) => self.start_redir(fd, RedirOp::Dup, 2),
            (b'>', Some(b'(')) | (b'<', Some(b'(')) => None,
            (b'<', Some(b'>')) => self.start_redir(fd, RedirOp::ReadWrite, 2),
            (b'>', _) => self.start_redir(fd, RedirOp::Out, 1),
            (b'<', _) => self.start_redir(fd, RedirOp::In, 1),
            _ => None,
        }
    }

    /// `<<DELIM`, `<<-DELIM`, `<<'DELIM'`, `<<"DELIM"`: the body starts after
    /// the current line. Only one here-document per line, on a line without
    /// other quoting or expansions after the operator.
    fn heredoc(&mut self, fd: Option<u32>) -> Option<()> {
        if self.redir.is_some() || self.heredoc_skip.is_some() {
            return None;
        }
        let b = self.b;
        let s = self.s;
        let mut i = self.i + 2;
        let strip_tabs = b.get(i) == Some(&b'-');
        if strip_tabs {
            i += 1;
        }
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        let (delim, quoted, after) = match b.get(i)? {
            q @ (b'\'' | b'"') => {
                let end = b[i + 1..].iter().position(|c| c == q)? + i + 1;
                (&s[i + 1..end], true, end + 1)
            }
            _ => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-' || b[i] == b'.') {
                    i += 1;
                }
                (&s[start..i], false, i)
            }
        };
        if delim.is_empty() || !delim.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.')
        {
            return None;
        }
        if after < b.len() && !matches!(b[after], b' ' | b'\t' | b'\n' | b';' | b'|' | b'&' | b'>' | b'<') {
            return None;
        }
        // Rest of the line: must be simple (no quotes, escapes, expansions, other here-docs).
        let nl = after + b[after..].iter().position(|&c| c == b'\n')?;
        if b[after..nl].iter().any(|&c| matches!(c, b'\'' | b'"' | b'\\' | b'$' | b'`' | b'(' | b')' | b'#'))
            || s[after..nl].contains("<<")
        {
            return None;
        }
        let body_start = nl + 1;
        let (body_end, resume) = self.heredoc_end(body_start, delim, strip_tabs)?;
        let body = &s[body_start..body_end];
        let (dynamic, fetch) =
            if quoted { (false, false) } else { self.heredoc_substs(body_start, body_end, strip_tabs)? };
        let text: Cow<'t, str> = if strip_tabs && (body.contains("\n\t") || body.starts_with('\t')) {
            Cow::Owned(body.split_inclusive('\n').map(|l| l.trim_start_matches('\t')).collect())
        } else {
            Cow::Borrowed(body)
        };
        let exact = matches!(text, Cow::Borrowed(_));
        let span = if exact {
            self.origin.map(body_start, body_end)
        } else {
            let r = self.origin.map(body_start, body_end);
            r.start..r.end
        };
        self.cmd.redirs.push(Redirect {
            fd,
            op: RedirOp::HereDoc,
            target: Word { text, span, quoted, dynamic, fetch, ..Default::default() },
        });
        // `resume` points at the newline ending the delimiter line (or EOF).
        self.heredoc_skip = Some((nl, resume));
        self.i = after;
        Some(())
    }

    /// The here-document's body ends at `body_end`, where its delimiter line starts; `resume` is
    /// the newline ending that line (or EOF).
    fn heredoc_end(&mut self, body_start: usize, delim: &str, strip_tabs: bool) -> Option<(usize, usize)> {
        let b = self.b;
        let mut line_start = body_start;
        loop {
            if line_start > b.len() {
                return None;
            }
            let line_end = b[line_start..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| line_start + p);
            let line = &self.s[line_start..line_end];
            let line = if strip_tabs { line.trim_start_matches('\t') } else { line };
            if line == delim {
                return Some((line_start, line_end));
            }
            if line_end >= b.len() {
                // No delimiter line: brush rejects an unterminated here-document.
                return self.syntax_error();
            }
            line_start = line_end + 1;
        }
    }

    /// An unquoted body's `$(…)` are classified as the full walk does (other expansions stay
    /// text): whether it has any (`dynamic`) and whether one fetches.
    fn heredoc_substs(&mut self, body_start: usize, body_end: usize, strip_tabs: bool) -> Option<(bool, bool)> {
        let b = self.b;
        let body = &self.s[body_start..body_end];
        let (mut dynamic, mut fetch) = (false, false);
        if !body.bytes().any(|c| matches!(c, b'$' | b'`' | b'\\')) {
            return Some((dynamic, fetch));
        }
        if strip_tabs || body.bytes().any(|c| c == b'`' || c == b'\\') {
            return None;
        }
        let mut p = body_start;
        while let Some(off) = b[p..body_end].iter().position(|&c| c == b'$') {
            let d = p + off;
            match b.get(d + 1) {
                Some(b'(') if b.get(d + 2) != Some(&b'(') => {
                    let close = close_paren(b, d + 2).filter(|&c| c < body_end)?;
                    fetch |= code_fetches(&self.s[d + 2..close]);
                    dynamic = true;
                    self.subs.push((d + 2..close, self.level()));
                    p = close + 1;
                }
                Some(b'(' | b'{') => return None,
                _ => p = d + 1,
            }
        }
        Some((dynamic, fetch))
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
        self.after_andor = false;
        if !cmd.compound {
            cmd.span = cmd.words_span();
            // A function calling itself from its own body: a fork bomb.
            if self.frames.iter().any(|f| f.func.is_some())
                && let Some(first) = cmd.words.iter().find(|w| !w.assign)
                && self.frames.iter().any(|f| f.func == Some(first.as_str()))
            {
                self.bombs.push(first.span.clone());
            }
        }
        self.pipe.cmds.push(cmd);
        Some(())
    }

    fn end_pipeline(&mut self, allow_empty: bool) -> Option<()> {
        self.end_cmd(allow_empty)?;
        if !self.pipe.cmds.is_empty() {
            let level = self.frames.len() as u32;
            self.pipes.push((std::mem::take(&mut self.pipe), level));
        }
        Some(())
    }

    fn level(&self) -> u32 {
        self.frames.len() as u32
    }

    /// `<(…)` / `>(…)` as a word (or as a redirect target).
    fn proc_subst(&mut self) -> Option<()> {
        let start = self.i;
        if self.redir.is_some() && !proc_subst_target_ok(&self.b[..start]) {
            return None;
        }
        // In command position brush-parser reads it as a prefix of the command, not its name (bash
        // runs it as the program): the full walk's reading decides.
        if self.redir.is_none() && self.cmd.words.iter().all(|w| w.assign) {
            return None;
        }
        let close = close_paren(self.b, start + 2)?;
        let inner = start + 2..close;
        let code = &self.s[inner.clone()];
        // An empty `<()` is a syntax error to brush-parser: its reading decides.
        if code.bytes().all(|c| c.is_ascii_whitespace()) {
            return None;
        }
        self.subs.push((inner, self.level()));
        let end = close + 1;
        if end < self.b.len() && !matches!(self.b[end], b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b')')
        {
            return None;
        }
        self.i = end;
        let w = Word {
            text: Cow::Borrowed(if self.b[start] == b'<' { "<(…)" } else { ">(…)" }),
            span: self.origin.map(start, end),
            dynamic: true,
            fetch: code_fetches(code),
            subst: Some(code.to_string()),
            ..Default::default()
        };
        self.push_word(w, start, end)
    }

    fn push_word(&mut self, mut w: Word<'t>, start: usize, end: usize) -> Option<()> {
        if let Some((fd, mut op)) = self.redir.take() {
            // `>&file` writes a file like `>` (only digits or `-` after `>&` duplicate a descriptor),
            // as the full parse reads it.
            if op == RedirOp::Dup && !w.as_str().bytes().all(|b| b.is_ascii_digit() || b == b'-') {
                op = RedirOp::Out;
            }
            self.cmd.redirs.push(Redirect { fd, op, target: w });
            return Some(());
        }
        // Unquoted literal: the word is its own source text.
        let bare = |w: &Word<'_>| w.as_str() == &self.s[start..end];
        if self.test {
            let t = w.as_str();
            if t == "]]" && bare(&w) {
                // Only expressions the full parser certainly accepts.
                if !test_expr_ok(&self.test_toks) {
                    return None;
                }
                self.test_toks.clear();
                // As the full walk: an extended test is a compound without a span of its own.
                self.test = false;
                self.cmd = Cmd { compound: true, span: self.origin.map(0, 0), ..Default::default() };
                return Some(());
            }
            // `=~` operands have their own lexing rules; quoted operators are left to brush.
            if t == "=~"
                || (!bare(&w) && (t.starts_with('-') || is_test_binop(t) || matches!(t, "]]" | "!" | "(" | ")")))
            {
                return None;
            }
            self.test_toks.push((false, &self.s[start..end]));
            return Some(());
        }
        if let Some(Frame { kind: Kind::ForHead(st), .. }) = self.frames.last() {
            let bare = bare(&w);
            return self.for_word(*st, &w, bare);
        }
        if self.cmd.compound {
            return None;
        }
        if self.cmd.words.iter().all(|w| w.assign) {
            if valid_assignment_prefix(&self.s[start..end]) {
                w.assign = true;
            } else if is_subscript_assignment(&self.s[start..end]) {
                // `a[1]=x rm -rf /`: an array element assignment, which bash rejects and then
                // runs the command anyway; the full walk reads it as an assignment.
                return None;
            } else if (!w.quoted && is_reserved(w.as_str())) || self.b[start] == b'{' || self.b[start] == b'}' {
                if bare(&w) && self.cmd_empty() && self.redir.is_none() {
                    return self.keyword(start, end);
                }
                return None;
            }
        }
        // `time` first is bash's reserved word: it times a whole pipeline, may prefix a compound
        // command and takes no redirection of its own, a grammar of its own left to the full walk.
        if self.cmd.words.is_empty() && w.as_str() == "time" && bare(&w) {
            return None;
        }
        if self.cmd.words.is_empty() {
            // Room for a typical command at once: growing 4 → 8 costs a reallocation.
            self.cmd.words.reserve(8);
        }
        self.cmd.words.push(w);
        Some(())
    }

    /// `$…` at `i` (inside or outside double quotes). Appends the rendering to `out`.
    fn dollar(&mut self, i: usize, out: &mut String, w: &mut Word<'t>) -> Option<usize> {
        let b = self.b;
        match b.get(i + 1).copied() {
            Some(b'(') => {
                if b.get(i + 2) == Some(&b'(') {
                    return None; // arithmetic
                }
                let close = close_paren(b, i + 2)?;
                let code = &self.s[i + 2..close];
                self.subs.push((i + 2..close, self.level()));
                w.dynamic = true;
                w.fetch |= code_fetches(code);
                w.subst.get_or_insert_with(String::new).push_str(code);
                out.push_str("$(");
                out.push_str(code);
                out.push(')');
                Some(close + 1)
            }
            Some(b'{') => {
                let close = b[i + 2..].iter().position(|&c| c == b'}')? + i + 2;
                let inner = &self.s[i + 2..close];
                let name_len = inner.bytes().take_while(|c| c.is_ascii_alphanumeric() || *c == b'_').count();
                if name_len == 0 || inner.as_bytes()[0].is_ascii_digit() && name_len > 1 {
                    return None;
                }
                let rest = &inner[name_len..];
                if !rest.is_empty() {
                    let ok_op = [":-", ":=", ":+", ":?", "-", "=", "+", "?"].iter().any(|op| rest.starts_with(op));
                    // The word after the operator is brush-parser's to read unless it is plain text
                    // (`${x-<<(}` is a process substitution to it, text to bash).
                    if !ok_op || rest.bytes().any(|c| !(plain_byte(c) || c == b' ') || c == b'{') {
                        return None;
                    }
                }
                w.dynamic = true;
                out.push('$');
                out.push_str(&inner[..name_len]);
                Some(close + 1)
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                w.dynamic = true;
                out.push_str(&self.s[i..j]);
                Some(j)
            }
            // brush-parser reads `$$[`, `$${`, `$$(`, `$$'` and `$$"` as `$` then `$[`, `${`, `$(`,
            // `$'` or `$"` (bash: `$$`, then text): its reading decides, also after `$$` before
            // another expansion or an escape.
            Some(b'$') if matches!(b.get(i + 2), Some(b'[' | b'{' | b'(' | b'\'' | b'"' | b'$' | b'`' | b'\\')) => None,
            Some(c) if c.is_ascii_digit() || matches!(c, b'@' | b'*' | b'#' | b'?' | b'$' | b'!' | b'-') => {
                w.dynamic = true;
                out.push_str(&self.s[i..i + 2]);
                Some(i + 2)
            }
            // `$[…]` is (old-style) arithmetic to bash and brush: theirs to parse.
            Some(b'\'' | b'"' | b'[') => None,
            _ => {
                out.push('$');
                Some(i + 1)
            }
        }
    }

    fn backquote(&mut self, i: usize, out: &mut String, w: &mut Word<'t>) -> Option<usize> {
        let close = self.b[i + 1..].iter().position(|&c| c == b'`')? + i + 1;
        let code = &self.s[i + 1..close];
        if code.bytes().any(|c| c == b'\\' || !c.is_ascii()) {
            return None;
        }
        self.subs.push((i + 1..close, self.level()));
        w.dynamic = true;
        w.fetch |= code_fetches(code);
        w.subst.get_or_insert_with(String::new).push_str(code);
        out.push_str("$(");
        out.push_str(code);
        out.push(')');
        Some(close + 1)
    }

    fn word(&mut self) -> Option<()> {
        let b = self.b;
        let start = self.i;
        let mut i = self.i;
        // `~+`, `~-`, `~N` expand to directory-stack entries (dynamic for the full walk), and `~NAME`
        // (any characters up to a `/`: `~.g` too) to another user's home (`~` for the rules): only
        // `~` alone and `~/…` stay here.
        if b[start] == b'~' && b.get(start + 1).is_some_and(|&c| c != b'/' && !is_word_end(c)) {
            return None;
        }
        // Fast scan of a plain word: borrow it.
        let mut class = 0;
        while i < b.len() && plain_byte(b[i]) {
            class |= BYTE_CLASS[b[i] as usize];
            i += 1;
        }
        if i == b.len() || is_word_end(b[i]) {
            return self.plain_word(start, i, class);
        }
        // General case: build the text.
        let mut w = Word::default();
        let mut out = String::with_capacity(i - start + 16);
        out.push_str(&self.s[start..i]);
        let mut glob = class & GLOB != 0;
        if class & BRACE != 0 {
            check_braces(&self.s[start..i])?;
        }
        while i < b.len() {
            let c = b[i];
            if plain_byte(c) {
                if matches!(c, b'*' | b'?' | b'[') {
                    glob = true;
                }
                if matches!(c, b'{' | b'}') {
                    // Brace expansion needs a comma or `..` inside: keep it simple.
                    let rest = &self.s[i..];
                    let end = rest.find([' ', '\t', '\n']).unwrap_or(rest.len());
                    check_braces(&rest[..end])?;
                }
                out.push(c as char);
                i += 1;
                continue;
            }
            match c {
                b'\'' => {
                    let close = b[i + 1..].iter().position(|&x| x == b'\'')? + i + 1;
                    w.quoted = true;
                    out.push_str(&self.s[i + 1..close]);
                    i = close + 1;
                }
                b'"' => {
                    w.quoted = true;
                    i = self.double_quoted(i + 1, &mut out, &mut w)?;
                }
                b'\\' => {
                    let n = *b.get(i + 1)?;
                    // A line continuation inside a word joins what surrounds it before any
                    // expansion (`$\<newline>HOME` is `$HOME`): the full parse joins it.
                    if n == b'\n' {
                        return None;
                    }
                    if !n.is_ascii() {
                        return None;
                    }
                    w.quoted = true;
                    out.push(n as char);
                    i += 2;
                }
                b'$' if b.get(i + 1) == Some(&b'\'') => {
                    w.quoted = true;
                    i = self.ansi_c(i, &mut out)?;
                }
                b'$' => i = self.dollar(i, &mut out, &mut w)?,
                b'`' => i = self.backquote(i, &mut out, &mut w)?,
                _ if is_word_end(c) => break,
                _ => return None,
            }
        }
        self.i = i;
        w.text = Cow::Owned(out);
        w.glob = glob;
        w.span = self.origin.map(start, i);
        self.push_word(w, start, i)
    }

    /// A word of plain bytes only, `start..i` (`class`: what they hold): borrowed, or the fd of
    /// a redirection (`2>`).
    fn plain_word(&mut self, start: usize, i: usize, class: u8) -> Option<()> {
        let b = self.b;
        if i == start {
            return None;
        }
        if !self.test && i < b.len() && matches!(b[i], b'<' | b'>') && b[start..i].iter().all(u8::is_ascii_digit) {
            let fd: u32 = self.s[start..i].parse().ok()?;
            self.i = i;
            return self.redirect_op(Some(fd));
        }
        let raw = &self.s[start..i];
        if class & BRACE != 0 {
            check_braces(raw)?;
        }
        let mut w = Word { text: Cow::Borrowed(raw), ..Default::default() };
        w.glob = class & GLOB != 0;
        w.span = self.origin.map(start, i);
        self.i = i;
        self.push_word(w, start, i)
    }

    /// The inside of a double-quoted string from `i` (after its `"`) into `out`: the index after
    /// the closing `"`.
    fn double_quoted(&mut self, mut i: usize, out: &mut String, w: &mut Word<'t>) -> Option<usize> {
        let b = self.b;
        loop {
            let c = *b.get(i)?;
            match c {
                b'"' => {
                    i += 1;
                    break;
                }
                b'\\' => {
                    let n = *b.get(i + 1)?;
                    match n {
                        b'$' | b'`' | b'"' | b'\\' => out.push(n as char),
                        // A line continuation (`"$\<newline>X"` is `"$X"`): the full parse joins it.
                        b'\n' => return None,
                        _ if n.is_ascii() => {
                            out.push('\\');
                            out.push(n as char);
                        }
                        _ => return None,
                    }
                    i += 2;
                }
                b'$' => i = self.dollar(i, out, w)?,
                b'`' => i = self.backquote(i, out, w)?,
                b'!' => return None,
                _ => {
                    // Copy a run of ordinary characters (may be non-ASCII).
                    let run = b[i..]
                        .iter()
                        .position(|&x| matches!(x, b'"' | b'\\' | b'$' | b'`' | b'!'))
                        .map_or(b.len(), |p| i + p);
                    out.push_str(&self.s[i..run]);
                    i = run;
                }
            }
        }
        Some(i)
    }

    /// An ANSI-C quote `$'…'` at `i` decoded into `out` (it ends at the first `'` not escaped by
    /// a backslash): the index after it.
    fn ansi_c(&self, i: usize, out: &mut String) -> Option<usize> {
        let b = self.b;
        let mut j = i + 2;
        loop {
            match *b.get(j)? {
                b'\\' => j += 2,
                b'\'' => break,
                _ => j += 1,
            }
        }
        out.push_str(&ansi_c_decode(&self.s[i + 2..j]));
        Some(j + 1)
    }
}

/// Whether the redirection operator ending `before` (blanks aside) may take a process
/// substitution as its target the way the full parse reads it: `<`, `>` and `>>` with a blank
/// between. brush-parser rejects one after `&>`, `>&`, `<&` or `<<<`, and reads one glued to the
/// operator (`><(…)`) its own way: its reading decides.
fn proc_subst_target_ok(before: &[u8]) -> bool {
    let Some(end) = before.iter().rposition(|&c| !matches!(c, b' ' | b'\t')) else { return false };
    let start = before[..=end].iter().rposition(|&c| !matches!(c, b'<' | b'>' | b'&' | b'|')).map_or(0, |p| p + 1);
    end + 1 < before.len() && matches!(&before[start..=end], b"<" | b">" | b">>")
}

/// Binary operators of `[[ … ]]` that are lexed as words.
fn is_test_binop(w: &str) -> bool {
    matches!(w, "==" | "=" | "!=" | "-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge" | "-nt" | "-ot" | "-ef")
}

/// Unary operators of `[[ … ]]`.
fn is_test_unop(w: &str) -> bool {
    w.len() == 2
        && w.starts_with('-')
        && matches!(w.as_bytes()[1], b'a'..=b'h' | b'k' | b'n' | b'o' | b'p' | b'r'..=b'x' | b'z' | b'G' | b'L' | b'N' | b'O' | b'R' | b'S')
}

/// A conservative grammar check of the tokens of `[[ … ]]`: `!`, `&&`,
/// `||`, parentheses, `-op WORD`, `WORD op WORD` and lone words that do not
/// look like operators. Anything else is left to the full parser.
fn test_expr_ok(t: &[(bool, &str)]) -> bool {
    fn end_of_primary(t: &[(bool, &str)], k: usize) -> bool {
        matches!(t.get(k), None | Some((true, "&&" | "||" | ")")))
    }
    fn operand(t: &[(bool, &str)], k: usize) -> bool {
        matches!(t.get(k), Some((false, w)) if !is_test_binop(w) && !is_test_unop(w))
    }
    fn primary(t: &[(bool, &str)], k: &mut usize, d: u32) -> bool {
        match t.get(*k) {
            Some((true, "(")) => {
                *k += 1;
                let ok = or(t, k, d + 1) && t.get(*k) == Some(&(true, ")"));
                *k += 1;
                ok
            }
            Some((true, "!")) => {
                *k += 1;
                d < 16 && primary(t, k, d + 1)
            }
            Some((false, w)) if is_test_unop(w) => {
                let ok = operand(t, *k + 1) && end_of_primary(t, *k + 2);
                *k += 2;
                ok
            }
            Some((false, w)) if !w.starts_with('-') && !is_test_binop(w) => {
                let binop = matches!(t.get(*k + 1), Some((true, "<" | ">" | "!=")))
                    || matches!(t.get(*k + 1), Some((false, o)) if is_test_binop(o));
                if binop {
                    let ok = operand(t, *k + 2) && end_of_primary(t, *k + 3);
                    *k += 3;
                    ok
                } else {
                    *k += 1;
                    end_of_primary(t, *k)
                }
            }
            _ => false,
        }
    }
    fn and(t: &[(bool, &str)], k: &mut usize, d: u32) -> bool {
        if !primary(t, k, d) {
            return false;
        }
        while t.get(*k) == Some(&(true, "&&")) {
            *k += 1;
            if !primary(t, k, d) {
                return false;
            }
        }
        true
    }
    fn or(t: &[(bool, &str)], k: &mut usize, d: u32) -> bool {
        if d > 16 || !and(t, k, d) {
            return false;
        }
        while t.get(*k) == Some(&(true, "||")) {
            *k += 1;
            if !and(t, k, d) {
                return false;
            }
        }
        true
    }
    let mut k = 0;
    !t.is_empty() && or(t, &mut k, 0) && k == t.len()
}

/// Reject words with brace expansion (`{a,b}`, `{1..3}`).
fn check_braces(raw: &str) -> Option<()> {
    let b = raw.as_bytes();
    if let Some(p) = b.iter().position(|&c| c == b'{') {
        let rest = &b[p..];
        let end = rest.iter().position(|&c| c == b'}').unwrap_or(rest.len());
        let inner = &rest[..end];
        if inner.contains(&b',') || inner.windows(2).any(|w| w == b"..") {
            return None;
        }
    }
    Some(())
}

/// `NAME[…]=` or `NAME[…]+=`: an array element assignment.
fn is_subscript_assignment(raw: &str) -> bool {
    let name = raw.bytes().take_while(|&c| c == b'_' || c.is_ascii_alphanumeric()).count();
    let rest = &raw[name..];
    name > 0 && rest.starts_with('[') && (rest.contains("]=") || rest.contains("]+="))
}

/// `NAME=…` where `NAME` is a valid, unquoted shell variable name.
pub(crate) fn valid_assignment_prefix(raw: &str) -> bool {
    // The name is the longest run of name bytes; then `=` or `+=` must follow.
    let b = raw.as_bytes();
    let mut k = 0;
    while k < b.len() && (b[k] == b'_' || b[k].is_ascii_alphabetic() || (k > 0 && b[k].is_ascii_digit())) {
        k += 1;
    }
    k > 0 && (b.get(k) == Some(&b'=') || (b.get(k) == Some(&b'+') && b.get(k + 1) == Some(&b'=')))
}
