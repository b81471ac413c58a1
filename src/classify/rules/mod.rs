//! Rule families and the evaluation of pipelines.
//!
//! Each family file declares its rules with [`rules!`] (stable dotted id,
//! class, one-sentence reason) and a `check` function called with the
//! unwrapped argv of a simple command.

use std::borrow::Cow;
use std::ops::Range;

use super::cx::Cx;
use super::ir::{Cmd, Pipeline, RedirOp, Word};
use super::{Rule, limits, unwrap};
use names::Family;

macro_rules! rules {
    ($( $name:ident = ($id:literal, $class:ident, $reason:literal); )*) => {
        $(
            pub(crate) const $name: $crate::classify::Rule = $crate::classify::Rule {
                id: $id,
                class: $crate::classify::Class::$class,
                reason: $reason,
            };
        )*
        pub(crate) const ALL: &[$crate::classify::Rule] = &[$($name),*];
    };
}

pub(crate) mod code;
pub(crate) mod db;
pub(crate) mod dbreset;
pub(crate) mod decode;
pub(crate) mod disk;
pub(crate) mod dryrun;
pub(crate) mod exfil;
pub(crate) mod fs;
pub(crate) mod git;
pub(crate) mod infra;
pub(crate) mod meta;
pub(crate) mod names;
pub(crate) mod persist;
pub(crate) mod privesc;
pub(crate) mod remote;
pub(crate) mod remoteexec;
pub(crate) mod secrets;
pub(crate) mod selfprot;
pub(crate) mod supply;
pub(crate) mod system;
pub(crate) mod table;
pub(crate) mod windows;

pub(crate) fn all_rules() -> impl Iterator<Item = &'static Rule> {
    [
        meta::ALL,
        fs::ALL,
        disk::ALL,
        git::ALL,
        db::ALL,
        infra::ALL,
        remote::ALL,
        secrets::ALL,
        system::ALL,
        selfprot::ALL,
        code::ALL,
    ]
    .into_iter()
    .flatten()
    .chain(table::all_rules())
    .chain(std::iter::once(&super::SAFE_DEFAULT))
}

/// What a command reads on standard input.
#[derive(Debug, Clone)]
pub(crate) enum Stdin<'w> {
    /// Terminal or unknown origin outside the line.
    Tty,
    /// Output of an earlier pipeline stage we know nothing special about.
    Pipe,
    /// A file (`< path`).
    File(&'w Word<'w>),
    /// Literal data: here-document, here-string, `echo …|`. The word gives the span.
    Data(Cow<'w, str>, &'w Word<'w>),
    /// Downloaded or decoded content (`curl … |`, `base64 -d |`); span of the producer.
    Fetch(Range<usize>),
}

/// Context of one invocation after unwrapping.
#[derive(Debug, Clone)]
pub(crate) struct Inv<'w> {
    pub stdin: Stdin<'w>,
    /// Runs with elevated privileges (`sudo`, `doas`).
    pub sudo: bool,
    /// Extra arguments are appended at run time (`xargs`, `find -exec … {}`).
    pub runtime_args: bool,
    pub depth: u32,
}

/// Program name as invoked: basename, no version suffix (`python3.12` → `python`).
pub(crate) fn program_name(raw: &str) -> &str {
    let base = super::text::basename(raw);
    let base = base.strip_suffix(".exe").unwrap_or(base);
    // A version suffix ends in a digit, `.` or `-`: any other name is its own stem.
    if !base.as_bytes().last().is_some_and(|&c| c.is_ascii_digit() || c == b'.' || c == b'-') {
        return base;
    }
    for stem in ["python", "pip", "perl", "ruby", "node", "php", "lua", "pypy", "gem", "irb", "tclsh"] {
        if let Some(r) = base.strip_prefix(stem)
            && r.bytes().all(|c| c.is_ascii_digit() || c == b'.' || c == b'-')
        {
            return stem;
        }
    }
    base
}

/// Short-option cluster test (`-rf` has `r`), before `--`.
pub(crate) fn has_short(args: &[Word<'_>], c: char) -> bool {
    for a in args {
        let t = a.as_str();
        if t == "--" {
            break;
        }
        if t.len() > 1 && t.starts_with('-') && !t.starts_with("--") && t[1..].contains(c) {
            return true;
        }
    }
    false
}

/// Long option test (`--force` or `--force=…`), before `--`.
pub(crate) fn has_long(args: &[Word<'_>], l: &str) -> bool {
    for a in args {
        let t = a.as_str();
        if t == "--" {
            break;
        }
        if t == l || (t.starts_with(l) && t[l.len()..].starts_with('=')) {
            return true;
        }
    }
    false
}

/// Some argument is one of `words` (anywhere, `--` included, exactly).
pub(crate) fn any_of(args: &[Word<'_>], words: &[&str]) -> bool {
    args.iter().any(|a| words.contains(&a.as_str()))
}

pub(crate) fn flag(args: &[Word<'_>], c: char, l: &str) -> bool {
    has_short(args, c) || has_long(args, l)
}

/// The word following option `opt` (`-c CODE`, `--command CODE`, `--command=CODE`, `-cCODE` when `attached`).
pub(crate) fn opt_value<'a, 'w>(args: &'a [Word<'w>], opts: &[&str]) -> Option<(Cow<'a, str>, &'a Word<'w>)> {
    let mut k = 0;
    while k < args.len() {
        let t = args[k].as_str();
        if t == "--" {
            break;
        }
        for o in opts {
            if t == *o {
                return args.get(k + 1).map(|w| (Cow::Borrowed(w.as_str()), w));
            }
            if o.starts_with("--")
                && let Some(v) = t.strip_prefix(o).and_then(|r| r.strip_prefix('='))
            {
                return Some((Cow::Borrowed(v), &args[k]));
            }
        }
        k += 1;
    }
    None
}

/// Non-option arguments (after the program word), honouring `--`.
pub(crate) fn operands<'a, 'w>(args: &'a [Word<'w>]) -> impl Iterator<Item = &'a Word<'w>> {
    let mut after = false;
    args.iter().filter(move |w| {
        if after {
            return true;
        }
        if w.as_str() == "--" {
            after = true;
            return false;
        }
        !(w.as_str().starts_with('-') && w.as_str().len() > 1)
    })
}

fn is_fetcher(words: &[Word<'_>]) -> bool {
    let mut k = 0;
    while k < words.len()
        && (words[k].assign || matches!(program_name(words[k].as_str()), "sudo" | "env" | "command" | "nohup" | "time"))
    {
        k += 1;
    }
    let Some(w) = words.get(k) else { return false };
    let args = &words[k + 1..];
    match program_name(w.as_str()) {
        "curl" | "wget" | "fetch" | "http" | "https" | "xh" | "aria2c" | "nc" | "ncat" => true,
        "base64" | "base32" | "gbase64" => flag(args, 'd', "--decode") || has_short(args, 'D'),
        "xxd" => has_short(args, 'r'),
        "openssl" => args.iter().any(|a| a.as_str() == "-d" || a.as_str() == "base64"),
        "gunzip" | "zcat" | "uudecode" | "rev" => true,
        _ => words[k].fetch,
    }
}

/// Literal data an `echo`/`printf` stage sends down the pipe.
fn echo_data<'w>(words: &'w [Word<'w>]) -> Option<(Cow<'w, str>, &'w Word<'w>)> {
    let first = words.iter().position(|w| !w.assign)?;
    let name = program_name(words[first].as_str());
    if !matches!(name, "echo" | "printf" | "cat" | "print") {
        return None;
    }
    let args: Vec<&Word<'w>> = words[first + 1..]
        .iter()
        .filter(|w| !(name == "echo" && matches!(w.as_str(), "-e" | "-n" | "-E" | "-ne" | "-en")))
        .collect();
    let last = *args.last()?;
    if name == "cat" {
        return None;
    }
    // `printf '\x72\x6d …' | sh`, `echo -e '\162…' | sh`: the shell reads the decoded bytes.
    let escapes = name == "printf" || words[first + 1..].iter().any(|w| matches!(w.as_str(), "-e" | "-ne" | "-en"));
    if escapes && args.iter().any(|w| w.as_str().contains('\\')) {
        let joined = args.iter().map(|w| w.as_str()).collect::<Vec<_>>().join(" ");
        return Some((Cow::Owned(decode::unescape(&joined)), last));
    }
    if args.len() == 1 {
        return Some((Cow::Borrowed(last.as_str()), last));
    }
    let joined = args.iter().map(|w| w.as_str()).collect::<Vec<_>>().join(" ");
    Some((Cow::Owned(joined), last))
}

/// `cat`, `tee FILE`, `sudo tee` and friends copy stdin to stdout.
fn passes_through(words: &[Word<'_>]) -> bool {
    let Some(first) = words.iter().position(|w| !w.assign) else {
        return false;
    };
    let name = program_name(words[first].as_str());
    match name {
        "cat" => operands(&words[first + 1..]).all(|w| w.as_str() == "-"),
        "tee" | "envsubst" | "dos2unix" => true,
        "sudo" => words.get(first + 1).is_some_and(|w| program_name(w.as_str()) == "tee"),
        _ => false,
    }
}

/// Evaluate one pipeline: stdin wiring, redirects, then each command.
pub(crate) fn eval_pipeline(cx: &mut Cx<'_>, p: &Pipeline<'_>, depth: u32) {
    cx.commands = cx.commands.saturating_add(p.cmds.len() as u32);
    if cx.commands > limits::MAX_COMMANDS {
        let span = p.cmds.first().map(|c| c.span.clone()).unwrap_or(0..0);
        cx.hit(&meta::PARSE_COMPLEX, span);
        return;
    }
    let mut fetch: Option<Range<usize>> = None;
    // Literal data flowing out of the previous stage (`cat <<EOF |`).
    let mut carried: Option<(Cow<'_, str>, &Word<'_>)> = None;
    // What the previous stage sends that must not reach the network (`env | curl -d @- …`).
    let mut produced: Option<(&'static super::Rule, Range<usize>)> = None;
    for (i, cmd) in p.cmds.iter().enumerate() {
        if cx.done() {
            return;
        }
        let stdin = redirected_stdin(cmd, piped_stdin(cx, p, i, &fetch, carried.take()));
        fs::check_redirects(cx, cmd);
        if produced.is_some() {
            exfil::check_sink(cx, &cmd.words, produced.take());
        }
        environment_words(cx, cmd, depth);
        if !cmd.words.is_empty() && cmd.words.iter().all(|w| w.assign) {
            cx.record_assignments(&cmd.words);
        }
        let stdin_copy = stdin.clone();
        if !cmd.words.is_empty() {
            let inv = Inv { stdin, sudo: false, runtime_args: false, depth };
            unwrap::eval_argv(cx, &cmd.words, &inv);
        }
        if i + 1 < p.cmds.len() {
            produced = exfil::producer(&cmd.words).map(|r| (r, cmd.span.clone()));
        }
        if !cmd.words.is_empty() && is_fetcher(&cmd.words) {
            fetch = Some(cmd.span.clone());
        }
        carried = None;
        if let Stdin::Data(d, w) = &stdin_copy
            && passes_through(&cmd.words)
        {
            carried = Some((d.clone(), *w));
        }
    }
}

/// What stage `i` of `p` reads from the stage before it.
fn piped_stdin<'w>(
    cx: &Cx<'_>,
    p: &'w Pipeline<'w>,
    i: usize,
    fetch: &Option<Range<usize>>,
    carried: Option<(Cow<'w, str>, &'w Word<'w>)>,
) -> Stdin<'w> {
    if i == 0 {
        Stdin::Tty
    } else if let Some(f) = fetch {
        Stdin::Fetch(f.clone())
    } else if let Some((d, w)) = echo_data(&p.cmds[i - 1].words) {
        Stdin::Data(d, w)
    } else if let Some((d, w)) = carried {
        Stdin::Data(d, w)
    } else if p.cmds[i - 1].compound && cx.input.get(p.cmds[i - 1].span.clone()).is_some_and(super::parse::code_fetches)
    {
        Stdin::Fetch(p.cmds[i - 1].span.clone())
    } else {
        Stdin::Pipe
    }
}

/// `stdin` unless a redirection of fd 0 (`< file`, here-document, here-string) replaces it.
fn redirected_stdin<'w>(cmd: &'w Cmd<'w>, mut stdin: Stdin<'w>) -> Stdin<'w> {
    for r in &cmd.redirs {
        match r.op {
            RedirOp::HereDoc | RedirOp::HereString if r.fd.unwrap_or(0) == 0 => {
                stdin = if r.target.fetch {
                    Stdin::Fetch(r.target.span.clone())
                } else {
                    Stdin::Data(Cow::Borrowed(r.target.as_str()), &r.target)
                };
            }
            RedirOp::In if r.fd.unwrap_or(0) == 0 => {
                stdin = if r.target.fetch { Stdin::Fetch(r.target.span.clone()) } else { Stdin::File(&r.target) };
            }
            _ => {}
        }
    }
    stdin
}

/// Words of a command that change how every program runs: `LD_PRELOAD=…`, `GIT_CONFIG_PARAMETERS=…`.
fn environment_words(cx: &mut Cx<'_>, cmd: &Cmd<'_>, depth: u32) {
    for w in &cmd.words {
        // Only `LD_…`, `DYLD_…` and `GIT_…` words can matter: one byte test for the rest.
        match w.as_str().as_bytes().first() {
            Some(b'L' | b'D') if privesc::is_preload(w.as_str()) => cx.hit(&privesc::PRELOAD, w.span.clone()),
            Some(b'G') if w.assign && w.as_str().starts_with("GIT_CONFIG_PARAMETERS=") => {
                git::config_parameters(cx, w, depth)
            }
            _ => {}
        }
    }
}

/// Family dispatch on the program name. `argv[0]` is the program word.
pub(crate) fn dispatch(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    if !super::trace::on() {
        return dispatch_families(cx, name, argv, inv);
    }
    let before = cx.best_rule().map(|r| r.class);
    dispatch_families(cx, name, argv, inv);
    let after = cx.best_rule();
    super::trace::record(super::trace::Step {
        depth: inv.depth,
        program: name.to_string(),
        argv: argv.iter().skip(1).map(|w| w.as_str().to_string()).collect(),
        sudo: inv.sudo,
        raised: after.filter(|r| Some(r.class) != before).map(|r| (r.id, r.class)),
    });
}

fn dispatch_families(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    let prog = names::lookup(name);
    // A real dry run of a program that honours it changes nothing (the flag
    // must sit before `--` in the program's own argv, not in data).
    let dry = prog.dry_run && dryrun::is_dry_run(name, argv);
    match prog.family {
        _ if dry => {}
        Some(Family::Fs) => fs::check(cx, name, argv, inv),
        Some(Family::Disk) => disk::check(cx, name, argv, inv),
        None if name.starts_with("mkfs.") || name.starts_with("mke2fs") => disk::check(cx, name, argv, inv),
        Some(Family::Git) => git::check(cx, name, argv, inv),
        Some(Family::Db) => db::check(cx, name, argv, inv),
        Some(Family::Infra) => infra::check(cx, name, argv, inv),
        Some(Family::Secrets) => secrets::check(cx, name, argv, inv),
        Some(Family::System) => system::check(cx, name, argv, inv),
        Some(Family::SelfProt) => selfprot::check(cx, name, argv, inv),
        Some(Family::Code) => code::check(cx, name, argv, inv),
        None => {}
    }
    // Windows names arrive in any case (`Set-MpPreference`): the table folds case itself.
    if !dry && (prog.table || name.bytes().any(|b| b.is_ascii_uppercase())) {
        table::check(cx, name, argv, inv);
    }
    if prog.network || prog.reader {
        exfil::check_args(cx, prog.network, prog.reader, argv, inv);
    }
    // Reading secrets or touching guarded paths, whatever the program.
    secrets::check_reads(cx, name, argv, inv, prog);
    selfprot::check_paths(cx, name, argv, inv, prog);
}
