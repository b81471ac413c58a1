//! Repository policy carried by the client, for a daemon that cannot read the repository.
//!
//! In the locked posture the daemon runs under its own account and often cannot read a user's
//! repository (a home directory of mode 0700, a file of mode 0600, `ProtectHome=`). So every client
//! that proposes a command (the hook, `holdfast propose`, `holdfast exec`) reads the nearest
//! `.holdfast.toml` from the proposal's `cwd` itself ([`carry`], at most [`MAX_CARRIED`] bytes) and
//! sends its path and text in the proposal's `repo_policy` field.
//!
//! The daemon prefers its own eyes ([`choose`]): when its own walk from `cwd` finds the same file,
//! or a nearer one, and can read it, the client's text is ignored. Only when the daemon cannot read
//! the file, or cannot see it at all, does the client's text apply, compiled exactly as a file is
//! (same merge, same reports). The audit record says which source was used.
//!
//! Why trusting the client here is safe: a repository policy can only tighten (see
//! [`super::merge`]: no `[[allow]]`, no looser mode, no `[daemon]`), so a client-supplied one can
//! never loosen anything the global policy says. A client that omits it, or sends another text, can
//! do no more than the user it runs as could do to the file itself: delete or edit it.

use std::io::Read;
use std::path::Path;

use serde::Serialize;

use super::{PolicyFile, REPO_FILE_NAME, RepoLookup, RepoPolicy, find_repo_policy};
use crate::wire::CarriedPolicy;

/// Largest repository policy a client carries, in bytes (a larger file is sent without its text,
/// and the daemon fails closed if it cannot read the file itself).
pub const MAX_CARRIED: usize = 64 * 1024;

/// Client side: the nearest `.holdfast.toml` from `cwd`, with its text when it is readable UTF-8
/// of at most [`MAX_CARRIED`] bytes. `None` when there is no such file.
pub fn carry(cwd: &Path) -> Option<Box<CarriedPolicy>> {
    let path = find_repo_policy(cwd)?;
    let mut bytes = Vec::new();
    let read = std::fs::File::open(&path).and_then(|f| f.take(MAX_CARRIED as u64 + 1).read_to_end(&mut bytes));
    let text = match read {
        Ok(n) if n <= MAX_CARRIED => String::from_utf8(bytes).ok(),
        _ => None,
    };
    Some(Box::new(CarriedPolicy { path: path.to_string_lossy().into_owned(), text }))
}

/// Daemon side: why a carried policy is malformed for a proposal from `cwd`, if it is. Its path
/// must be `.holdfast.toml` in `cwd` or one of its ancestors.
pub fn check(cwd: &str, carried: &CarriedPolicy) -> Result<(), String> {
    let path = Path::new(&carried.path);
    let in_ancestor = path.file_name().is_some_and(|n| n == REPO_FILE_NAME)
        && path.parent().is_some_and(|dir| Path::new(cwd).ancestors().any(|a| a == dir));
    if carried.path.contains('\0') || !in_ancestor {
        return Err(format!("`repo_policy.path` must be {REPO_FILE_NAME} in `cwd` or one of its ancestors"));
    }
    if carried.text.as_ref().is_some_and(|t| t.len() > MAX_CARRIED) {
        return Err(format!("`repo_policy.text` must be at most {MAX_CARRIED} bytes"));
    }
    Ok(())
}

/// Whose read of the repository policy a decision used (recorded in the audit log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The daemon read the file itself.
    Daemon,
    /// The daemon could not read or see the file; the client's text was used.
    Client,
}

/// Which repository policy governs a proposal.
#[derive(Debug)]
pub enum Choice {
    /// The daemon's own lookup ([`RepoLookup::policy`]).
    Daemon,
    /// The client's carried file, compiled (`Err`: why it cannot be used; fail closed).
    Client(Box<Result<RepoPolicy, String>>),
}

/// Picks the daemon's own read of the repository policy, or the client's carried one when the
/// daemon cannot read (or see) that file. A nearer file the daemon sees always wins.
pub fn choose(lookup: &RepoLookup, carried: Option<&CarriedPolicy>) -> Choice {
    let Some(c) = carried else { return Choice::Daemon };
    let theirs = Path::new(&c.path);
    let depth = |p: &Path| p.components().count();
    match &lookup.found {
        Some(ours) if depth(ours) > depth(theirs) => Choice::Daemon,
        // The daemon's own read, good or broken, beats any text a client sends for the same file.
        Some(ours) if ours == theirs && !lookup.unreadable => Choice::Daemon,
        _ => Choice::Client(Box::new(compile(c))),
    }
}

/// Compiles a carried file exactly as [`RepoPolicy::load`] compiles one read from disk.
fn compile(c: &CarriedPolicy) -> Result<RepoPolicy, String> {
    let path = Path::new(&c.path);
    match &c.text {
        Some(text) => PolicyFile::parse(path, text).map(RepoPolicy::from_file).map_err(|e| e.to_string()),
        None => Err(format!(
            "repository policy {}: the daemon cannot read it and the client could not send it (unreadable, \
             not UTF-8, or over {MAX_CARRIED} bytes)",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn carried(path: &Path, text: Option<&str>) -> CarriedPolicy {
        CarriedPolicy { path: path.to_string_lossy().into_owned(), text: text.map(str::to_owned) }
    }

    #[test]
    fn the_daemon_prefers_its_own_read_and_a_nearer_file() {
        let t = tempfile::tempdir().unwrap();
        let repo = t.path().join("repo");
        let sub = repo.join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        let file = repo.join(REPO_FILE_NAME);
        // The daemon sees nothing: the client's text applies.
        let none = RepoLookup::find(&sub);
        let c = carried(&file, Some("[[deny]]\npattern = \"make release\"\n"));
        assert!(matches!(choose(&none, Some(&c)), Choice::Client(r) if r.is_ok()));
        assert!(matches!(choose(&none, None), Choice::Daemon));
        // The daemon reads the same file: its own read wins, whatever the client says.
        std::fs::write(&file, "").unwrap();
        let seen = RepoLookup::find(&sub);
        assert!(matches!(choose(&seen, Some(&c)), Choice::Daemon));
        // A nearer file the daemon sees wins over a farther one the client names.
        let far = carried(&t.path().join(REPO_FILE_NAME), Some(""));
        assert!(matches!(choose(&seen, Some(&far)), Choice::Daemon));
        // The client found the file but could not carry it: fail closed.
        assert!(matches!(choose(&none, Some(&carried(&file, None))), Choice::Client(r) if r.is_err()));
    }

    #[test]
    fn carried_paths_must_be_the_policy_file_of_an_ancestor() {
        let cwd = if cfg!(windows) { r"C:\r\sub" } else { "/r/sub" };
        let ok = if cfg!(windows) { r"C:\r\.holdfast.toml" } else { "/r/.holdfast.toml" };
        let elsewhere = if cfg!(windows) { r"C:\x\.holdfast.toml" } else { "/x/.holdfast.toml" };
        let other_name = if cfg!(windows) { r"C:\r\policy.toml" } else { "/r/policy.toml" };
        assert!(check(cwd, &carried(Path::new(ok), Some(""))).is_ok());
        assert!(check(cwd, &carried(Path::new(elsewhere), Some(""))).is_err());
        assert!(check(cwd, &carried(Path::new(other_name), Some(""))).is_err());
        let big = "#".repeat(MAX_CARRIED + 1);
        assert!(check(cwd, &carried(Path::new(ok), Some(&big))).is_err());
    }

    #[test]
    fn the_client_carries_the_nearest_file_within_the_bound() {
        let t = tempfile::tempdir().unwrap();
        let sub = t.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(t.path().join("a").join(REPO_FILE_NAME), "mode = \"unattended\"\n").unwrap();
        let c = carry(&sub).unwrap();
        assert_eq!(Path::new(&c.path), t.path().join("a").join(REPO_FILE_NAME));
        assert_eq!(c.text.as_deref(), Some("mode = \"unattended\"\n"));
        std::fs::write(t.path().join("a").join(REPO_FILE_NAME), "#".repeat(MAX_CARRIED + 1)).unwrap();
        assert_eq!(carry(&sub).unwrap().text, None, "too large to carry");
    }
}
