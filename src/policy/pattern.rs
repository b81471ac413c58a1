//! Command patterns: `exact`, `prefix` and `glob`, matched against a normalized command line.
//!
//! **Normalization** (applied to both the pattern and the command): leading and trailing
//! whitespace is removed and every run of whitespace (spaces, tabs, newlines, any Unicode
//! whitespace) becomes one space. Matching is case-sensitive. Normalization happens on the
//! whole line, quoted text included: `echo "a    b"` normalizes to `echo "a b"`.
//!
//! - `exact`: the normalized command equals the normalized pattern.
//! - `prefix`: the command starts with the pattern *at a word boundary*: the pattern is the whole
//!   command or is followed by a space or a shell operator character (`; & | < > ( )`). So the
//!   prefix `git push` matches `git push origin main` and `git push;` but not `git pushx`.
//! - `glob`: the whole command matches; `*` matches any run of characters (spaces included, possibly
//!   empty), `?` matches exactly one character, `\` makes the next character literal (`\*`, `\?`,
//!   `\\`). The matcher never backtracks: the pattern is split at `*` into segments, the first
//!   and last are anchored, and each middle segment is taken at its leftmost occurrence (which is
//!   optimal for `*`-only globs), so matching is linear in the command for `?`-free segments and
//!   `O(command × segment / 64)` (a bit-parallel scan) for segments holding `?`.

use serde::{Deserialize, Serialize};

/// How a pattern is compared with a command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchKind {
    /// The whole normalized line equals the pattern (the default).
    #[default]
    Exact,
    /// The line starts with the pattern at a word boundary.
    Prefix,
    /// The whole line matches a glob with `*` and `?`.
    Glob,
}

impl MatchKind {
    /// The schema name of this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Exact => "exact",
            MatchKind::Prefix => "prefix",
            MatchKind::Glob => "glob",
        }
    }
}

/// Collapses whitespace runs to one space and trims the ends (see the module docs).
pub(crate) fn normalize(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for word in line.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// True when `line` holds a character that chains, redirects or substitutes in a shell
/// (`; & | < > ( ) $ \``, or a line break). Allow patterns other than `exact` never match such a
/// line, so `allow prefix "git status"` cannot wave through `git status; rm -rf ~`.
pub(crate) fn has_shell_operators(line: &str) -> bool {
    line.chars().any(|c| matches!(c, ';' | '&' | '|' | '<' | '>' | '(' | ')' | '$' | '`' | '\n' | '\r'))
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    kind: MatchKind,
    /// The normalized source text.
    text: String,
    glob: Option<Glob>,
}

impl Pattern {
    /// Compiles `source` as a pattern of `kind`. `None` when it is empty after normalization.
    pub fn new(kind: MatchKind, source: &str) -> Option<Pattern> {
        let text = normalize(source);
        if text.is_empty() {
            return None;
        }
        let glob = (kind == MatchKind::Glob).then(|| Glob::compile(&text));
        Some(Pattern { kind, text, glob })
    }

    /// How this pattern matches.
    pub fn kind(&self) -> MatchKind {
        self.kind
    }

    /// The normalized pattern text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True when the already-`normalize`d command line matches.
    pub fn matches_normalized(&self, line: &str) -> bool {
        match self.kind {
            MatchKind::Exact => line == self.text,
            MatchKind::Prefix => match line.strip_prefix(self.text.as_str()) {
                Some(rest) => {
                    rest.chars().next().is_none_or(|c| c == ' ' || matches!(c, ';' | '&' | '|' | '<' | '>' | '(' | ')'))
                }
                None => false,
            },
            MatchKind::Glob => self.glob.as_ref().is_some_and(|g| g.matches(line)),
        }
    }

    /// True when the command line matches (normalizes it first).
    pub fn matches(&self, line: &str) -> bool {
        self.matches_normalized(&normalize(line))
    }
}

/// One element of a glob segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    Any,
}

/// A glob split at its stars: `segments[0]` is anchored at the start, the last at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Glob {
    segments: Vec<Vec<Tok>>,
}

impl Glob {
    fn compile(text: &str) -> Glob {
        let mut segments = vec![Vec::new()];
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '*' => segments.push(Vec::new()),
                '?' => segments.last_mut().expect("non-empty").push(Tok::Any),
                '\\' => {
                    // A trailing backslash is a literal backslash.
                    let lit = chars.next().unwrap_or('\\');
                    segments.last_mut().expect("non-empty").push(Tok::Lit(lit));
                }
                c => segments.last_mut().expect("non-empty").push(Tok::Lit(c)),
            }
        }
        Glob { segments }
    }

    fn matches(&self, line: &str) -> bool {
        let first = &self.segments[0];
        if self.segments.len() == 1 {
            return match_at(first, line) == Some(line.len());
        }
        let Some(mut pos) = match_at(first, line) else { return false };
        let last = &self.segments[self.segments.len() - 1];
        for seg in &self.segments[1..self.segments.len() - 1] {
            match find(seg, &line[pos..]) {
                Some(end) => pos += end,
                None => return false,
            }
        }
        // The last segment is anchored at the end and must not overlap what the middle consumed.
        let rest = &line[pos..];
        let need = last.len();
        let count = rest.chars().count();
        if count < need {
            return false;
        }
        let start = rest.char_indices().nth(count - need).map_or(rest.len(), |(i, _)| i);
        match_at(last, &rest[start..]) == Some(rest.len() - start)
    }
}

/// Matches `seg` at the start of `text`; returns the byte length consumed.
fn match_at(seg: &[Tok], text: &str) -> Option<usize> {
    let mut chars = text.char_indices();
    for tok in seg {
        let (_, c) = chars.next()?;
        if let Tok::Lit(l) = tok
            && *l != c
        {
            return None;
        }
    }
    Some(chars.next().map_or(text.len(), |(i, _)| i))
}

/// Finds the leftmost occurrence of `seg` in `text`; returns the byte offset just past it.
fn find(seg: &[Tok], text: &str) -> Option<usize> {
    if seg.is_empty() {
        return Some(0);
    }
    if seg.iter().all(|t| matches!(t, Tok::Lit(_))) {
        let needle: String = seg.iter().map(|t| if let Tok::Lit(c) = t { *c } else { '?' }).collect();
        return text.find(&needle).map(|i| i + needle.len());
    }
    // Shift-and: bit i of `state` is set when seg[..=i] ends at the current character.
    let words = seg.len().div_ceil(64);
    let mut any = vec![0u64; words];
    let mut lits: std::collections::HashMap<char, Vec<u64>> = std::collections::HashMap::new();
    for (i, tok) in seg.iter().enumerate() {
        match tok {
            Tok::Any => any[i / 64] |= 1 << (i % 64),
            Tok::Lit(c) => lits.entry(*c).or_insert_with(|| vec![0u64; words])[i / 64] |= 1 << (i % 64),
        }
    }
    let mut state = vec![0u64; words];
    let last_word = (seg.len() - 1) / 64;
    let last_bit = 1u64 << ((seg.len() - 1) % 64);
    for (i, c) in text.char_indices() {
        let lit = lits.get(&c);
        let mut carry = 1u64; // the empty prefix always matches
        for (w, word) in state.iter_mut().enumerate() {
            let shifted = (*word << 1) | carry;
            carry = *word >> 63;
            *word = shifted & (any[w] | lit.map_or(0, |m| m[w]));
        }
        if state[last_word] & last_bit != 0 {
            return Some(i + c.len_utf8());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(p: &str, line: &str) -> bool {
        Pattern::new(MatchKind::Glob, p).unwrap().matches(line)
    }

    #[test]
    fn normalizes_whitespace() {
        assert_eq!(normalize("  git \t push\n origin  "), "git push origin");
        assert_eq!(normalize(""), "");
        assert!(Pattern::new(MatchKind::Exact, "  \t").is_none());
    }

    #[test]
    fn exact_matches_whole_normalized_line() {
        let p = Pattern::new(MatchKind::Exact, "make  deploy-staging").unwrap();
        assert!(p.matches("make deploy-staging"));
        assert!(p.matches("  make\tdeploy-staging "));
        assert!(!p.matches("make deploy-staging2"));
        assert!(!p.matches("Make deploy-staging"));
    }

    #[test]
    fn prefix_respects_word_boundary() {
        let p = Pattern::new(MatchKind::Prefix, "git push").unwrap();
        assert!(p.matches("git push"));
        assert!(p.matches("git push origin main"));
        assert!(p.matches("git   push\torigin"));
        assert!(p.matches("git push;echo"));
        assert!(!p.matches("git pushx"));
        assert!(!p.matches("git pus"));
        assert!(!p.matches("xgit push"));
    }

    #[test]
    fn glob_basics() {
        assert!(glob("git push * main", "git push origin main"));
        assert!(glob("git push * main", "git push --force origin main"));
        assert!(!glob("git push * main", "git push origin main2"));
        assert!(!glob("git push * main", "git push main"));
        assert!(glob("*", ""));
        assert!(glob("*", "anything at all"));
        assert!(glob("rm -rf *", "rm -rf /"));
        assert!(glob("*rm*", "sudo rm x"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(glob("a*b*c", "abc"));
        assert!(!glob("a*b*c", "acb"));
        assert!(!glob("ab*ba", "aba"));
        assert!(glob("ab*ba", "abba"));
        assert!(glob("*a?b*", "xxa-bxx"));
        assert!(glob("*a?b", "xxa-b"));
        assert!(!glob("*a?b", "xxa-bx"));
        assert!(glob("é?*ü", "éxyü"));
        assert!(!glob("é??ü", "éxü"));
    }

    #[test]
    fn glob_escapes() {
        assert!(glob(r"rm \*.o", "rm *.o"));
        assert!(!glob(r"rm \*.o", "rm a.o"));
        assert!(glob(r"what\?", "what?"));
        assert!(!glob(r"what\?", "whatx"));
        assert!(glob(r"\\rm *", r"\rm x"));
    }

    #[test]
    fn glob_question_segments_in_middle() {
        assert!(glob("*x?y*", "aaax-y"));
        assert!(glob("*x?y*z", "x-x-yz"));
        assert!(!glob("*x?y*z", "x-x-y"));
        // A segment longer than one machine word.
        let seg: String = "ab?".repeat(30);
        let line: String = format!("zz{}zz", "abQ".repeat(30));
        assert!(glob(&format!("*{seg}*"), &line));
        assert!(!glob(&format!("*{seg}*"), &line.replacen("abQ", "aXQ", 1)));
    }

    /// Naive reference matcher, exponential in the worst case but fine for short inputs.
    fn reference(p: &[char], s: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('*') => (0..=s.len()).any(|k| reference(&p[1..], &s[k..])),
            Some('?') => !s.is_empty() && reference(&p[1..], &s[1..]),
            Some(c) => s.first() == Some(c) && reference(&p[1..], &s[1..]),
        }
    }

    #[test]
    fn glob_agrees_with_reference_on_all_small_inputs() {
        let alphabet = ['a', 'b', '*', '?'];
        let text_alphabet = ['a', 'b'];
        let mut patterns = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for p in &patterns {
                for c in alphabet {
                    next.push(format!("{p}{c}"));
                }
            }
            patterns.extend(next);
        }
        let mut texts = vec![String::new()];
        for _ in 0..5 {
            let mut next = Vec::new();
            for t in &texts {
                for c in text_alphabet {
                    next.push(format!("{t}{c}"));
                }
            }
            texts.extend(next);
        }
        patterns.sort();
        patterns.dedup();
        texts.sort();
        texts.dedup();
        for p in patterns.iter().filter(|p| !p.is_empty()) {
            let g = Glob::compile(p);
            let pc: Vec<char> = p.chars().collect();
            for t in &texts {
                let tc: Vec<char> = t.chars().collect();
                assert_eq!(g.matches(t), reference(&pc, &tc), "pattern {p:?} text {t:?}");
            }
        }
    }

    #[test]
    fn hostile_glob_does_not_blow_up() {
        // Exponential for a backtracking matcher; linear here. Only a "does not hang" check.
        let p = format!("{}b", "a*".repeat(100));
        let line = "a".repeat(100_000);
        assert!(!glob(&p, &line));
        let p = format!("*{}b*", "a?".repeat(200));
        assert!(!glob(&p, &line));
    }

    #[test]
    fn shell_operators_detected() {
        assert!(has_shell_operators("git status; rm -rf ~"));
        assert!(has_shell_operators("a && b"));
        assert!(has_shell_operators("echo $(id)"));
        assert!(has_shell_operators("a\nb"));
        assert!(!has_shell_operators("git status --short"));
    }
}
