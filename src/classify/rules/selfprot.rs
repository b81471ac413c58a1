//! Self-protection: an agent must not stop, reconfigure or uninstall
//! holdfast, nor edit the agents' hook configuration that routes commands
//! through it.
//!
//! `holdfast status|ping|classify|pending|log|version|help|check|explain` are
//! safe; every other `holdfast` subcommand run by an agent (stop, pause,
//! resume, reload, vault, approve, uninstall, …) is catastrophic.

use std::ops::Range;

use super::super::cx::Cx;
use super::super::ir::Word;
use super::super::paths;
use super::names::Prog;
use super::{Inv, operands};

rules! {
    COMMAND = ("self.control", Catastrophic, "Controls holdfast itself (stop, pause, approve, vault…); an agent must not change its own guard.");
    UNKNOWN_COMMAND = ("self.unknown_command", Ambiguous, "Runs a holdfast subcommand that is not known to be read-only.");
    KILL = ("self.kill", Catastrophic, "Stops or kills the holdfast daemon.");
    TAMPER = ("self.tamper", Catastrophic, "Modifies or deletes holdfast's configuration, policy, audit log, vault or binary.");
    HOOK_CONFIG = ("self.hook_config", Catastrophic, "Modifies the coding agent's hook settings that route commands through holdfast.");
}

const SAFE_VERBS: &[&str] = &[
    "status",
    "ping",
    "classify",
    "pending",
    "log",
    "logs",
    "version",
    "--version",
    "-V",
    "help",
    "--help",
    "-h",
    "check",
    "explain",
    "rules",
    "doctor",
    "audit-verify",
    "show",
];

/// Holdfast's own files or the agents' hook configuration.
pub(crate) fn guarded_path(t: &str) -> bool {
    // One pass for the names without which neither test can hold: holdfast's
    // own files, or the agents' configuration directories. A name's first
    // byte selects the few worth comparing at each position.
    let (mut own, mut hook) = (false, false);
    let b = t.as_bytes();
    for i in 0..b.len() {
        let r = &b[i..];
        match b[i] {
            b'h' => {
                own |= r.starts_with(b"holdfast");
                hook |= r.starts_with(b"hooks");
            }
            b'a' => own |= r.starts_with(b"audit.jsonl"),
            b'v' => own |= r.starts_with(b"vault.json"),
            b'p' => own |= r.starts_with(b"policy.toml"),
            b'.' => {
                hook |=
                    [&b".claude"[..], b".codex", b".gemini", b".cursor", b".copilot"].iter().any(|n| r.starts_with(n))
            }
            _ => {}
        }
    }
    own && paths::is_self_path(t) || hook && paths::is_hook_config(t)
}

pub(crate) fn hit_path(cx: &mut Cx<'_>, t: &str, span: Range<usize>) {
    if paths::is_self_path(t) {
        cx.hit(&TAMPER, span);
    } else {
        cx.hit(&HOOK_CONFIG, span);
    }
}

pub(crate) fn check(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], _inv: &Inv<'_>) {
    let args = &argv[1..];
    let whole = argv[0].span.start..argv[argv.len() - 1].span.end;
    match name {
        "holdfast" => {
            let verb = args.iter().find(|a| !a.as_str().starts_with('-') || SAFE_VERBS.contains(&a.as_str()));
            match verb {
                None => {}
                Some(v) if SAFE_VERBS.contains(&v.as_str()) => {}
                Some(v) if matches!(v.as_str(), "daemon" | "run" | "serve" | "start" | "init" | "hook") => {}
                Some(_) if args.iter().any(|a| matches!(a.as_str(), "--help" | "-h")) => {}
                Some(v)
                    if matches!(
                        v.as_str(),
                        "stop"
                            | "pause"
                            | "resume"
                            | "reload"
                            | "vault"
                            | "approve"
                            | "allow"
                            | "deny"
                            | "release"
                            | "panic"
                            | "uninstall"
                            | "disable"
                            | "enable"
                            | "config"
                            | "policy"
                            | "trust"
                            | "unlock"
                            | "shutdown"
                            | "kill"
                            | "reset"
                            | "set"
                            | "install"
                            | "unhook"
                            | "snooze"
                            | "bypass"
                    ) =>
                {
                    cx.hit(&COMMAND, whole)
                }
                Some(_) => cx.hit(&UNKNOWN_COMMAND, whole),
            }
        }
        "pgrep" | "pidof" => {}
        _ => {}
    }
}

/// Writers not covered by the filesystem rules ([`check_paths`]).
pub(crate) const GUARDED_WRITERS: &[&str] = &[
    "rsync",
    "trash",
    "trash-put",
    "gio",
    "code",
    "subl",
    "perl",
    "patch",
    "touch",
    "unzip",
    "xattr",
    "jq",
    "sponge",
    "sqlite3",
    "git",
    "ln",
    "shred",
    "srm",
];

/// Writers not covered by the filesystem rules that touch guarded paths;
/// `prog` is `name`'s entry in the name index.
pub(crate) fn check_paths(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], _inv: &Inv<'_>, prog: Prog) {
    if !prog.guarded_writer {
        return;
    }
    let ops: Vec<&Word<'_>> = operands(&argv[1..]).collect();
    let targets: &[&Word<'_>] = match name {
        "rsync" => ops.last().map(std::slice::from_ref).unwrap_or(&[]),
        "jq" | "sqlite3" | "git" => &[],
        _ => &ops,
    };
    for w in targets {
        if guarded_path(w.as_str()) {
            hit_path(cx, w.as_str(), w.span.clone());
        }
    }
    if name == "sponge"
        || name == "perl" && argv.iter().any(|a| a.as_str().starts_with("-i") || a.as_str().starts_with("-pi"))
    {
        for w in &ops {
            if guarded_path(w.as_str()) {
                hit_path(cx, w.as_str(), w.span.clone());
            }
        }
    }
}
