//! Filesystem destruction: `rm`, `find -delete`, `shred`, `truncate`,
//! `mv`/`cp` over system paths, `chmod`/`chown`, clobbering writes.
//!
//! Deliberate choice: `rm -rf` of a regenerable build artefact given as a
//! relative path (`node_modules`, `target`, `./build`, `dist/*`, …) is
//! **safe** — it is everyday work. Other recursive deletions of relative
//! paths (`rm -rf src/old`) are ambiguous; `rm` of single files is safe.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::super::cx::Cx;
use super::super::ir::{Cmd, RedirOp, Word};
use super::super::paths::{self, PathKind, Secret};
use super::super::unwrap;
use super::names::FnvBuild;
use super::table::index_handlers;
use super::{Inv, any_of, disk, flag, has_long, has_short, operands, selfprot};

rules! {
    RM_ROOT = ("fs.rm_recursive_root", Catastrophic, "Recursively deletes the root, home, current or parent directory, losing every file in it. Delete the specific subdirectory by name, or move it aside with `trash`.");
    RM_NO_PRESERVE_ROOT = ("fs.rm_no_preserve_root", Catastrophic, "Disables rm's protection against deleting the root directory, so the whole system can be erased. Name the directory to delete instead.");
    RM_SYSTEM_DIR = ("fs.rm_system_dir", Catastrophic, "Recursively deletes a system directory such as /etc, /usr or /var, breaking the machine. Delete only the file you mean, with a human present.");
    RM_HOME_DIR = ("fs.rm_home_dir", Catastrophic, "Recursively deletes a top-level folder of the home directory with everything the user keeps there. Use `trash` so it can be restored.");
    RM_GIT_DIR = ("fs.rm_git_dir", Catastrophic, "Deletes the repository's .git directory and with it all history and unpushed commits. Push or `git bundle` first if you must.");
    RM_UNSET_VAR = ("fs.rm_var_root", Catastrophic, "Recursively deletes \"$VAR/\"-style paths that become / or /* when the variable is empty. Use `${VAR:?}` so an empty variable stops the command.");
    RM_SECRET = ("fs.rm_secret", Catastrophic, "Deletes private keys or credentials that cannot be recovered. Move them to a backup instead.");
    RSYNC_DELETE = ("fs.rsync_delete", Ambiguous, "rsync deletes destination files that are missing from the source. Run it with `--dry-run` first to see the list.");
    RSYNC_DELETE_BROAD = ("fs.rsync_delete_broad", Catastrophic, "rsync with deletion targets the root, home or a system directory, erasing what the source lacks. Sync into a dedicated directory.");
    RM_RECURSIVE = ("fs.rm_recursive", Ambiguous, "Recursively deletes a directory that is not a known build artefact; its files are gone for good. Use `trash`, or check it is regenerable.");
    RM_WILDCARD = ("fs.rm_wildcard", Ambiguous, "Deletes every file matching a broad wildcard. List them with `ls` first, or use `trash`.");
    RM_SYSTEM_PATH = ("fs.rm_system_path", Ambiguous, "Deletes files inside a system directory, which can break installed software. Remove the package that installed them instead, or let a human do it.");
    RM_VARIABLE = ("fs.rm_variable_target", Ambiguous, "Recursively deletes a path computed at run time, which may not be what it seems. Print the path first, or use `${VAR:?}`.");
    RM_RUNTIME = ("fs.rm_runtime_targets", Ambiguous, "Deletes files whose list is only known at run time (xargs, find -exec). Run the listing alone first.");
    RM_RUNTIME_BROAD = ("fs.rm_runtime_broad", Catastrophic, "Deletes files found under the root, home or a system directory. Narrow the search to the project.");
    FIND_DELETE = ("fs.find_delete", Ambiguous, "find deletes every file matching its filters. Run it with `-print` instead of `-delete` first.");
    FIND_DELETE_BROAD = ("fs.find_delete_broad", Catastrophic, "find deletes files across the root, home or a system directory, or with no filter at all. Search only the project, with a filter, and `-print` first.");
    SHRED = ("fs.shred", Ambiguous, "Irrecoverably overwrites files. Use `rm` or `trash` unless the data must be unrecoverable.");
    SHRED_SYSTEM = ("fs.shred_system", Catastrophic, "Irrecoverably overwrites system files, keys or broad targets; nothing can be restored. Shred only the one file you mean, by name.");
    TRUNCATE = ("fs.truncate", Ambiguous, "Truncates a file, discarding its content. Copy it first if the content matters.");
    TRUNCATE_SYSTEM = ("fs.truncate_system", Catastrophic, "Truncates a system, secret or critical file, losing its content. Copy the file first, or edit only the lines you mean.");
    MV_BROAD = ("fs.mv_broad", Catastrophic, "Moves away the root, home, a system directory or the repository itself, breaking everything that uses it. Move the one file or subdirectory you mean, by name.");
    WRITE_CRITICAL = ("fs.write_critical_file", Catastrophic, "Overwrites a critical system or access-control file (passwd, sudoers, authorized_keys, cron, binaries, boot files); a mistake locks users out or opens the machine. Edit a copy and let a human install it (`visudo` for sudoers).");
    CLOBBER_SYSTEM = ("fs.clobber_system_file", Catastrophic, "Truncates and overwrites a file in a core system directory, losing its content. Append (`>>`) or edit a copy.");
    WRITE_SYSTEM = ("fs.write_system_path", Ambiguous, "Writes into a system directory, changing the machine outside the project. Write inside the project, or let a human install the file.");
    CLOBBER_SHELL_RC = ("fs.clobber_shell_rc", Catastrophic, "Overwrites a shell start-up file such as ~/.bashrc, losing the user's settings. Append (`>>`) instead.");
    APPEND_SHELL_RC = ("fs.append_shell_rc", Ambiguous, "Changes a shell start-up file such as ~/.bashrc, which runs in every new shell. Tell the user what to add instead.");
    CLOBBER_SECRET = ("fs.clobber_secret", Catastrophic, "Overwrites a private key or credential file; the old one cannot be recovered. Write to a new file name.");
    WRITE_ENV_FILE = ("fs.write_env_file", Ambiguous, "Overwrites a .env secrets file, losing its values. Append (`>>`) or write a new file.");
    CHMOD_BROAD = ("fs.chmod_broad", Catastrophic, "Changes permissions or ownership of the root, home or a system directory tree, which can lock users out or open every file. Change only the files that need it, by name.");
    CHMOD_RECURSIVE = ("fs.chmod_recursive", Ambiguous, "Recursively changes permissions or ownership. Change the files that need it by name.");
    CHMOD_SYSTEM = ("fs.chmod_system", Ambiguous, "Changes permissions or ownership of a system path. Change only the file that needs it, and say why.");
}

/// How a path is written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Write {
    /// `>`, `tee`: truncate then write.
    Clobber,
    /// `>>`, `tee -a`.
    Append,
    /// `sed -i`, editors, `cp`/`mv`/`ln` destination.
    Edit,
}

fn core_system(p: &str) -> bool {
    let n = paths::normalize(p);
    ["/etc", "/boot", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/System", "/Library"]
        .iter()
        .any(|d| n == *d || (n.starts_with(d) && n[d.len()..].starts_with('/')))
}

/// Classify a write to `w`.
pub(crate) fn write_target(cx: &mut Cx<'_>, w: &Word<'_>, mode: Write) {
    let t = w.as_str();
    if t.is_empty() || w.placeholder {
        return;
    }
    if selfprot::guarded_path(t) {
        selfprot::hit_path(cx, t, w.span.clone());
        return;
    }
    let kind = paths::kind(t);
    match kind {
        PathKind::Device => return cx.hit(&disk::WRITE_DEVICE, w.span.clone()),
        PathKind::DevNull | PathKind::Tmp | PathKind::Artifact => return,
        _ => {}
    }
    if paths::is_critical_file(t) {
        return cx.hit(&WRITE_CRITICAL, w.span.clone());
    }
    if paths::is_shell_rc(t) {
        let r = if mode == Write::Clobber { &CLOBBER_SHELL_RC } else { &APPEND_SHELL_RC };
        return cx.hit(r, w.span.clone());
    }
    match paths::secret(t) {
        Some(Secret::Key) => {
            let r = if mode == Write::Clobber { &CLOBBER_SECRET } else { &WRITE_SYSTEM };
            return cx.hit(r, w.span.clone());
        }
        Some(Secret::EnvFile) if mode == Write::Clobber => {
            return cx.hit(&WRITE_ENV_FILE, w.span.clone());
        }
        _ => {}
    }
    if matches!(kind, PathKind::SystemDir | PathKind::SystemPath | PathKind::Root) {
        let r = if mode == Write::Clobber && core_system(t) { &CLOBBER_SYSTEM } else { &WRITE_SYSTEM };
        cx.hit(r, w.span.clone());
    }
}

/// Redirections of any command (simple or compound).
/// `head -c 32 /dev/urandom > secret.key`: random bytes into a file of the
/// project (not home or system) make a new key; they reveal nothing.
fn fresh_random_file(cmd: &Cmd<'_>, target: &Word<'_>) -> bool {
    let Some(first) = cmd.words.iter().position(|w| !w.assign) else { return false };
    matches!(super::program_name(cmd.words[first].as_str()), "head" | "dd" | "openssl")
        && cmd.words[first + 1..].iter().any(|w| matches!(w.as_str(), "/dev/urandom" | "/dev/random" | "rand"))
        && !target.dynamic
        && matches!(paths::kind(target.as_str()), PathKind::Relative | PathKind::Artifact)
}

/// Every search root is a literal path inside the project (`.`, `src`,
/// `./build`) or scratch space: a filtered delete there stays in the repository.
fn confined(roots: &[&Word<'_>]) -> bool {
    roots.iter().all(|w| {
        !w.dynamic
            && !w.glob
            && matches!(
                paths::kind(w.as_str()),
                PathKind::Cwd | PathKind::Relative | PathKind::Artifact | PathKind::Tmp
            )
    })
}

pub(crate) fn check_redirects(cx: &mut Cx<'_>, cmd: &Cmd<'_>) {
    for r in &cmd.redirs {
        match r.op {
            RedirOp::Out if fresh_random_file(cmd, &r.target) => {}
            RedirOp::Out => write_target(cx, &r.target, Write::Clobber),
            RedirOp::Append => write_target(cx, &r.target, Write::Append),
            RedirOp::ReadWrite => write_target(cx, &r.target, Write::Edit),
            RedirOp::In => super::secrets::read_path(cx, &r.target),
            _ => {}
        }
    }
}

fn rm_target(cx: &mut Cx<'_>, w: &Word<'_>, recursive: bool, force: bool) {
    let t = w.as_str();
    if let Some(root) = cx.positional.clone() {
        let tb = t.as_bytes();
        if tb.len() >= 2 && tb[0] == b'$' && (tb[1].is_ascii_digit() || tb[1] == b'@' || tb[1] == b'*') {
            let p = Word {
                text: std::borrow::Cow::Owned(root),
                span: w.span.clone(),
                placeholder: true,
                ..Default::default()
            };
            return rm_target(cx, &p, recursive, force);
        }
    }
    if w.placeholder {
        let r = if BROAD.contains(&paths::kind(t)) { &RM_RUNTIME_BROAD } else { &RM_RUNTIME };
        return cx.hit(r, w.span.clone());
    }
    if selfprot::guarded_path(t) {
        return selfprot::hit_path(cx, t, w.span.clone());
    }
    if let Some(s) = w.subst.as_deref()
        && s.contains("show-toplevel")
        && recursive
    {
        return cx.hit(&RM_ROOT, w.span.clone());
    }
    if paths::secret(t) == Some(Secret::Key) {
        return cx.hit(&RM_SECRET, w.span.clone());
    }
    let kind = paths::kind(t);
    let destructive = recursive;
    let r = match kind {
        PathKind::Root | PathKind::Home | PathKind::Cwd | PathKind::Parent => {
            if destructive {
                Some(&RM_ROOT)
            } else if w.glob || force {
                Some(&RM_WILDCARD)
            } else {
                None
            }
        }
        PathKind::GitDir => Some(if recursive || force { &RM_GIT_DIR } else { &RM_RECURSIVE }),
        PathKind::SystemDir => Some(if destructive { &RM_SYSTEM_DIR } else { &RM_SYSTEM_PATH }),
        PathKind::SystemPath | PathKind::Device | PathKind::DevNull => Some(&RM_SYSTEM_PATH),
        PathKind::HomeTop => destructive.then_some(&RM_HOME_DIR),
        PathKind::HomeCache | PathKind::HomePath | PathKind::OtherAbs | PathKind::TmpRoot | PathKind::Relative => {
            destructive.then_some(&RM_RECURSIVE)
        }
        PathKind::Variable => {
            if destructive {
                let n = paths::normalize(t);
                let rest = n.trim_start_matches('$').trim_start_matches('{');
                let name_end =
                    rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '}')).unwrap_or(rest.len());
                let after = &rest[name_end..];
                if after.is_empty() || after.bytes().all(|c| matches!(c, b'/' | b'*' | b'.')) && after.starts_with('/')
                {
                    Some(&RM_UNSET_VAR)
                } else {
                    Some(&RM_VARIABLE)
                }
            } else {
                None
            }
        }
        PathKind::Tmp | PathKind::Artifact => None,
    };
    if let Some(r) = r {
        cx.hit(r, w.span.clone());
    } else if w.dynamic && recursive && w.subst.is_some() {
        cx.hit(&RM_VARIABLE, w.span.clone());
    }
}

fn is_mode(t: &str) -> bool {
    !t.is_empty()
        && (t.bytes().all(|b| b.is_ascii_digit())
            || (t.contains(['+', '-', '=']) && t.bytes().all(|b| b"ugoaXrwxst+-=,0123456789".contains(&b))))
}

/// Path kinds whose loss takes the machine or the user's whole home with it.
const BROAD: &[PathKind] = &[PathKind::Root, PathKind::Home, PathKind::HomeTop, PathKind::SystemDir];

/// What each program of the family does to its operands.
type Handler = fn(&mut Cx<'_>, &str, &[Word<'_>], &Inv<'_>);

const HANDLERS: &[(&[&str], Handler)] = &[
    (&["rm", "srm", "wipe"], remove),
    (&["rsync"], rsync),
    (&["unlink"], |cx, _, argv, _| operands(&argv[1..]).for_each(|w| rm_target(cx, w, false, false))),
    (&["shred"], shred),
    (&["truncate"], truncate),
    (&["mv", "cp", "install", "ln"], copy),
    (&["chmod", "chown", "chgrp", "setfacl", "chattr"], permissions),
    (&["tee"], tee),
    (&["sed", "gsed"], sed),
    (&["vi", "vim", "nvim", "nano", "emacs", "ed", "ex"], edit),
    (&["dd"], dd),
];

static BY_NAME: LazyLock<HashMap<&str, Handler, FnvBuild>> = LazyLock::new(|| index_handlers(HANDLERS));

pub(crate) fn check(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    if let Some(h) = BY_NAME.get(name) {
        h(cx, name, argv, inv);
    }
}

/// `rm [-rf] PATH…`: each operand by its path kind.
fn remove(cx: &mut Cx<'_>, _: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    let args = &argv[1..];
    if has_long(args, "--no-preserve-root") {
        return cx.hit(&RM_NO_PRESERVE_ROOT, argv[0].span.start..argv[argv.len() - 1].span.end);
    }
    let recursive = flag(args, 'r', "--recursive") || has_short(args, 'R');
    let force = flag(args, 'f', "--force");
    let mut any = false;
    for w in operands(args) {
        any = true;
        rm_target(cx, w, recursive, force);
    }
    if inv.runtime_args && (!any || recursive || force) {
        cx.hit(&RM_RUNTIME, argv[0].span.clone());
    }
}

/// `rsync --delete…`: the destination decides how broad the deletion is.
fn rsync(cx: &mut Cx<'_>, _: &str, argv: &[Word<'_>], _: &Inv<'_>) {
    let args = &argv[1..];
    let dest = operands(args).last();
    if args.iter().any(|a| a.as_str().starts_with("--delete") || a.as_str() == "--remove-source-files") {
        let broad = dest.is_some_and(|d| {
            let t = d.as_str();
            let t = t.rsplit_once(':').map_or(t, |(_, p)| p);
            BROAD.contains(&paths::kind(t))
        });
        let span = dest.map_or(argv[0].span.clone(), |d| d.span.clone());
        cx.hit(if broad { &RSYNC_DELETE_BROAD } else { &RSYNC_DELETE }, span);
    }
    if let Some(d) = dest
        && selfprot::guarded_path(d.as_str())
    {
        selfprot::hit_path(cx, d.as_str(), d.span.clone());
    }
}

/// Path kinds that `shred` must not touch (besides secrets and globs).
const SHRED_BROAD: &[PathKind] = &[
    PathKind::Root,
    PathKind::Home,
    PathKind::HomeTop,
    PathKind::SystemDir,
    PathKind::SystemPath,
    PathKind::Cwd,
    PathKind::Parent,
];

fn shred(cx: &mut Cx<'_>, _: &str, argv: &[Word<'_>], _: &Inv<'_>) {
    for w in operands(&argv[1..]).filter(|w| !w.as_str().bytes().all(|b| b.is_ascii_digit())) {
        let t = w.as_str();
        let kind = paths::kind(t);
        if kind == PathKind::Device {
            cx.hit(&disk::WRITE_DEVICE, w.span.clone());
        } else if selfprot::guarded_path(t) {
            selfprot::hit_path(cx, t, w.span.clone());
        } else if SHRED_BROAD.contains(&kind) || paths::secret(t).is_some() || w.glob {
            cx.hit(&SHRED_SYSTEM, w.span.clone());
        } else {
            cx.hit(&SHRED, w.span.clone());
        }
    }
}

/// Options of `truncate` that take a value.
const TRUNCATE_VALUED: &[&str] = &["-s", "--size", "-r", "--reference", "-o"];

fn truncate(cx: &mut Cx<'_>, _: &str, argv: &[Word<'_>], _: &Inv<'_>) {
    for w in operands_skipping(&argv[1..], TRUNCATE_VALUED, false) {
        let t = w.as_str();
        let kind = paths::kind(t);
        if selfprot::guarded_path(t) {
            selfprot::hit_path(cx, t, w.span.clone());
        } else if kind == PathKind::Device {
            cx.hit(&disk::WRITE_DEVICE, w.span.clone());
        } else if matches!(kind, PathKind::SystemDir | PathKind::SystemPath)
            || paths::secret(t).is_some()
            || paths::is_critical_file(t)
            || paths::is_shell_rc(t)
        {
            cx.hit(&TRUNCATE_SYSTEM, w.span.clone());
        } else if kind != PathKind::Tmp && kind != PathKind::Artifact {
            cx.hit(&TRUNCATE, w.span.clone());
        }
    }
}

/// The operands of `args` when each of `valued` takes the next word; `-` alone is an operand
/// only when `dash_operand`.
fn operands_skipping<'a, 'w>(args: &'a [Word<'w>], valued: &[&str], dash_operand: bool) -> Vec<&'a Word<'w>> {
    let mut out = Vec::new();
    let mut k = 0;
    while k < args.len() {
        let t = args[k].as_str();
        if valued.contains(&t) {
            k += 2;
            continue;
        }
        if !(t.starts_with('-') && (t.len() > 1 || !dash_operand)) {
            out.push(&args[k]);
        }
        k += 1;
    }
    out
}

/// Options of `mv`, `cp`, `install`, `ln` that take a value.
const COPY_VALUED: &[&str] =
    &["-t", "--target-directory", "-S", "--suffix", "-m", "--mode", "-o", "--owner", "-g", "--group"];
/// Path kinds that `mv` must not move away.
const MV_AWAY: &[PathKind] = &[
    PathKind::Root,
    PathKind::Home,
    PathKind::SystemDir,
    PathKind::Cwd,
    PathKind::Parent,
    PathKind::GitDir,
    PathKind::HomeTop,
];

/// `mv`/`cp`/`install`/`ln SRC… DEST`: the destination is written; `mv` also removes its sources.
fn copy(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], _: &Inv<'_>) {
    let args = &argv[1..];
    let mut ops = Vec::new();
    let mut k = 0;
    while k < args.len() {
        let t = args[k].as_str();
        if COPY_VALUED.contains(&t) {
            if matches!(t, "-t" | "--target-directory")
                && let Some(d) = args.get(k + 1)
            {
                write_target(cx, d, Write::Edit);
            }
            k += 2;
            continue;
        }
        if !(t.starts_with('-') && t.len() > 1) {
            ops.push(&args[k]);
        }
        k += 1;
    }
    let Some((&last, rest)) = ops.split_last() else { return };
    let (srcs, dest) = if rest.is_empty() { (&ops[..], None) } else { (rest, Some(last)) };
    if name == "mv" {
        for s in srcs {
            let t = s.as_str();
            if selfprot::guarded_path(t) {
                selfprot::hit_path(cx, t, s.span.clone());
                continue;
            }
            let kind = paths::kind(t);
            if MV_AWAY.contains(&kind) {
                cx.hit(&MV_BROAD, s.span.clone());
            } else if kind == PathKind::SystemPath || paths::secret(t) == Some(Secret::Key) {
                cx.hit(&WRITE_SYSTEM, s.span.clone());
            }
        }
    }
    if let Some(d) = dest {
        if name == "mv" && paths::kind(d.as_str()) == PathKind::DevNull {
            cx.hit(&RM_RECURSIVE, d.span.clone());
        } else {
            write_target(cx, d, Write::Edit);
        }
    }
}
/// `chmod`/`chown`/`chgrp`/`setfacl`/`chattr`: the mode (world-writable?) and each target's kind.
fn permissions(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], _: &Inv<'_>) {
    let args = &argv[1..];
    let recursive = has_short(args, 'R') || has_long(args, "--recursive");
    let (mode, ops) = mode_and_targets(name, args);
    let world = mode.is_some_and(|m| {
        m.ends_with("777") || m.ends_with("666") || m.contains("o+w") || m.contains("a+w") || m == "000"
    });
    for w in ops {
        let t = w.as_str();
        if selfprot::guarded_path(t) {
            selfprot::hit_path(cx, t, w.span.clone());
            continue;
        }
        let kind = paths::kind(t);
        let broad = BROAD.contains(&kind);
        if broad && (recursive || world || kind == PathKind::Root) {
            cx.hit(&CHMOD_BROAD, w.span.clone());
        } else if broad || kind == PathKind::SystemPath || (paths::is_critical_file(t) && world) {
            cx.hit(&CHMOD_SYSTEM, w.span.clone());
        } else if recursive && !matches!(kind, PathKind::Tmp | PathKind::Artifact) {
            cx.hit(&CHMOD_RECURSIVE, w.span.clone());
        }
    }
}

/// The mode (`chmod 777`, `setfacl -m …`, `chattr +i`, the owner of `chown`) and the targets.
fn mode_and_targets<'a, 'w>(name: &str, args: &'a [Word<'w>]) -> (Option<&'a str>, Vec<&'a Word<'w>>) {
    let mut ops: Vec<&Word<'_>> = Vec::new();
    let mut mode: Option<&str> = None;
    let mut k = 0;
    let mut after_dd = false;
    while k < args.len() {
        let t = args[k].as_str();
        if after_dd {
            ops.push(&args[k]);
        } else if t == "--" {
            after_dd = true;
        } else if name == "chmod" && mode.is_none() && is_mode(t) {
            mode = Some(t);
        } else if matches!(t, "-m" | "-x" | "-M" | "-X") && name == "setfacl" {
            mode = args.get(k + 1).map(|w| w.as_str());
            k += 1;
        } else if t.starts_with('-') && t.len() > 1 {
        } else if t.starts_with('+') && name == "chattr" {
            mode = Some(t);
        } else {
            ops.push(&args[k]);
        }
        k += 1;
    }
    if !matches!(name, "chmod" | "setfacl" | "chattr") && !ops.is_empty() {
        mode = Some(ops.remove(0).as_str());
    }
    (mode, ops)
}

fn tee(cx: &mut Cx<'_>, _: &str, argv: &[Word<'_>], _: &Inv<'_>) {
    let args = &argv[1..];
    let mode = if flag(args, 'a', "--append") { Write::Append } else { Write::Clobber };
    for w in operands(args) {
        write_target(cx, w, mode);
    }
}

/// Options of `sed` that take a value.
const SED_VALUED: &[&str] = &["-e", "-f", "--expression", "--file", "-l"];

/// `sed -i`: the files after the script are edited.
fn sed(cx: &mut Cx<'_>, _: &str, argv: &[Word<'_>], _: &Inv<'_>) {
    let args = &argv[1..];
    let in_place = args.iter().any(|a| {
        let t = a.as_str();
        t.starts_with("-i")
            || t == "--in-place"
            || t.starts_with("--in-place=")
            || (t.starts_with('-') && !t.starts_with("--") && t.contains('i') && t.len() <= 4)
    });
    if !in_place {
        return;
    }
    let has_script_opt = any_of(args, &SED_VALUED[..4]);
    let ops = operands_skipping(args, SED_VALUED, true);
    let files = if has_script_opt { &ops[..] } else { ops.get(1..).unwrap_or(&[]) };
    for w in files {
        write_target(cx, w, Write::Edit);
    }
}

/// Editors write the files they open (`+N` is a line number).
fn edit(cx: &mut Cx<'_>, _: &str, argv: &[Word<'_>], _: &Inv<'_>) {
    for w in operands(&argv[1..]).filter(|w| !w.as_str().starts_with('+')) {
        write_target(cx, w, Write::Edit);
    }
}

/// `dd of=…` writes, `dd if=…` reads.
fn dd(cx: &mut Cx<'_>, _: &str, argv: &[Word<'_>], _: &Inv<'_>) {
    for a in &argv[1..] {
        if let Some(of) = a.as_str().strip_prefix("of=") {
            let w = Word { text: std::borrow::Cow::Borrowed(of), span: a.span.clone(), ..Default::default() };
            write_target(cx, &w, Write::Clobber);
        }
        if let Some(i) = a.as_str().strip_prefix("if=") {
            let w = Word { text: std::borrow::Cow::Borrowed(i), span: a.span.clone(), ..Default::default() };
            super::secrets::read_path(cx, &w);
        }
    }
}

/// `find` options before the search roots.
const FIND_LEADING: &[&str] = &["-L", "-H", "-P", "-O0", "-O1", "-O2", "-O3", "-D"];
/// `find` words that do not narrow what is matched.
const FIND_UNFILTERED: &[&str] = &[
    "-print",
    "-print0",
    "-depth",
    "-maxdepth",
    "-mindepth",
    "-xdev",
    "-mount",
    "-follow",
    "-ls",
    "-prune",
    "-quit",
    "-o",
    "-or",
    "-a",
    "-and",
    "-not",
];
/// Actions that run a command per match.
const FIND_EXEC: &[&str] = &["-exec", "-execdir", "-ok", "-okdir", "-x", "--exec", "-X", "--exec-batch"];
/// Actions that write their output to a file.
const FIND_WRITE: &[&str] = &["-fprint", "-fprint0", "-fprintf", "-fls"];

/// `find … -delete`, `find … -exec CMD {} ;` and `fd -x CMD`.
pub(crate) fn find(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    let args = &argv[1..];
    let is_fd = name == "fd" || name == "fdfind";
    let (k, roots) = find_roots(args, is_fd);
    let worst_root = roots.iter().map(|w| paths::kind(w.as_str())).find(|k| BROAD.contains(k));
    let root = match worst_root {
        Some(PathKind::Root) => "/",
        Some(PathKind::Home | PathKind::HomeTop) => "~",
        Some(_) => roots.iter().find(|w| paths::kind(w.as_str()) == PathKind::SystemDir).map_or("/", |w| w.as_str()),
        None => roots.first().map_or(".", |w| w.as_str()),
    };
    let mut filtered = false;
    let mut i = k;
    while i < args.len() {
        let t = args[i].as_str();
        if t == "-delete" || t == "--delete" {
            let span = args[i].span.clone();
            if worst_root.is_some() || !filtered {
                cx.hit(&FIND_DELETE_BROAD, span);
            } else if !confined(&roots) {
                cx.hit(&FIND_DELETE, span);
            }
        } else if FIND_EXEC.contains(&t) {
            i = find_exec(cx, &args[i + 1..], is_fd, root, inv) + i + 1;
        } else if FIND_WRITE.contains(&t) {
            if let Some(w) = args.get(i + 1) {
                write_target(cx, w, Write::Clobber);
            }
            i += 1;
        } else if (t.starts_with('-') && !FIND_UNFILTERED.contains(&t)) || (is_fd && !t.starts_with('-')) {
            filtered = true;
        }
        i += 1;
    }
}

/// The search roots, and the index of the first word after them (`fd PATTERN [PATH…]`: the
/// operands after the pattern).
fn find_roots<'a, 'w>(args: &'a [Word<'w>], is_fd: bool) -> (usize, Vec<&'a Word<'w>>) {
    if is_fd {
        return (0, operands(args).skip(1).collect());
    }
    let mut k = 0;
    while k < args.len() && FIND_LEADING.contains(&args[k].as_str()) {
        k += 1;
    }
    let mut roots = Vec::new();
    while k < args.len() {
        let t = args[k].as_str();
        if t.starts_with('-') || t == "(" || t == "!" || t == ")" || t == "\\(" {
            break;
        }
        roots.push(&args[k]);
        k += 1;
    }
    (k, roots)
}

/// `-exec CMD … {} ;`: the command, run per match with `{}` standing for `root`'s files.
/// Returns the index (in `rest`) of the word that ends it.
fn find_exec(cx: &mut Cx<'_>, rest: &[Word<'_>], is_fd: bool, root: &str, inv: &Inv<'_>) -> usize {
    let mut end = 0;
    while end < rest.len() {
        let e = rest[end].as_str();
        if e == ";" || e == "\\;" || (e == "+" && end > 0 && rest[end - 1].as_str() == "{}") {
            break;
        }
        if is_fd && e.starts_with('-') && end == 0 {
            break;
        }
        end += 1;
    }
    let sub: Vec<Word<'_>> = rest[..end]
        .iter()
        .map(|w| {
            if w.as_str() == "{}" || (is_fd && matches!(w.as_str(), "{/}" | "{//}" | "{.}" | "{/.}")) {
                Word {
                    text: std::borrow::Cow::Owned(root.to_string()),
                    span: w.span.clone(),
                    placeholder: true,
                    ..Default::default()
                }
            } else {
                w.clone()
            }
        })
        .collect();
    if !sub.is_empty() {
        let inner = Inv { runtime_args: true, depth: inv.depth + 1, ..inv.clone() };
        // A placeholder program is opaque; evaluate from the real program.
        unwrap::eval_argv(cx, &sub, &inner);
    }
    end
}
