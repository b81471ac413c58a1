//! Salvage of text that is not valid shell: its parts between command separators.
//!
//! bash reads a script one complete command at a time and runs each before it reads the next,
//! so in `rm -rf /` + newline + `(` the first line runs before the syntax error is seen. A line
//! that does not parse is therefore ambiguous at least, and each part of it is classified on its
//! own; the worst class wins. The split is deliberately rough (it may cut inside a
//! here-document body or a `case` pattern): a part that is not really a command can only make
//! the verdict stricter, never milder, and only for a line the shell rejects anyway.

use std::ops::Range;

/// Reserved words that may open a part (`if rm -rf /`, `{ rm -rf /`): dropped so the command
/// after them is classified.
const LEADING_KEYWORDS: &[&str] =
    &["if", "then", "elif", "else", "fi", "while", "until", "do", "done", "{", "}", "!", "time", "esac", "in"];

/// Bytes that end a part outside quotes: the command separators and subshell parentheses.
fn is_separator(b: u8) -> bool {
    matches!(b, b';' | b'&' | b'|' | b'\n' | b'(' | b')')
}

/// Index just past the quoted or substituted construct that starts at `i` (or the end of the
/// text when it is not closed).
fn skip_construct(b: &[u8], i: usize) -> usize {
    let end = |from: usize, close: u8| {
        let mut j = from;
        while j < b.len() && b[j] != close {
            j += if b[j] == b'\\' && close != b'\'' { 2 } else { 1 };
        }
        (j + 1).min(b.len())
    };
    match b[i] {
        b'\'' => end(i + 1, b'\''),
        b'"' => end(i + 1, b'"'),
        b'`' => end(i + 1, b'`'),
        // `$(…)`: to the parenthesis that balances it, quotes inside skipped.
        _ => {
            let mut depth = 0usize;
            let mut j = i + 1;
            while j < b.len() {
                match b[j] {
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    b'\'' | b'"' | b'`' => {
                        j = skip_construct(b, j);
                        continue;
                    }
                    b'\\' => j += 1,
                    _ => {}
                }
                j += 1;
            }
            b.len()
        }
    }
}

/// Byte ranges of the non-empty parts of `text` between unquoted command separators, each
/// trimmed and without its leading reserved words.
pub(crate) fn parts(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let word_start = i == 0 || matches!(b[i - 1], b' ' | b'\t') || is_separator(b[i - 1]);
        match b[i] {
            b'\\' => i += 2,
            b'\'' | b'"' | b'`' => i = skip_construct(b, i),
            b'$' if b.get(i + 1) == Some(&b'(') => i = skip_construct(b, i),
            b'#' if word_start => {
                push_part(text, start..i, &mut out);
                i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| i + n);
                start = i;
            }
            c if is_separator(c) => {
                push_part(text, start..i, &mut out);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    push_part(text, start..b.len().max(start), &mut out);
    out
}

/// Adds `r` (clamped to `text`) without surrounding blanks and leading reserved words, if
/// anything is left.
fn push_part(text: &str, r: Range<usize>, out: &mut Vec<Range<usize>>) {
    let (mut s, e) = (r.start.min(text.len()), r.end.min(text.len()));
    loop {
        let rest = &text[s..e];
        let trimmed = rest.trim_start_matches([' ', '\t']);
        s += rest.len() - trimmed.len();
        let word = trimmed.split([' ', '\t']).next().unwrap_or("");
        if word.is_empty() || !LEADING_KEYWORDS.contains(&word) {
            break;
        }
        s += word.len();
    }
    let e = s + text[s..e].trim_end_matches([' ', '\t']).len();
    if s < e {
        out.push(s..e);
    }
}

#[cfg(test)]
mod tests {
    use super::parts;

    fn texts(s: &str) -> Vec<&str> {
        parts(s).into_iter().map(|r| &s[r]).collect()
    }

    #[test]
    fn splits_at_unquoted_separators_only() {
        assert_eq!(texts("rm -rf /\n("), ["rm -rf /"]);
        assert_eq!(texts("rm -rf / ; 99>x"), ["rm -rf /", "99>x"]);
        assert_eq!(
            texts("echo 'a;b' \"c|d\" $(e; f) `g&h` i\\;j && k"),
            ["echo 'a;b' \"c|d\" $(e; f) `g&h` i\\;j", "k"]
        );
        assert_eq!(texts("ls # x; rm\nwho"), ["ls", "who"]);
        assert_eq!(texts("a#b;c"), ["a#b", "c"]);
    }

    #[test]
    fn drops_leading_reserved_words() {
        assert_eq!(texts("if rm -rf /; then { ! time ls"), ["rm -rf /", "ls"]);
        assert_eq!(texts("if then fi"), Vec::<&str>::new());
        assert_eq!(texts("ifconfig"), ["ifconfig"]);
    }

    #[test]
    fn unclosed_constructs_run_to_the_end() {
        assert_eq!(texts("rm -rf / \"x; y"), ["rm -rf / \"x; y"]);
        assert_eq!(texts("a $(b; (c)"), ["a $(b; (c)"]);
        assert_eq!(texts("a\\"), ["a\\"]);
    }
}
