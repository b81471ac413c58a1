//! One backup per config file, so `init --undo` can put back the user's exact bytes.
//!
//! The first `init` that changes a file copies it to `<file>.holdfast-backup` (0600: settings may
//! hold tokens), or, when the file did not exist, leaves an empty `<file>.holdfast-created`. Later
//! runs never take another. `--undo` restores the backup byte for byte when removing holdfast's
//! entries gives back the same settings (so nothing the user changed since is lost), removes a
//! file holdfast created, and then drops the backup.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The backup of `file`'s bytes before holdfast first changed it.
pub(crate) fn backup_path(file: &Path) -> PathBuf {
    suffixed(file, ".holdfast-backup")
}

/// The marker saying holdfast created `file`.
pub(crate) fn created_marker(file: &Path) -> PathBuf {
    suffixed(file, ".holdfast-created")
}

fn suffixed(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Takes the one backup of `file` (or the created marker) unless one exists. Returns the backup's
/// path when it was taken now.
pub(crate) fn take_once(file: &Path) -> Result<Option<PathBuf>> {
    let (backup, marker) = (backup_path(file), created_marker(file));
    if backup.exists() || marker.exists() {
        return Ok(None);
    }
    let (path, bytes) = match std::fs::read(file) {
        Ok(bytes) => (backup, bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (marker, Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    write_new(&path, &bytes)?;
    Ok(Some(path))
}

/// The original bytes, when a backup exists.
pub fn original(file: &Path) -> Option<Vec<u8>> {
    std::fs::read(backup_path(file)).ok()
}

/// True when holdfast created `file` (it did not exist before the first `init`).
pub(crate) fn was_created(file: &Path) -> bool {
    created_marker(file).exists()
}

/// Forgets the backup and the marker (after a complete undo).
pub(crate) fn forget(file: &Path) {
    let _ = std::fs::remove_file(backup_path(file));
    let _ = std::fs::remove_file(created_marker(file));
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    // create_new: a backup is never overwritten; 0600 because settings may hold tokens.
    let mut f = crate::paths::private_open_options()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot write backup {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}
