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

/// The key decision memory is scoped by: [`repo_root`], or `cwd` itself outside any repository.
/// Computed once when a command is held and stored in its audit record, so replay never
/// re-reads the filesystem.
pub fn memory_scope(cwd: &Path) -> PathBuf {
    repo_root(cwd).unwrap_or_else(|| cwd.to_path_buf())
}
