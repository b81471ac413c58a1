//! Finding a command's repository policy and repository root from its working directory.
//!
//! These are the only functions in `policy` that touch the filesystem (metadata only).

use std::path::{Path, PathBuf};

/// The per-repository policy file name.
pub const REPO_FILE_NAME: &str = ".holdfast.toml";

/// The nearest `.holdfast.toml` (a regular file, symlinks followed) in `cwd` or an ancestor,
/// up to the filesystem root.
pub fn find_repo_policy(cwd: &Path) -> Option<PathBuf> {
    cwd.ancestors().map(|dir| dir.join(REPO_FILE_NAME)).find(|p| p.is_file())
}

/// The repository `cwd` is in: the nearest ancestor holding `.git` (a directory, or a file for
/// worktrees and submodules); failing that, the directory of the nearest `.holdfast.toml`.
pub fn repo_root(cwd: &Path) -> Option<PathBuf> {
    cwd.ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
        .or_else(|| find_repo_policy(cwd).and_then(|p| p.parent().map(Path::to_path_buf)))
}

/// What one walk from `cwd` to the root finds: the nearest repository policy file and the
/// decision-memory scope. Same answers as [`find_repo_policy`] and [`memory_scope`], in one
/// pass over the ancestors (the propose path runs this for every command).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// The nearest `.holdfast.toml`, if any.
    pub repo_policy: Option<PathBuf>,
    /// The decision-memory scope.
    pub scope: PathBuf,
}

/// Walks `cwd`'s ancestors once; see [`Discovery`].
pub fn discover(cwd: &Path) -> Discovery {
    let mut repo_policy = None;
    let mut git_root = None;
    for dir in cwd.ancestors() {
        if git_root.is_none() && dir.join(".git").exists() {
            git_root = Some(dir.to_path_buf());
        }
        if repo_policy.is_none() {
            let candidate = dir.join(REPO_FILE_NAME);
            if candidate.is_file() {
                repo_policy = Some(candidate);
            }
        }
        if git_root.is_some() && repo_policy.is_some() {
            break;
        }
    }
    let scope = git_root
        .or_else(|| repo_policy.as_deref().and_then(Path::parent).map(Path::to_path_buf))
        .unwrap_or_else(|| cwd.to_path_buf());
    Discovery { repo_policy, scope }
}

/// The key decision memory is scoped by: [`repo_root`], or `cwd` itself outside any repository.
/// Computed once when a command is held and stored in its audit record, so replay never
/// re-reads the filesystem.
pub fn memory_scope(cwd: &Path) -> PathBuf {
    repo_root(cwd).unwrap_or_else(|| cwd.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_walk_agrees_with_the_separate_lookups() {
        let t = tempfile::tempdir().unwrap();
        let repo = t.path().join("repo");
        let deep = repo.join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        let plain = t.path().join("plain/x");
        std::fs::create_dir_all(&plain).unwrap();
        let check = |cwd: &Path| {
            let d = discover(cwd);
            assert_eq!(d.repo_policy, find_repo_policy(cwd), "{cwd:?}");
            assert_eq!(d.scope, memory_scope(cwd), "{cwd:?}");
        };
        check(&deep);
        check(&plain);
        std::fs::write(repo.join(REPO_FILE_NAME), "").unwrap();
        check(&deep);
        std::fs::create_dir(repo.join("a/.git")).unwrap();
        check(&deep);
        std::fs::write(t.path().join(REPO_FILE_NAME), "").unwrap();
        check(&plain);
        check(&deep);
    }
}
