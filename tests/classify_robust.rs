//! Robustness: generated and pathological inputs never panic and give bounded results.
//! Deterministic (fixed-seed PRNG), no timing.

use holdfast::classify::{Class, Classification, classify};

/// xorshift64*: small deterministic PRNG.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// One to `max` of `pieces`, chosen at random, joined.
    fn concat(&mut self, pieces: &[&str], max: usize) -> String {
        let n = 1 + self.below(max);
        (0..n).map(|_| pieces[self.below(pieces.len())]).collect()
    }
}

/// How the fast path and the full parse disagree on `s`, for a failure message.
fn disagreement(s: &str, a: &Classification, b: &Classification) -> String {
    format!("{s:?}: fast {} ({}) vs full {} ({})", a.class.as_str(), a.rule, b.class.as_str(), b.rule)
}

fn check(input: &str) -> holdfast::classify::Classification {
    if std::env::var_os("ROBUST_TRACE").is_some() {
        eprintln!("INPUT {input:?}");
    }
    let c = classify(input);
    if let Some(s) = &c.span {
        assert!(s.start <= s.end && s.end <= input.len(), "span {s:?} out of {} bytes", input.len());
        assert!(input.is_char_boundary(s.start) && input.is_char_boundary(s.end));
    } else {
        assert_eq!(c.class, Class::Safe);
    }
    assert!(!c.rule.is_empty() && !c.reason.is_empty());
    c
}

#[test]
fn random_bytes_do_not_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..1500 {
        let len = rng.below(80);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let s = String::from_utf8_lossy(&bytes);
        check(&s);
    }
}

#[test]
fn random_shell_token_soup_does_not_panic() {
    const TOKENS: &[&str] = &[
        "rm", "-rf", "/", "~", "$HOME", "'", "\"", "`", "$(", ")", "(", "{", "}", ";", "&&", "||", "|", "&", ">", ">>",
        "<", "<<", "<<<", "EOF", "\n", "\t", " ", "\\", "sudo", "bash", "-c", "xargs", "find", "-exec", "{}", "\\;",
        "+", "eval", "echo", "git", "push", "--force", "curl", "sh", "$", "${", "!", "#", "*", "?", "[", "]", "=",
        "X=1", "python", "-e", "é", "日本", "if", "then", "fi", "for", "do", "done", "case", "esac", "in", "<(", ">(",
        "$((", "))",
    ];
    let mut rng = Rng(42);
    for _ in 0..3000 {
        let n = 1 + rng.below(24);
        let mut s = String::new();
        for _ in 0..n {
            s.push_str(TOKENS[rng.below(TOKENS.len())]);
            if rng.below(3) == 0 {
                s.push(' ');
            }
        }
        check(&s);
    }
}

#[test]
fn dangerous_commands_survive_random_safe_prefixes_and_suffixes() {
    let mut rng = Rng(7);
    let prefixes = ["ls; ", "cd /tmp && ", "true || ", "echo ok\n", "X=1 ", "sudo ", "env A=b ", "nice -n 5 ", "time "];
    let suffixes = ["", "; ls", " && echo done", " | tee log", " 2>&1", " &"];
    for _ in 0..300 {
        let cmd = format!("{}rm -rf /{}", prefixes[rng.below(prefixes.len())], suffixes[rng.below(suffixes.len())]);
        assert_eq!(check(&cmd).class, Class::Catastrophic, "{cmd:?}");
    }
}

#[test]
fn deep_command_substitution_nesting_is_bounded() {
    for depth in [1usize, 5, 10, 30, 200, 5_000] {
        let s = format!("{}rm -rf /{}", "echo $(".repeat(depth), ")".repeat(depth));
        let c = check(&s);
        assert_ne!(c.class, Class::Safe, "depth {depth}");
    }
}

#[test]
fn deep_parenthesis_nesting_is_bounded() {
    for depth in [3usize, 30, 1_000, 50_000] {
        let s = format!("{}ls{}", "(".repeat(depth), ")".repeat(depth));
        let c = check(&s);
        if depth > 24 {
            assert_eq!(c.rule, "parse.complex", "depth {depth}");
        }
    }
    let s = format!("{}rm -rf ~{}", "{ ".repeat(100), "; }".repeat(100));
    assert_ne!(check(&s).class, Class::Safe);
}

#[test]
fn nested_shells_are_bounded() {
    // Quoting grows 4x per level: 7 levels is ~16k quote characters.
    let mut s = "rm -rf /".to_string();
    for level in 0..7 {
        s = format!("bash -c {}", shell_quote(&s));
        assert_ne!(check(&s).class, Class::Safe, "level {level}");
    }
    let e = format!("{}rm -rf /", "eval ".repeat(40));
    assert_ne!(check(&e).class, Class::Safe);
    let w = format!("{}rm -rf /", "sudo env nice timeout 5 ".repeat(40));
    assert_ne!(check(&w).class, Class::Safe);
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[test]
fn one_megabyte_line_is_complex_not_safe() {
    let s = "a".repeat(1 << 20);
    let c = check(&s);
    assert_eq!(c.rule, "parse.complex");
    let s = format!("echo {}", "x ".repeat(600_000));
    assert_eq!(check(&s).rule, "parse.complex");
}

#[test]
fn ten_thousand_command_chain_is_complex_not_safe() {
    let s = "ls;".repeat(10_000);
    assert_eq!(check(&s).rule, "parse.complex");
    let s = "true && ".repeat(10_000) + "ls";
    assert_eq!(check(&s).rule, "parse.complex");
    let s = "cat | ".repeat(10_000) + "cat";
    assert_eq!(check(&s).rule, "parse.complex");
}

#[test]
fn unterminated_constructs_are_not_safe() {
    for s in [
        "echo 'abc",
        "echo \"abc",
        "echo $(ls",
        "echo `ls",
        "rm -rf \"/",
        "if true; then ls",
        "cat <<EOF\nabc",
        "ls && ",
        "ls |",
        "echo ${",
        "case x in",
    ] {
        let c = check(s);
        assert_ne!(c.class, Class::Safe, "{s:?}");
    }
}

#[test]
fn many_words_and_long_words() {
    let s = format!("ls {}", "file ".repeat(5_000));
    assert_eq!(check(&s).class, Class::Safe);
    let s = format!("rm -rf {} /", "x".repeat(40_000));
    assert_eq!(check(&s).class, Class::Catastrophic);
}

#[path = "support/corpus.rs"]
mod corpus;

/// The fast lexer must never change a verdict: compare with the full parse.
#[test]
fn fast_path_agrees_with_full_parse() {
    use holdfast::classify::classify_full_parse;
    let mut bad = Vec::new();
    let mut inputs: Vec<String> = corpus::load().into_iter().map(|e| e.command).collect();
    let pieces = [
        "rm -rf /",
        "ls",
        "echo \"$HOME\"",
        "x=$(rm -rf ~)",
        "`curl x`",
        "'a b'",
        "\\rm",
        " | sh",
        " && ",
        "; ",
        "\n",
        "cat <<EOF\nDROP TABLE t;\nEOF\n",
        " > /etc/passwd",
        " 2>&1",
        "${X:-/}",
        "<(curl -s x)",
        " | bash",
        "sudo ",
        "git push -f",
        "\"$(echo rm)\"",
        "$R",
        "R=rm; ",
    ];
    let mut rng = Rng(99);
    for _ in 0..2000 {
        let s = rng.concat(&pieces, 5);
        inputs.push(s);
    }
    for s in &inputs {
        let a = classify(s);
        let b = classify_full_parse(s);
        // Over-approximation by the full parser on unparsable input is fine;
        // the fast path must never be less strict.
        if std::env::var_os("SHOW_ALL_DIFF").is_some() && a.class != b.class {
            eprintln!("DIFF {}", disagreement(s, &a, &b));
        }
        if a.class < b.class {
            bad.push(disagreement(s, &a, &b));
        }
    }
    assert!(bad.is_empty(), "{} disagreements:\n{}", bad.len(), bad.join("\n"));
}

/// Compound commands, functions, `[[ ]]` and `$'…'` are lexed by the fast
/// path too: random mixes of them must never be classified milder than by
/// the full parse.
#[test]
fn fast_path_agrees_with_full_parse_on_compound_commands() {
    use holdfast::classify::classify_full_parse;
    let pieces = [
        "if true; then ",
        "if [ -f x ]\nthen ",
        "elif false; then ",
        "else ",
        "; fi",
        "\nfi",
        "while true; do ",
        "until false\ndo ",
        "for f in *.rs; do ",
        "for i in 1 $(rm -rf /); do ",
        "for x\ndo ",
        "; done",
        "\ndone",
        "{ ",
        "; }",
        " }",
        "(",
        ")",
        "f() { ",
        "f",
        "bomb () {\n",
        "bomb | bomb & ",
        "[[ -d ~ ]]",
        "[[ $(curl -s x) == y || ! -e /etc ]]",
        "[[ a =~ (b) ]]",
        "$'\\x72\\x6d' -rf /",
        "$'rm' -rf ~",
        "echo $'a\\'b'",
        "rm -rf /",
        "ls",
        "cargo build",
        "curl -s https://x.sh",
        " | bash",
        " > /etc/passwd",
        " && ",
        " || ",
        "; ",
        "\n",
        " & ",
        "R=rm; ",
        "$R -rf ~",
        "then ",
        "do ",
        "case x in x) ",
        "cat <<EOF\n$(rm -rf /)\nEOF\n",
        "cat <<EOF | sh\nls $(curl -s x) $HOME\nEOF\n",
        "psql <<SQL\nDROP TABLE $(echo t);\nSQL\n",
        "[[ 1<2 3 ]]",
        "[[ a < b && -n $x ]]",
        "{ rm -rf / }",
        "g() { g; }",
    ];
    let mut rng = Rng(4242);
    let mut bad = Vec::new();
    for _ in 0..6000 {
        let s = rng.concat(&pieces, 7);
        let a = classify(&s);
        let b = classify_full_parse(&s);
        if std::env::var_os("SHOW_ALL_DIFF").is_some() && a.class != b.class {
            eprintln!("DIFF {}", disagreement(&s, &a, &b));
        }
        if a.class < b.class {
            bad.push(disagreement(&s, &a, &b));
        }
    }
    assert!(bad.is_empty(), "{} disagreements:\n{}", bad.len(), bad.join("\n"));
}

/// The fast lexer reports certain syntax errors itself (an operator with
/// nothing before or after it, `;;` or `)` outside `case`, a here-document
/// without its delimiter) instead of handing them to brush: it must only do
/// so where brush rejects the text too. (Only that is asserted here: these
/// pieces also reach older, known differences where the fast path is milder,
/// such as `time -p rm -rf /` and `ls && # comment`.)
#[test]
fn fast_path_syntax_errors_are_errors_for_the_full_parse() {
    use holdfast::classify::classify_full_parse;
    let pieces = [
        "ls",
        "time ",
        "time -p ",
        "case ",
        "x)",
        ")",
        "(",
        ";",
        ";;",
        ";&",
        "&&",
        "||",
        "|",
        "&",
        "\n",
        "then ",
        "do ",
        "if ",
        "fi",
        "while ",
        "done",
        "cat <<EOF\n",
        "EOF\n",
        "EOF",
        " ",
        "\t",
        "#c\n",
        "$(ls)",
        "! ",
        "esac",
        " in ",
        "echo ",
        "x=1 ",
        "rm -rf /",
        "\\\n",
        "'",
        "\"",
        "for x in a; ",
        "f() ",
        "> x",
        "2>&1",
        "|&",
        " # x",
        "\n\n",
        "exec ",
        "time case x in x) ",
        "time case x in\n",
    ];
    let mut rng = Rng(777);
    let mut bad = Vec::new();
    for _ in 0..20000 {
        let s = rng.concat(&pieces, 6);
        let a = classify(&s);
        let b = classify_full_parse(&s);
        if a.rule == "parse.error" && (b.rule != "parse.error" || a.span != b.span) {
            bad.push(disagreement(&s, &a, &b));
        }
    }
    assert!(bad.is_empty(), "{} disagreements:\n{}", bad.len(), bad.join("\n"));
}
