//! Dry runs: which programs honour which flag as "change nothing". A row
//! only counts when the flag sits in the program's own options, before `--`
//! (the argv rules get is the unwrapped one, so data of a wrapper or a
//! runtime argument never counts).

/// `(program, subcommands as `|` alternatives or "" for any, flags)`. Flags
/// are matched exactly, so `--dry-run=none` is not a dry run.
const DRY_RUNS: &[(&str, &str, &[&str])] = &[
    ("kubectl", KUBE_DRY, &["--dry-run", "--dry-run=client", "--dry-run=server"]),
    ("oc", KUBE_DRY, &["--dry-run", "--dry-run=client", "--dry-run=server"]),
    ("helm", "", &["--dry-run", "--dry-run=client", "--dry-run=server"]),
    ("rsync", "", &["--dry-run", "-n"]),
    ("git", "push", &["--dry-run", "-n"]),
    ("git", "clean", &["--dry-run", "-n"]),
    ("git", "rm", &["--dry-run", "-n"]),
    ("aws", "", &["--dryrun", "--dry-run"]),
    ("npm", "", &["--dry-run"]),
    ("pnpm", "", &["--dry-run"]),
    ("cargo", "publish|package|install", &["--dry-run"]),
    ("ansible-playbook", "", &["--check", "-C"]),
    ("make", "", &["-n", "--dry-run", "--just-print", "--recon"]),
];

/// The kubectl subcommands whose `--dry-run` changes nothing (not `exec`, `cp`, `debug`).
const KUBE_DRY: &str =
    "delete|apply|create|patch|replace|scale|label|annotate|set|expose|run|drain|cordon|taint|autoscale";

/// The programs of [`DRY_RUNS`], for the name index.
pub(crate) fn program_names() -> impl Iterator<Item = &'static str> {
    DRY_RUNS.iter().map(|(p, _, _)| *p)
}

/// `argv` (program word first) asks `name` for a dry run it honours.
pub(crate) fn is_dry_run(name: &str, argv: &[super::super::ir::Word<'_>]) -> bool {
    let mut rows = DRY_RUNS.iter().filter(|(p, _, _)| *p == name).peekable();
    if rows.peek().is_none() {
        return false;
    }
    let args = &argv[1..];
    let sub = args.iter().map(|w| w.as_str()).find(|t| !t.starts_with('-')).unwrap_or("");
    // `git -c alias.x=… push -n` still runs the alias: no dry run with inline config.
    if name == "git" && args.iter().any(|w| w.as_str() == "-c" || w.as_str().starts_with("--config-env")) {
        return false;
    }
    rows.filter(|(_, s, _)| s.is_empty() || s.split('|').any(|x| x == sub)).any(|(_, _, flags)| {
        args.iter().map(|w| w.as_str()).take_while(|t| *t != "--").any(|t| {
            flags.contains(&t)
                || (flags.contains(&"-n")
                    && t.len() > 2
                    && t.starts_with('-')
                    && !t.starts_with("--")
                    && t[1..].bytes().all(|c| c.is_ascii_alphabetic())
                    && t.contains('n'))
        })
    })
}
