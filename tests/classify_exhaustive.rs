//! The fast lexer against the full parse on every short line over an alphabet of shell
//! syntax, checked exhaustively where a fuzzer samples: the fast path never answers milder than
//! the full parse (the classify fuzz target's own assertion), and on a line both read it shows
//! the rules the same commands. Every line of up to three characters (alone, after a command
//! and after `&&`), and every line of up to three tokens (joined by a space and glued), is
//! explained both ways.
//!
//! Random mutation found the fast path's blind spots one at a time; enumerating short lines
//! found whole families at once (`time` before anything, a line continuation inside a word,
//! `;&` outside `case`, a process substitution glued to a redirection), each now handed to the
//! full parse. Comparing the commands found a bypass of both paths: brush-parser reads
//! `( (cmd) )` as arithmetic, where bash runs the nested subshells.

use holdfast::classify::{Class, Explanation, explain, explain_full_parse};

/// Characters that mean something to the shell, a letter, digits and white space.
const CHARS: &[char] = &[
    'a', '$', '\'', '"', '\\', '(', ')', '{', '}', '[', ']', '<', '>', '&', '|', ';', '#', '~', '!', '=', '-', ' ',
    '\n', '`', '*', '?', ',', ':', '@', '%', '^', '+', '.', '/', '0', '1', '\t',
];

/// Tokens of the grammar the fast lexer accepts, and the reserved words and operators near it.
const TOKENS: &[&str] = &[
    "ls", "x=1", "time", "-p", "{", "}", "(", ")", "if", "then", "fi", "do", "done", "for", "in", "[[", "]]", ";",
    "&&", "|", "&", "\n", "#c", ">", ">&", "<", "<<<", "&>", "2>", "<(a)", ">(a)", "$$", "$(a)", "`a`", "'q'", "\"q\"",
    "f()", "f@()", "(ls)", "x[1]=1", "~", "~x", "~.x", "$'a'", "\\\n", "rm -rf /", "<<E", "\nE",
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

/// The commands the rules saw, in a canonical order (the fast path classifies substituted code
/// before the pipeline holding it, the full walk in text order).
fn commands(e: &Explanation) -> Vec<(u32, &str, &[String], bool)> {
    let mut v: Vec<_> = e.steps.iter().map(|s| (s.depth, s.program.as_str(), s.argv.as_slice(), s.sudo)).collect();
    v.sort();
    v
}

/// How the fast path differs from the full parse on `s`, if it does: a milder class, or (when
/// both parsed it and neither stopped early at a catastrophic command) other commands shown to
/// the rules, which a rule not in this alphabet could tell apart.
fn divergence(s: &str) -> Option<String> {
    let (fast, full) = (explain(s), explain_full_parse(s));
    let (a, b) = (&fast.classification, &full.classification);
    let early_stop = a.class == Class::Catastrophic || b.class == Class::Catastrophic;
    if a.class < b.class || (a.parsed && b.parsed && !early_stop && commands(&fast) != commands(&full)) {
        return Some(format!(
            "{s:?}: fast {} ({}) {:?}, full {} ({}) {:?}",
            a.class,
            a.rule,
            commands(&fast),
            b.class,
            b.rule,
            commands(&full)
        ));
    }
    None
}

/// The lines among `all` where the fast path diverges from the full parse (the first 20).
fn diverging(all: impl Iterator<Item = String>) -> Vec<String> {
    all.filter_map(|s| divergence(&s)).take(20).collect()
}

#[test]
fn every_short_character_line_reads_the_same_on_the_fast_path() {
    let chars: Vec<String> = CHARS.iter().map(char::to_string).collect();
    let chars: Vec<&str> = chars.iter().map(String::as_str).collect();
    for prefix in ["", "e ", "e && "] {
        let found = diverging(lines(&chars, 3, prefix, ""));
        assert!(found.is_empty(), "the fast path diverges from the full parse:\n{}", found.join("\n"));
    }
}

#[test]
fn every_short_token_line_reads_the_same_on_the_fast_path() {
    for joiner in [" ", ""] {
        let found = diverging(lines(TOKENS, 3, "", joiner));
        assert!(found.is_empty(), "the fast path diverges from the full parse:\n{}", found.join("\n"));
    }
}
