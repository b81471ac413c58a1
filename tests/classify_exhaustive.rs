//! The fast lexer against the full parse on every short line over an alphabet of shell
//! syntax: "the fast path never answers milder than the full parse" (the classify fuzz target's
//! own assertion), checked exhaustively where a fuzzer samples. Every line of up to three
//! characters (alone and after a command and after `&&`), and every line of up to three tokens
//! (joined by a space and glued), is classified both ways.
//!
//! Random mutation found the fast path's blind spots one at a time; enumerating short lines
//! found whole families at once (`time` before anything, a line continuation inside a word,
//! `;&` outside `case`, a process substitution glued to a redirection), each now handed to the
//! full parse.

use holdfast::classify::{classify, classify_full_parse};

/// Characters that mean something to the shell, a letter, digits and white space.
const CHARS: &[char] = &[
    'a', '$', '\'', '"', '\\', '(', ')', '{', '}', '[', ']', '<', '>', '&', '|', ';', '#', '~', '!', '=', '-', ' ',
    '\n', '`', '*', '?', ',', ':', '@', '%', '^', '+', '.', '/', '0', '1', '\t',
];

/// Tokens of the grammar the fast lexer accepts, and the reserved words and operators near it.
const TOKENS: &[&str] = &[
    "ls", "x=1", "time", "-p", "{", "}", "(", ")", "if", "then", "fi", "do", "done", "for", "in", "[[", "]]", ";",
    "&&", "|", "&", "\n", "#c", ">", ">&", "<", "<<<", "&>", "2>", "<(a)", ">(a)", "$$", "$(a)", "`a`", "'q'", "\"q\"",
    "f()", "~", "~x", "$'a'", "\\\n", "rm -rf /", "<<E", "\nE",
];

/// Every line (after `prefix`) of up to `max` items, the items joined by `joiner`.
fn lines<'a>(items: &'a [&'a str], max: usize, prefix: &'a str, joiner: &'a str) -> impl Iterator<Item = String> + 'a {
    (1..=max).flat_map(move |n| {
        let total = items.len().pow(n as u32);
        (0..total).map(move |mut k| {
            let mut parts = Vec::with_capacity(n);
            for _ in 0..n {
                parts.push(items[k % items.len()]);
                k /= items.len();
            }
            format!("{prefix}{}", parts.join(joiner))
        })
    })
}

/// The lines among `all` where the fast path is milder than the full parse.
fn milder_on_fast_path(all: impl Iterator<Item = String>) -> Vec<String> {
    all.filter_map(|s| {
        let (fast, full) = (classify(&s), classify_full_parse(&s));
        (fast.class < full.class)
            .then(|| format!("{s:?}: fast {} ({}) full {} ({})", fast.class, fast.rule, full.class, full.rule))
    })
    .take(20)
    .collect()
}

#[test]
fn every_short_character_line_is_no_milder_on_the_fast_path() {
    let chars: Vec<String> = CHARS.iter().map(char::to_string).collect();
    let chars: Vec<&str> = chars.iter().map(String::as_str).collect();
    for prefix in ["", "e ", "e && "] {
        let found = milder_on_fast_path(lines(&chars, 3, prefix, ""));
        assert!(found.is_empty(), "fast path milder than the full parse:\n{}", found.join("\n"));
    }
}

#[test]
fn every_short_token_line_is_no_milder_on_the_fast_path() {
    for joiner in [" ", ""] {
        let found = milder_on_fast_path(lines(TOKENS, 3, "", joiner));
        assert!(found.is_empty(), "fast path milder than the full parse:\n{}", found.join("\n"));
    }
}
