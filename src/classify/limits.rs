//! Complexity caps checked before any parsing. Over-cap input is ambiguous
//! (`parse.complex`), never safe, and never reaches the recursive parser
//! (deep nesting could otherwise exhaust the stack).

/// Largest command line we parse (bytes). Here-documents writing files can be
/// large, hence generous.
pub(crate) const MAX_BYTES: usize = 64 * 1024;
/// Largest number of control operators (`;`, `&`, `|`, newline counted once per run).
pub(crate) const MAX_OPERATORS: usize = 2_000;
/// Deepest bracket nesting (`(`, `{`, `[`, `$(`, `$[`, backticks) in the raw text. Every kind
/// counts: brush-parser recurses on each (32,000 `$[` overflowed its stack, an abort no guard
/// can catch), and its search through unbalanced `((` nesting doubles per level (24 levels in 42
/// bytes took 2 s; 12 take milliseconds).
pub(crate) const MAX_NESTING: usize = 12;
/// Deepest unwrap/recursion (`bash -c "bash -c …"`, `$($(…))`, `eval`).
pub(crate) const MAX_DEPTH: u32 = 8;
/// Deepest nesting of compound commands opened by reserved words (`if`, `while`, `case`, …), as
/// [`keyword_nesting_over_cap`] estimates it before a full parse: brush-parser recurses once per
/// level, and about 150 levels of `if` overflow a 2 MiB stack in a debug build.
pub(crate) const MAX_KEYWORD_NESTING: usize = 48;
/// Reserved words that open a compound command (closed by [`KEYWORD_CLOSERS`]).
const KEYWORD_OPENERS: &[&str] = &["if", "while", "until", "for", "select", "case", "coproc"];
const KEYWORD_CLOSERS: &[&str] = &["fi", "done", "esac"];
/// Most simple commands evaluated for one line (bounds total work).
pub(crate) const MAX_COMMANDS: u32 = 4_000;

/// Count of `(`, `{` and `[`. Counted in byte-wide lanes per chunk of 255 (no
/// lane can overflow), which the compiler vectorises.
fn openers(b: &[u8]) -> usize {
    b.chunks(255)
        .map(|c| usize::from(c.iter().fold(0u8, |n, &x| n + u8::from(x == b'(' || x == b'{' || x == b'['))))
        .sum()
}

/// Returns true when the raw text exceeds a cap.
pub(crate) fn over_caps(s: &str) -> bool {
    if s.len() > MAX_BYTES {
        return true;
    }
    // Short text cannot hold MAX_OPERATORS operators or the backtick cap,
    // and its nesting is at most its count of openers: a vectorisable count
    // settles the common case without the scan below.
    if s.len() <= 4 * MAX_NESTING * 16 && openers(s.as_bytes()) <= MAX_NESTING {
        return false;
    }
    let mut ops = 0usize;
    let mut depth = 0usize;
    let mut max_depth = 0usize;
    let mut backticks = 0usize;
    let mut prev = 0u8;
    for &b in s.as_bytes() {
        match b {
            b';' | b'|' | b'&' | b'\n' if prev != b => {
                ops += 1;
            }
            b'(' | b'{' | b'[' => {
                depth += 1;
                max_depth = max_depth.max(depth);
            }
            b')' | b'}' | b']' => depth = depth.saturating_sub(1),
            b'`' => backticks += 1,
            _ => {}
        }
        prev = b;
    }
    ops > MAX_OPERATORS || max_depth > MAX_NESTING || backticks > 4 * MAX_NESTING * 16
}

/// True when the unquoted-looking words of `s` open more than [`MAX_KEYWORD_NESTING`] compound
/// commands without closing them. Rough on purpose (quotes are not tracked): it runs only before
/// the full parse, and an overestimate only makes a line ambiguous (`parse.complex`).
pub(crate) fn keyword_nesting_over_cap(s: &str) -> bool {
    let mut depth = 0usize;
    let separators = |c: char| c.is_ascii_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '`');
    for w in s.split(separators) {
        if KEYWORD_OPENERS.contains(&w) {
            depth += 1;
            if depth > MAX_KEYWORD_NESTING {
                return true;
            }
        } else if KEYWORD_CLOSERS.contains(&w) {
            depth = depth.saturating_sub(1);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_nesting_counts_open_compounds() {
        let deep = |n: usize| "if a; then ".repeat(n);
        assert!(!keyword_nesting_over_cap(&deep(MAX_KEYWORD_NESTING)));
        assert!(keyword_nesting_over_cap(&deep(MAX_KEYWORD_NESTING + 1)));
        assert!(keyword_nesting_over_cap(&"while(".repeat(MAX_KEYWORD_NESTING + 1)));
        // Closed compounds one after another are not nested.
        assert!(!keyword_nesting_over_cap(&"if a; then b; fi; for x in y; do z; done\n".repeat(500)));
    }
}
