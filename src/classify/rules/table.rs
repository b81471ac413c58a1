//! The row engine: command knowledge as data.
//!
//! A [`Row`] says "this program, with these leading operands (the
//! subcommand path) and this argument predicate, is this rule". The families
//! added as tables (persistence, privilege escalation, supply chain, Windows,
//! framework database resets, remote execution) are lists of rows walked by
//! [`check`]; a family whose knowledge is not expressible as a row (code to
//! decode and classify) registers a handler instead.
//!
//! All rows of all table families are indexed once by program name, so a
//! command costs one hash lookup when no row names its program.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::super::Rule;
use super::super::cx::Cx;
use super::super::ir::Word;
use super::names::FnvBuild;
use super::{Inv, dbreset, exfil, persist, privesc, remoteexec, supply, windows};

/// The predicate a row puts on the arguments after its subcommand path.
#[derive(Clone, Copy)]
pub(crate) enum When {
    /// Always, once the program and path match.
    Always,
    /// Some argument (before `--`) is one of these words, or `WORD=…` for a
    /// long option (ASCII case ignored: Windows tools are case-blind).
    Flag(&'static [&'static str]),
    /// Some argument contains one of these (ASCII lowercase) substrings.
    Contains(&'static [&'static str]),
    /// Every one of these words is an argument (ASCII case ignored).
    All(&'static [&'static str]),
    /// None of these words is an argument: the row's exceptions.
    Unless(&'static [&'static str]),
    /// A predicate over the arguments after the path and the invocation.
    Test(fn(&[Word<'_>], &Inv<'_>) -> bool),
}

/// One piece of command knowledge.
pub(crate) struct Row {
    /// Program names, as [`super::program_name`] gives them, lowercase.
    pub progs: &'static [&'static str],
    /// Leading operands in order; each is `|`-separated alternatives (ASCII case ignored).
    pub path: &'static [&'static str],
    pub when: When,
    pub rule: &'static Rule,
}

/// Code for what rows cannot say: gets the program name and its whole argv.
pub(crate) type Handler = fn(&mut Cx<'_>, &str, &[Word<'_>], &Inv<'_>);

/// Every row, family by family (the order is the order of `rules list`).
const FAMILIES: &[&[Row]] =
    &[persist::ROWS, privesc::ROWS, supply::ROWS, windows::ROWS, dbreset::ROWS, remoteexec::ROWS, exfil::ROWS];

/// Every handler, family by family.
const HANDLERS: &[&[(&[&str], Handler)]] = &[windows::HANDLERS, remoteexec::HANDLERS, supply::HANDLERS];

/// Package runners whose first operand is itself a program (`pnpm prisma migrate reset`).
const RUNNERS: &[&str] = &["pnpm", "yarn", "bun", "npm"];

#[derive(Default)]
struct Entry {
    rows: Vec<&'static Row>,
    handlers: Vec<Handler>,
}

static INDEX: LazyLock<HashMap<&'static str, Entry, FnvBuild>> = LazyLock::new(|| {
    let mut index: HashMap<&'static str, Entry, FnvBuild> = HashMap::default();
    for row in FAMILIES.iter().flat_map(|f| f.iter()) {
        for p in row.progs {
            index.entry(p).or_default().rows.push(row);
        }
    }
    for (progs, h) in HANDLERS.iter().flat_map(|f| f.iter()) {
        for p in *progs {
            index.entry(p).or_default().handlers.push(*h);
        }
    }
    index
});

/// Every program name the table knows (rows, handlers and runners), for the name index.
pub(crate) fn program_names() -> impl Iterator<Item = &'static str> {
    INDEX.keys().copied().chain(RUNNERS.iter().copied())
}

/// Walk the rows and handlers of `name` over `argv` (`argv[0]` is the program word).
pub(crate) fn check(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    let lower;
    let key = if name.bytes().any(|b| b.is_ascii_uppercase()) {
        lower = name.to_ascii_lowercase();
        lower.as_str()
    } else {
        name
    };
    if let Some(e) = INDEX.get(key) {
        let whole = argv[0].span.start..argv[argv.len() - 1].span.end;
        for row in &e.rows {
            if matches(row, &argv[1..], inv) {
                cx.hit(row.rule, whole.clone());
            }
        }
        for h in &e.handlers {
            h(cx, key, argv, inv);
        }
    }
    // `pnpm prisma migrate reset`: the runner's first operand is the program.
    if RUNNERS.contains(&key)
        && let Some(first) = argv.get(1).filter(|w| !w.as_str().starts_with('-'))
        && !matches!(first.as_str(), "run" | "exec" | "install" | "add" | "publish")
        && (INDEX.contains_key(first.as_str()) || super::names::lookup(first.as_str()).family.is_some())
    {
        super::dispatch(cx, first.as_str(), &argv[1..], inv);
    }
}

fn matches(row: &Row, args: &[Word<'_>], inv: &Inv<'_>) -> bool {
    let mut rest = args;
    for step in row.path {
        let Some(pos) = rest.iter().position(|w| !w.as_str().starts_with('-')) else {
            return false;
        };
        if !step.split('|').any(|alt| alt.eq_ignore_ascii_case(rest[pos].as_str())) {
            return false;
        }
        rest = &rest[pos + 1..];
    }
    let before_dashes = || args.iter().take_while(|w| w.as_str() != "--");
    match row.when {
        When::Always => true,
        When::Flag(fs) => before_dashes().any(|w| fs.iter().any(|f| is_flag(w.as_str(), f))),
        When::Contains(subs) => args.iter().any(|w| {
            let t = w.as_str();
            subs.iter().any(|s| t.len() >= s.len() && t.to_ascii_lowercase().contains(s))
        }),
        When::All(ws) => ws.iter().all(|x| args.iter().any(|w| w.as_str().eq_ignore_ascii_case(x))),
        When::Unless(ws) => !args.iter().any(|w| ws.iter().any(|x| is_flag(w.as_str(), x))),
        When::Test(f) => f(rest, inv),
    }
}

/// `t` is option `f`: equal (ASCII case ignored), or `f=…` for a long option.
pub(crate) fn is_flag(t: &str, f: &str) -> bool {
    t.eq_ignore_ascii_case(f)
        || (f.starts_with("--")
            && t.len() > f.len()
            && t.as_bytes()[f.len()] == b'='
            && t[..f.len()].eq_ignore_ascii_case(f))
}

/// The rules of every table family, for `holdfast rules`.
pub(crate) fn all_rules() -> impl Iterator<Item = &'static Rule> {
    [persist::ALL, privesc::ALL, supply::ALL, windows::ALL, dbreset::ALL, remoteexec::ALL, exfil::ALL]
        .into_iter()
        .flatten()
}

/// A row of a family that reads its own command line before matching (git after its global
/// options, the cloud CLIs after their valued options, `systemctl` after its flags): `on` names
/// the program or subcommand, `path` the leading operands as the family read them (each
/// `|`-separated alternatives), and `when` tests the arguments and those operands.
pub(crate) struct Arm {
    /// Program names or subcommands, exactly.
    pub on: &'static [&'static str],
    /// Leading operands in order, each `|`-separated alternatives (exact).
    pub path: &'static [&'static str],
    /// Gets the arguments after `on` and the operands the family read.
    pub when: fn(&[Word<'_>], &[&str]) -> bool,
    pub rule: &'static Rule,
}

/// The `when` of an arm that needs no more than its program and path.
pub(crate) fn always(_: &[Word<'_>], _: &[&str]) -> bool {
    true
}

/// A family's arms indexed by the names they are `on` (each list in table order), built at
/// first use: a command costs one hash lookup, not a walk over every arm of the family.
pub(crate) type ArmIndex = HashMap<&'static str, Vec<&'static Arm>, FnvBuild>;

/// The index of `arms` (for a family's `LazyLock`).
pub(crate) fn index_arms(arms: &'static [Arm]) -> ArmIndex {
    let mut index = ArmIndex::default();
    for arm in arms {
        for name in arm.on {
            index.entry(*name).or_default().push(arm);
        }
    }
    index
}

/// A family's handlers indexed by program or subcommand name (the first entry naming it wins).
pub(crate) fn index_handlers<H: Copy>(handlers: &[(&'static [&'static str], H)]) -> HashMap<&'static str, H, FnvBuild> {
    let mut index = HashMap::default();
    for (names, h) in handlers {
        for name in *names {
            index.entry(*name).or_insert(*h);
        }
    }
    index
}

/// The rule of the first arm that names `on`, matches `ops` and holds: one verdict per command,
/// so a family lists the graver reading of a subcommand before the milder one.
pub(crate) fn first_arm(arms: &ArmIndex, on: &str, args: &[Word<'_>], ops: &[&str]) -> Option<&'static Rule> {
    arms.get(on)?
        .iter()
        .find(|a| {
            a.path.iter().enumerate().all(|(k, step)| ops.get(k).is_some_and(|o| step.split('|').any(|alt| alt == *o)))
                && (a.when)(args, ops)
        })
        .map(|a| a.rule)
}
