//! git: history rewriting, force pushes, discarding work, config that runs programs.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::super::cx::Cx;
use super::super::ir::Word;
use super::names::FnvBuild;
use std::ops::Range;

use super::table::{Arm, ArmIndex, always, first_arm, index_arms, index_handlers};
use super::{Inv, any_of, flag, has_long, has_short, operands};

rules! {
    FORCE_PUSH = ("git.force_push", Catastrophic, "Force-pushes, overwriting the remote branch's history; others' commits there are lost. Use `--force-with-lease` on your own branch, or push a new branch.");
    FORCE_PUSH_LEASE = ("git.force_push_lease", Ambiguous, "Force-pushes with a lease; remote commits you have fetched but not merged are overwritten. Push a new branch if unsure.");
    PUSH_MIRROR = ("git.push_mirror", Catastrophic, "Mirror-pushes, overwriting and deleting every remote ref that is not local. Push the branches you mean by name.");
    PUSH_DELETE = ("git.push_delete", Ambiguous, "Deletes a branch or tag on the remote. Keep a local copy of the branch so it can be pushed back.");
    PUSH_DELETE_PROTECTED = ("git.push_delete_protected", Catastrophic, "Deletes a main/release branch on the remote. Let a human delete it in the hosting settings.");
    RESET_HARD = ("git.reset_hard", Catastrophic, "Discards all uncommitted changes irrecoverably (git reset --hard). Run `git stash` first, or use `git reset --keep`.");
    CLEAN_FORCE = ("git.clean_force", Catastrophic, "Deletes untracked (and possibly ignored) files irrecoverably (git clean -f). Run `git clean -n` first to see the list.");
    BRANCH_FORCE_DELETE = ("git.branch_force_delete", Ambiguous, "Force-deletes a branch, losing its unmerged commits. Use `git branch -d`, which refuses when commits would be lost.");
    DISCARD_ALL = ("git.discard_all", Catastrophic, "Discards every uncommitted change in the working tree (checkout/restore .). Run `git stash` first.");
    DISCARD_PATHS = ("git.discard_paths", Ambiguous, "Discards uncommitted changes to the named files. Run `git stash` or `git diff > backup.patch` first.");
    STASH_CLEAR = ("git.stash_clear", Catastrophic, "Deletes every stash irrecoverably. Drop the one stash you mean with `git stash drop stash@{N}` after `git stash list`.");
    STASH_DROP = ("git.stash_drop", Ambiguous, "Deletes a stash entry and its saved changes. Check it with `git stash show -p` first.");
    FILTER_BRANCH = ("git.rewrite_history", Catastrophic, "Rewrites the whole repository history (filter-branch / filter-repo); every clone diverges. Work on a fresh clone and let a human push it.");
    UPDATE_REF_DELETE = ("git.update_ref_delete", Ambiguous, "Deletes a ref directly, bypassing safety checks. Use `git branch -d` or `git tag -d`, which check first.");
    REFLOG_EXPIRE = ("git.reflog_expire", Ambiguous, "Expires reflog entries, removing the safety net for lost commits. Leave expiry to `git gc`'s defaults.");
    REFLOG_EXPIRE_NOW = ("git.reflog_expire_now", Catastrophic, "Expires the whole reflog immediately, making lost commits unrecoverable. Leave expiry to `git gc`'s defaults.");
    GC_PRUNE_NOW = ("git.gc_prune_now", Ambiguous, "Prunes unreachable objects immediately, making lost commits unrecoverable. Run `git gc` without `--prune=now`; the default keeps two weeks.");
    CONFIG_EXEC = ("git.config_exec", Ambiguous, "Sets a git option that makes git run an arbitrary program. Run the program yourself instead of through git config.");
    HOOKS_BYPASS = ("git.hooks_path", Ambiguous, "Redirects or disables the repository's git hooks. Fix what the hook reports instead of bypassing it.");
    SWITCH_DISCARD = ("git.switch_discard", Ambiguous, "Switches branch discarding local changes. Run `git stash` first.");
    WORKTREE_FORCE = ("git.worktree_remove_force", Ambiguous, "Force-removes a worktree with its uncommitted changes. Commit or stash in the worktree, then remove it without `--force`.");
    GH_UNPROTECT = ("git.gh_unprotect", Catastrophic, "Removes a branch protection or deletes a repository through the GitHub API, letting anyone force-push or delete it. Change protection in the repository settings with a human.");
    GH_API_WRITE = ("git.gh_api_write", Ambiguous, "Deletes or rewrites GitHub resources (refs, protection, settings) through the API. Use the matching `gh` subcommand, which asks before deleting.");
    REPO_DELETE = ("git.repo_delete", Catastrophic, "Deletes a hosted repository with its issues, pull requests and history. Archive it instead (`gh repo archive`).");
}

fn protected(branch: &str) -> bool {
    let b = branch.trim_start_matches('+').trim_start_matches("refs/heads/");
    let b = b.rsplit(':').next().unwrap_or(b);
    matches!(
        b,
        "main"
            | "master"
            | "trunk"
            | "develop"
            | "dev"
            | "production"
            | "prod"
            | "staging"
            | "stable"
            | "HEAD"
            | "gh-pages"
    ) || b.starts_with("release")
}

/// git options whose value is a shell command.
fn exec_key(key: &str) -> Option<bool> {
    let k = key.to_ascii_lowercase();
    if k.starts_with("alias.") {
        return Some(true);
    }
    let shell = matches!(
        k.as_str(),
        "core.sshcommand"
            | "core.pager"
            | "core.editor"
            | "core.fsmonitor"
            | "sequence.editor"
            | "core.askpass"
            | "gpg.program"
            | "core.gitproxy"
            | "diff.external"
            | "credential.helper"
            | "uploadpack.packobjectshook"
            | "pager.log"
            | "pager.diff"
            | "pager.show"
            | "sendemail.sendmailcmd"
            | "gpg.ssh.program"
            | "ssh.variant"
    ) || (k.starts_with("filter.")
        && (k.ends_with(".clean") || k.ends_with(".smudge") || k.ends_with(".process")))
        || (k.starts_with("diff.") && (k.ends_with(".textconv") || k.ends_with(".command")))
        || (k.starts_with("merge.") && k.ends_with(".driver"))
        || (k.starts_with("pager."))
        || k.starts_with("core.hookspath")
        || k.starts_with("protocol.") && k.ends_with(".allow");
    shell.then_some(true)
}

fn config_value(cx: &mut Cx<'_>, key: &str, value: Option<&str>, w: &Word<'_>, depth: u32) {
    let k = key.to_ascii_lowercase();
    if k == "core.hookspath" {
        return cx.hit(&HOOKS_BYPASS, w.span.clone());
    }
    if k.starts_with("protocol.") {
        if value.is_some_and(|v| v == "always") {
            cx.hit(&CONFIG_EXEC, w.span.clone());
        }
        return;
    }
    if exec_key(key).is_none() {
        return;
    }
    if k.starts_with("alias.") {
        // Aliases only run programs when they start with `!`.
        match value {
            Some(v) if v.trim_start().starts_with('!') => {
                cx.hit(&CONFIG_EXEC, w.span.clone());
                let code = v.trim_start().trim_start_matches('!').to_string();
                let origin = super::super::cx::Origin { base: w.span.start, pin: Some(w.span.clone()) };
                cx.run_code(&code, &origin, depth + 1);
            }
            // `git -c alias.x='reset --hard' x`: the body is a git command line.
            Some(v) => {
                let code = format!("git {v}");
                let origin = super::super::cx::Origin { base: w.span.start, pin: Some(w.span.clone()) };
                cx.run_code(&code, &origin, depth + 1);
            }
            None => {}
        }
        return;
    }
    if let Some(v) = value {
        if matches!(k.as_str(), "core.editor" | "core.pager" | "sequence.editor")
            && matches!(
                v.trim(),
                "vim"
                    | "vi"
                    | "nvim"
                    | "nano"
                    | "emacs"
                    | "code --wait"
                    | "cat"
                    | "less"
                    | "less -R"
                    | "delta"
                    | "true"
                    | ""
                    | "code -w"
                    | "subl -w"
            )
        {
            return;
        }
        if k == "credential.helper" && !v.starts_with('!') {
            return;
        }
        let origin = super::super::cx::Origin { base: w.span.start, pin: Some(w.span.clone()) };
        cx.run_code(v, &origin, depth + 1);
    }
    cx.hit(&CONFIG_EXEC, w.span.clone());
}

/// `GIT_CONFIG_PARAMETERS="'alias.x=reset --hard'"`: each quoted `key=value` is inline config.
pub(crate) fn config_parameters(cx: &mut Cx<'_>, w: &Word<'_>, depth: u32) {
    let value = w.as_str().split_once('=').map_or("", |(_, v)| v);
    for item in value.split('\'').map(str::trim).filter(|s| !s.is_empty()) {
        let (k, v) = match item.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (item, None),
        };
        config_value(cx, k, v, w, depth);
    }
}

/// Long options git accepts abbreviated (`--forc`, `--har`, `--mir`) with the
/// shortest prefix treated as the option.
const ABBREVIATED: &[(&str, usize)] = &[("--force", 5), ("--mirror", 5), ("--hard", 4), ("--delete", 5)];

/// `argv` with abbreviated dangerous long options spelled out, when there are any.
fn expand_abbreviations<'w>(argv: &[Word<'w>]) -> Option<Vec<Word<'w>>> {
    let full = |t: &str| {
        ABBREVIATED.iter().find(|(l, min)| t.len() >= *min && t.len() < l.len() && l.starts_with(t)).map(|(l, _)| *l)
    };
    if !argv.iter().any(|w| full(w.as_str()).is_some()) {
        return None;
    }
    Some(
        argv.iter()
            .map(|w| match full(w.as_str()) {
                Some(l) => Word { text: std::borrow::Cow::Borrowed(l), ..w.clone() },
                None => w.clone(),
            })
            .collect(),
    )
}

/// `gh api [-X|--method] DELETE|PUT|PATCH …` on protection, refs or the repository itself.
fn gh_api(cx: &mut Cx<'_>, argv: &[Word<'_>]) {
    let args = &argv[1..];
    if args.first().map(|w| w.as_str()) != Some("api") {
        return;
    }
    let method = args.iter().enumerate().find_map(|(k, a)| {
        let t = a.as_str();
        match t {
            "-X" | "--method" => args.get(k + 1).map(|v| v.as_str().to_ascii_uppercase()),
            _ => t
                .strip_prefix("--method=")
                .or_else(|| t.strip_prefix("-X"))
                .filter(|r| !r.is_empty())
                .map(str::to_ascii_uppercase),
        }
    });
    let Some(method) = method.filter(|m| matches!(m.as_str(), "DELETE" | "PUT" | "PATCH" | "POST")) else { return };
    let whole = argv[0].span.start..argv[argv.len() - 1].span.end;
    let endpoint = args
        .iter()
        .skip(1)
        .map(|w| w.as_str().trim_start_matches('/'))
        .find(|t| t.starts_with("repos/") || t.starts_with("orgs/"));
    let Some(ep) = endpoint else {
        return cx.hit(&GH_API_WRITE, whole);
    };
    let segments = ep.trim_end_matches('/').split('/').count();
    if method == "DELETE" && (ep.contains("/protection") || (ep.starts_with("repos/") && segments == 3)) {
        cx.hit(&GH_UNPROTECT, whole);
    } else if method == "DELETE" || ep.contains("/protection") || ep.contains("/rulesets") {
        cx.hit(&GH_API_WRITE, whole);
    }
}

/// Subcommands whose verdict is a rule over their flags and first operands (first arm wins).
const ARMS: &[Arm] = &[
    Arm { on: &["reset"], path: &[], when: |a, _| has_long(a, "--hard"), rule: &RESET_HARD },
    Arm {
        on: &["clean"],
        path: &[],
        when: |a, _| flag(a, 'f', "--force") && !flag(a, 'n', "--dry-run"),
        rule: &CLEAN_FORCE,
    },
    Arm {
        on: &["branch"],
        path: &[],
        when: |a, _| has_short(a, 'D') || (flag(a, 'd', "--delete") && flag(a, 'f', "--force")),
        rule: &BRANCH_FORCE_DELETE,
    },
    Arm {
        on: &["switch"],
        path: &[],
        when: |a, _| flag(a, 'f', "--force") || has_long(a, "--discard-changes"),
        rule: &SWITCH_DISCARD,
    },
    Arm { on: &["stash"], path: &["clear"], when: always, rule: &STASH_CLEAR },
    Arm { on: &["stash"], path: &["drop"], when: always, rule: &STASH_DROP },
    Arm { on: &["filter-branch", "filter-repo"], path: &[], when: always, rule: &FILTER_BRANCH },
    Arm {
        on: &["update-ref"],
        path: &[],
        when: |a, _| flag(a, 'd', "--delete") || has_long(a, "--stdin"),
        rule: &UPDATE_REF_DELETE,
    },
    Arm { on: &["reflog"], path: &["expire"], when: |a, _| any_of(a, EXPIRE_NOW), rule: &REFLOG_EXPIRE_NOW },
    Arm { on: &["reflog"], path: &["expire|delete"], when: always, rule: &REFLOG_EXPIRE },
    Arm { on: &["gc"], path: &[], when: |a, _| any_of(a, PRUNE_NOW), rule: &GC_PRUNE_NOW },
    Arm {
        on: &["prune"],
        path: &[],
        when: |a, _| any_of(a, PRUNE_NOW) || any_of(a, &["--expire"]),
        rule: &GC_PRUNE_NOW,
    },
    Arm { on: &["worktree"], path: &["remove"], when: |a, _| flag(a, 'f', "--force"), rule: &WORKTREE_FORCE },
];

static INDEX: LazyLock<ArmIndex> = LazyLock::new(|| index_arms(ARMS));

const EXPIRE_NOW: &[&str] =
    &["--expire=now", "--expire=all", "--expire-unreachable=now", "--expire-unreachable=all", "--expire=0"];
const PRUNE_NOW: &[&str] = &["--prune=now", "--prune=all", "--expire=now"];

/// A subcommand that reads its operands itself: gets its arguments, their operands and the span.
type Handler = fn(&mut Cx<'_>, &str, &[Word<'_>], &[&str], Range<usize>, u32);

const HANDLERS: &[(&[&str], Handler)] =
    &[(&["push"], push), (&["checkout", "restore"], discard), (&["config"], config)];

static BY_NAME: LazyLock<HashMap<&str, Handler, FnvBuild>> = LazyLock::new(|| index_handlers(HANDLERS));

/// Options before the subcommand that take a value (`git -C dir …`).
const VALUED_GLOBALS: &[&str] =
    &["-C", "--git-dir", "--work-tree", "--namespace", "--exec-path", "--super-prefix", "--config-env"];

pub(crate) fn check(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    if let Some(expanded) = expand_abbreviations(argv) {
        return check(cx, name, &expanded, inv);
    }
    let whole = argv[0].span.start..argv[argv.len() - 1].span.end;
    if name == "git-filter-repo" {
        return cx.hit(&FILTER_BRANCH, whole);
    }
    if name == "gh" {
        let ops: Vec<&str> = operands(&argv[1..]).map(|w| w.as_str()).collect();
        if ops.len() >= 2 && ops[0] == "repo" && ops[1] == "delete" {
            cx.hit(&REPO_DELETE, whole);
        }
        return gh_api(cx, argv);
    }
    let i = global_options(cx, argv, inv.depth);
    let Some(sub) = argv.get(i) else { return };
    let args = &argv[i + 1..];
    let ops: Vec<&str> = operands(args).map(|w| w.as_str()).collect();
    let span = sub.span.start..argv[argv.len() - 1].span.end;
    let sub = sub.as_str();
    if let Some(h) = BY_NAME.get(sub) {
        h(cx, sub, args, &ops, span, inv.depth);
    } else if let Some(r) = first_arm(&INDEX, sub, args, &ops) {
        cx.hit(r, span);
    }
}

/// Skips git's global options (checking `-c key=value` as config); the index of the subcommand.
fn global_options(cx: &mut Cx<'_>, argv: &[Word<'_>], depth: u32) -> usize {
    let mut i = 1;
    while i < argv.len() {
        let t = argv[i].as_str();
        if t == "-c" {
            if let Some(w) = argv.get(i + 1) {
                let (k, v) = match w.as_str().split_once('=') {
                    Some((k, v)) => (k, Some(v)),
                    None => (w.as_str(), None),
                };
                config_value(cx, k, v, w, depth);
            }
            i += 2;
        } else if VALUED_GLOBALS.contains(&t) {
            i += 2;
        } else if t.starts_with('-') {
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// `git push`: mirror, deleted refs (protected or not), force (with or without a lease), prune.
fn push(cx: &mut Cx<'_>, _: &str, args: &[Word<'_>], ops: &[&str], span: Range<usize>, _: u32) {
    if has_long(args, "--mirror") {
        return cx.hit(&PUSH_MIRROR, span);
    }
    let force = has_long(args, "--force") || has_short(args, 'f');
    let lease = has_long(args, "--force-with-lease") || has_long(args, "--force-if-includes");
    let delete = has_long(args, "--delete") || has_short(args, 'd');
    let refs = ops.get(1..).unwrap_or(&[]);
    let plus = refs.iter().any(|r| r.starts_with('+'));
    let colon_delete = refs.iter().find(|r| r.starts_with(':') && r.len() > 1);
    if delete || colon_delete.is_some() {
        let targets = if delete { refs } else { colon_delete.map(std::slice::from_ref).unwrap_or(&[]) };
        let protected_target = targets.iter().any(|r| protected(r.trim_start_matches(':')));
        cx.hit(if protected_target { &PUSH_DELETE_PROTECTED } else { &PUSH_DELETE }, span.clone());
    }
    if force || plus {
        cx.hit(&FORCE_PUSH, span);
    } else if lease {
        cx.hit(if refs.iter().any(|r| protected(r)) { &FORCE_PUSH } else { &FORCE_PUSH_LEASE }, span);
    } else if has_long(args, "--prune") {
        cx.hit(&PUSH_DELETE, span);
    }
}

/// Pathspecs that name the whole working tree.
const ALL_PATHS: &[&str] = &[".", "*", ":/", "./", ":/*", "/"];

/// `git checkout|restore [<rev>] [--] <paths>`: discarding uncommitted changes.
fn discard(cx: &mut Cx<'_>, sub: &str, args: &[Word<'_>], ops: &[&str], span: Range<usize>, _: u32) {
    let restore = sub == "restore";
    if restore && flag(args, 'S', "--staged") && !flag(args, 'W', "--worktree") {
        return;
    }
    let paths: Vec<&str> = match args.iter().position(|a| a.as_str() == "--") {
        Some(p) => args[p + 1..].iter().map(|w| w.as_str()).collect(),
        None if restore => ops.to_vec(),
        None => ops.iter().copied().filter(|w| ALL_PATHS[..4].contains(w)).collect(),
    };
    if paths.iter().any(|w| ALL_PATHS.contains(w)) {
        cx.hit(&DISCARD_ALL, span);
    } else if !paths.is_empty() {
        cx.hit(&DISCARD_PATHS, span);
    } else if !restore && flag(args, 'f', "--force") {
        cx.hit(&SWITCH_DISCARD, span);
    }
}

/// `git config` reads of any kind change nothing.
const CONFIG_READS: &[&str] =
    &["--get", "--get-all", "--list", "-l", "--unset", "--get-regexp", "get", "list", "--show-origin"];

/// `git config [set] KEY VALUE`: a key that runs a program.
fn config(cx: &mut Cx<'_>, _: &str, args: &[Word<'_>], _: &[&str], _: Range<usize>, depth: u32) {
    if any_of(args, CONFIG_READS) {
        return;
    }
    let mut k = 0;
    let mut key_val: Vec<&Word<'_>> = Vec::new();
    while k < args.len() {
        let t = args[k].as_str();
        if matches!(t, "-f" | "--file" | "--blob" | "--type") {
            k += 2;
            continue;
        }
        if !(t.starts_with('-') || (key_val.is_empty() && matches!(t, "set" | "unset"))) {
            key_val.push(&args[k]);
        }
        k += 1;
    }
    if let [kw, v, ..] = key_val[..] {
        config_value(cx, kw.as_str(), Some(v.as_str()), kw, depth);
    }
}
