//! Filesystem destruction: `rm`, `find -delete`, `shred`, `truncate`,
//! `mv`/`cp` over system paths, `chmod`/`chown`, clobbering writes.
//!
//! Deliberate choice: `rm -rf` of a regenerable build artefact given as a
//! relative path (`node_modules`, `target`, `./build`, `dist/*`, …) is
//! **safe** — it is everyday work. Other recursive deletions of relative
//! paths (`rm -rf src/old`) are ambiguous; `rm` of single files is safe.

use super::super::cx::Cx;
use super::super::ir::{Cmd, RedirOp, Word};
use super::super::paths::{self, PathKind, Secret};
use super::super::unwrap;
use super::{Inv, disk, flag, has_long, has_short, operands, selfprot};

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
    RM_SYSTEM_PATH = ("fs.rm_system_path", Ambiguous, "Deletes files inside a system directory, which can break installed software.");
    RM_VARIABLE = ("fs.rm_variable_target", Ambiguous, "Recursively deletes a path computed at run time, which may not be what it seems. Print the path first, or use `${VAR:?}`.");
    RM_RUNTIME = ("fs.rm_runtime_targets", Ambiguous, "Deletes files whose list is only known at run time (xargs, find -exec). Run the listing alone first.");
    RM_RUNTIME_BROAD = ("fs.rm_runtime_broad", Catastrophic, "Deletes files found under the root, home or a system directory. Narrow the search to the project.");
    FIND_DELETE = ("fs.find_delete", Ambiguous, "find deletes every file matching its filters. Run it with `-print` instead of `-delete` first.");
    FIND_DELETE_BROAD = ("fs.find_delete_broad", Catastrophic, "find deletes files across the root, home or a system directory, or with no filter at all. Search only the project, with a filter, and `-print` first.");
    SHRED = ("fs.shred", Ambiguous, "Irrecoverably overwrites files. Use `rm` or `trash` unless the data must be unrecoverable.");
    SHRED_SYSTEM = ("fs.shred_system", Catastrophic, "Irrecoverably overwrites system files, keys or broad targets; nothing can be restored.");
    TRUNCATE = ("fs.truncate", Ambiguous, "Truncates a file, discarding its content. Copy it first if the content matters.");
    TRUNCATE_SYSTEM = ("fs.truncate_system", Catastrophic, "Truncates a system, secret or critical file, losing its content.");
    MV_BROAD = ("fs.mv_broad", Catastrophic, "Moves away the root, home, a system directory or the repository itself, breaking everything that uses it.");
    WRITE_CRITICAL = ("fs.write_critical_file", Catastrophic, "Overwrites a critical system or access-control file (passwd, sudoers, authorized_keys, cron, binaries, boot files); a mistake locks users out or opens the machine.");
    CLOBBER_SYSTEM = ("fs.clobber_system_file", Catastrophic, "Truncates and overwrites a file in a core system directory, losing its content. Append (`>>`) or edit a copy.");
    WRITE_SYSTEM = ("fs.write_system_path", Ambiguous, "Writes into a system directory, changing the machine outside the project.");
    CLOBBER_SHELL_RC = ("fs.clobber_shell_rc", Catastrophic, "Overwrites a shell start-up file such as ~/.bashrc, losing the user's settings. Append (`>>`) instead.");
    APPEND_SHELL_RC = ("fs.append_shell_rc", Ambiguous, "Changes a shell start-up file such as ~/.bashrc, which runs in every new shell. Tell the user what to add instead.");
    CLOBBER_SECRET = ("fs.clobber_secret", Catastrophic, "Overwrites a private key or credential file; the old one cannot be recovered. Write to a new file name.");
    WRITE_ENV_FILE = ("fs.write_env_file", Ambiguous, "Overwrites a .env secrets file, losing its values. Append (`>>`) or write a new file.");
    CHMOD_BROAD = ("fs.chmod_broad", Catastrophic, "Changes permissions or ownership of the root, home or a system directory tree, which can lock users out or open every file.");
    CHMOD_RECURSIVE = ("fs.chmod_recursive", Ambiguous, "Recursively changes permissions or ownership. Change the files that need it by name.");
    CHMOD_SYSTEM = ("fs.chmod_system", Ambiguous, "Changes permissions or ownership of a system path.");
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
        let r = match paths::kind(t) {
            PathKind::Root | PathKind::Home | PathKind::HomeTop | PathKind::SystemDir => &RM_RUNTIME_BROAD,
            _ => &RM_RUNTIME,
        };
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

pub(crate) fn check(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    let args = &argv[1..];
    match name {
        "rm" | "srm" | "wipe" => {
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
        "rsync" => {
            if args.iter().any(|a| a.as_str().starts_with("--delete") || a.as_str() == "--remove-source-files") {
                let dest = operands(args).last();
                let broad = dest.is_some_and(|d| {
                    let t = d.as_str();
                    let t = t.rsplit_once(':').map_or(t, |(_, p)| p);
                    matches!(paths::kind(t), PathKind::Root | PathKind::Home | PathKind::HomeTop | PathKind::SystemDir)
                });
                let span = dest.map_or(argv[0].span.clone(), |d| d.span.clone());
                cx.hit(if broad { &RSYNC_DELETE_BROAD } else { &RSYNC_DELETE }, span);
            }
            if let Some(d) = operands(args).last()
                && selfprot::guarded_path(d.as_str())
            {
                selfprot::hit_path(cx, d.as_str(), d.span.clone());
            }
        }
        "unlink" => {
            for w in operands(args) {
                rm_target(cx, w, false, false);
            }
        }
        "shred" => {
            for w in operands(args).filter(|w| !w.as_str().bytes().all(|b| b.is_ascii_digit())) {
                let t = w.as_str();
                let kind = paths::kind(t);
                if kind == PathKind::Device {
                    cx.hit(&disk::WRITE_DEVICE, w.span.clone());
                } else if selfprot::guarded_path(t) {
                    selfprot::hit_path(cx, t, w.span.clone());
                } else if matches!(
                    kind,
                    PathKind::Root
                        | PathKind::Home
                        | PathKind::HomeTop
                        | PathKind::SystemDir
                        | PathKind::SystemPath
                        | PathKind::Cwd
                        | PathKind::Parent
                ) || paths::secret(t).is_some()
                    || w.glob
                {
                    cx.hit(&SHRED_SYSTEM, w.span.clone());
                } else {
                    cx.hit(&SHRED, w.span.clone());
                }
            }
        }
        "truncate" => {
            let mut k = 0;
            while k < args.len() {
                let t = args[k].as_str();
                if matches!(t, "-s" | "--size" | "-r" | "--reference" | "-o") {
                    k += 2;
                    continue;
                }
                if t.starts_with('-') {
                    k += 1;
                    continue;
                }
                let w = &args[k];
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
                k += 1;
            }
        }
        "mv" | "cp" | "install" | "ln" => {
            let ops: Vec<&Word<'_>> = {
                let mut v = Vec::new();
                let mut k = 0;
                while k < args.len() {
                    let t = args[k].as_str();
                    if matches!(
                        t,
                        "-t" | "--target-directory"
                            | "-S"
                            | "--suffix"
                            | "-m"
                            | "--mode"
                            | "-o"
                            | "--owner"
                            | "-g"
                            | "--group"
                    ) {
                        if (t == "-t" || t == "--target-directory")
                            && let Some(d) = args.get(k + 1)
                        {
                            write_target(cx, d, Write::Edit);
                        }
                        k += 2;
                        continue;
                    }
                    if t.starts_with('-') && t.len() > 1 {
                        if let Some(d) = t.strip_prefix("--target-directory=") {
                            let _ = d;
                        }
                        k += 1;
                        continue;
                    }
                    v.push(&args[k]);
                    k += 1;
                }
                v
            };
            if ops.is_empty() {
                return;
            }
            let (srcs, dest) =
                if ops.len() >= 2 { (&ops[..ops.len() - 1], Some(ops[ops.len() - 1])) } else { (&ops[..], None) };
            if name == "mv" {
                for s in srcs {
                    let t = s.as_str();
                    if selfprot::guarded_path(t) {
                        selfprot::hit_path(cx, t, s.span.clone());
                        continue;
                    }
                    match paths::kind(t) {
                        PathKind::Root
                        | PathKind::Home
                        | PathKind::SystemDir
                        | PathKind::Cwd
                        | PathKind::Parent
                        | PathKind::GitDir
                        | PathKind::HomeTop => cx.hit(&MV_BROAD, s.span.clone()),
                        PathKind::SystemPath => cx.hit(&WRITE_SYSTEM, s.span.clone()),
                        _ => {
                            if paths::secret(t) == Some(Secret::Key) {
                                cx.hit(&WRITE_SYSTEM, s.span.clone());
                            }
                        }
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
        "chmod" | "chown" | "chgrp" | "setfacl" | "chattr" => {
            let recursive = has_short(args, 'R') || has_long(args, "--recursive");
            let mut ops: Vec<&Word<'_>> = Vec::new();
            let mut mode: Option<&str> = None;
            let mut k = 0;
            let mut after_dd = false;
            while k < args.len() {
                let t = args[k].as_str();
                if !after_dd && t == "--" {
                    after_dd = true;
                } else if !after_dd && name == "chmod" && mode.is_none() && is_mode(t) {
                    mode = Some(t);
                } else if !after_dd && matches!(t, "-m" | "-x" | "-M" | "-X") && name == "setfacl" {
                    mode = args.get(k + 1).map(|w| w.as_str());
                    k += 1;
                } else if !after_dd && t.starts_with('-') && t.len() > 1 {
                } else if !after_dd && t.starts_with('+') && name == "chattr" {
                    mode = Some(t);
                } else {
                    ops.push(&args[k]);
                }
                k += 1;
            }
            if name != "chmod" && name != "setfacl" && name != "chattr" && !ops.is_empty() {
                mode = Some(ops.remove(0).as_str());
            }
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
                let broad = matches!(kind, PathKind::Root | PathKind::Home | PathKind::SystemDir | PathKind::HomeTop);
                if broad && (recursive || world || matches!(kind, PathKind::Root)) {
                    cx.hit(&CHMOD_BROAD, w.span.clone());
                } else if broad || kind == PathKind::SystemPath || (paths::is_critical_file(t) && world) {
                    cx.hit(&CHMOD_SYSTEM, w.span.clone());
                } else if recursive && !matches!(kind, PathKind::Tmp | PathKind::Artifact) {
                    cx.hit(&CHMOD_RECURSIVE, w.span.clone());
                }
            }
        }
        "tee" => {
            let append = flag(args, 'a', "--append");
            for w in operands(args) {
                write_target(cx, w, if append { Write::Append } else { Write::Clobber });
            }
        }
        "sed" | "gsed" => {
            let in_place = args.iter().any(|a| {
                let t = a.as_str();
                t == "-i"
                    || t.starts_with("-i")
                    || t == "--in-place"
                    || t.starts_with("--in-place=")
                    || (t.starts_with('-') && !t.starts_with("--") && t.contains('i') && t.len() <= 4)
            });
            if !in_place {
                return;
            }
            let has_script_opt = args.iter().any(|a| matches!(a.as_str(), "-e" | "-f" | "--expression" | "--file"));
            let mut ops: Vec<&Word<'_>> = Vec::new();
            let mut k = 0;
            while k < args.len() {
                let t = args[k].as_str();
                if matches!(t, "-e" | "-f" | "--expression" | "--file" | "-l") {
                    k += 2;
                    continue;
                }
                if t.starts_with('-') && t.len() > 1 {
                    k += 1;
                    continue;
                }
                ops.push(&args[k]);
                k += 1;
            }
            let files = if has_script_opt { &ops[..] } else { ops.get(1..).unwrap_or(&[]) };
            for w in files {
                write_target(cx, w, Write::Edit);
            }
        }
        "vi" | "vim" | "nvim" | "nano" | "emacs" | "ed" | "ex" => {
            for w in operands(args).filter(|w| !w.as_str().starts_with('+')) {
                write_target(cx, w, Write::Edit);
            }
        }
        "dd" => {
            for a in args {
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
        _ => {}
    }
}

/// `find … -delete`, `find … -exec CMD {} ;` and `fd -x CMD`.
pub(crate) fn find(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    let args = &argv[1..];
    let is_fd = name == "fd" || name == "fdfind";
    let mut roots: Vec<&Word<'_>> = Vec::new();
    let mut k = 0;
    if !is_fd {
        while k < args.len() && matches!(args[k].as_str(), "-L" | "-H" | "-P" | "-O0" | "-O1" | "-O2" | "-O3" | "-D") {
            k += 1;
        }
        while k < args.len() {
            let t = args[k].as_str();
            if t.starts_with('-') || t == "(" || t == "!" || t == ")" || t == "\\(" {
                break;
            }
            roots.push(&args[k]);
            k += 1;
        }
    } else {
        // fd PATTERN [PATH…]: roots are the operands after the pattern.
        let ops: Vec<&Word<'_>> = operands(args).collect();
        roots.extend(ops.iter().skip(1));
    }
    let root_text = roots.first().map(|w| w.as_str().to_string()).unwrap_or_else(|| ".".to_string());
    let worst_root = roots
        .iter()
        .map(|w| paths::kind(w.as_str()))
        .find(|k| matches!(k, PathKind::Root | PathKind::Home | PathKind::HomeTop | PathKind::SystemDir));
    let root_for_placeholder = match worst_root {
        Some(PathKind::Root) => "/".to_string(),
        Some(PathKind::Home) | Some(PathKind::HomeTop) => "~".to_string(),
        Some(PathKind::SystemDir) => roots
            .iter()
            .find(|w| paths::kind(w.as_str()) == PathKind::SystemDir)
            .map(|w| w.as_str().to_string())
            .unwrap_or_else(|| "/".to_string()),
        _ => root_text.clone(),
    };
    let mut filtered = false;
    let mut i = k;
    while i < args.len() {
        let t = args[i].as_str();
        match t {
            "-delete" | "--delete" => {
                let span = args[i].span.clone();
                if worst_root.is_some() || !filtered {
                    cx.hit(&FIND_DELETE_BROAD, span);
                } else if !confined(&roots) {
                    cx.hit(&FIND_DELETE, span);
                }
            }
            "-exec" | "-execdir" | "-ok" | "-okdir" | "-x" | "--exec" | "-X" | "--exec-batch" => {
                let start = i + 1;
                let mut end = start;
                while end < args.len() {
                    let e = args[end].as_str();
                    if e == ";" || e == "\\;" || (e == "+" && end > start && args[end - 1].as_str() == "{}") {
                        break;
                    }
                    if is_fd && (e.starts_with('-') && end == start) {
                        break;
                    }
                    end += 1;
                }
                let sub: Vec<Word<'_>> = args[start..end]
                    .iter()
                    .map(|w| {
                        if w.as_str() == "{}" || (is_fd && matches!(w.as_str(), "{}" | "{/}" | "{//}" | "{.}" | "{/.}"))
                        {
                            Word {
                                text: std::borrow::Cow::Owned(root_for_placeholder.clone()),
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
                    // `-exec rm …` with no `{}` still deletes what it names.
                }
                i = end;
            }
            "-fprint" | "-fprint0" | "-fprintf" | "-fls" => {
                if let Some(w) = args.get(i + 1) {
                    write_target(cx, w, Write::Clobber);
                }
                i += 1;
            }
            _ => {
                if t.starts_with('-')
                    && !matches!(
                        t,
                        "-print"
                            | "-print0"
                            | "-depth"
                            | "-maxdepth"
                            | "-mindepth"
                            | "-xdev"
                            | "-mount"
                            | "-follow"
                            | "-ls"
                            | "-prune"
                            | "-quit"
                            | "-o"
                            | "-or"
                            | "-a"
                            | "-and"
                            | "-not"
                    )
                {
                    filtered = true;
                }
                if is_fd && !t.starts_with('-') {
                    filtered = true;
                }
            }
        }
        i += 1;
    }
}
