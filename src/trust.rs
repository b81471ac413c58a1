//! The locked posture's client side: where a system daemon is installed, clients believe only it.
//!
//! `holdfast service install --system` writes the marker [`SYSTEM_MARKER`] (root-owned, 0644): the
//! daemon account, its uid and gid, its directories and socket, and how to start it. When the marker
//! is present every client (the hook, the CLI, the watcher) checks, before it believes an answer:
//! - the socket's directory and the socket are owned by the daemon's uid, and the directory is not
//!   writable by anyone else (nobody else can plant or replace the socket);
//! - the connected peer's uid (`SO_PEERCRED` / `getpeereid`) is the daemon's uid (a socket served by
//!   anyone else, wherever `HOLDFAST_SOCKET` points, is refused).
//!
//! And when the system daemon cannot be reached the client reports an error
//! rather than "not running" (`TrustError::SupervisedDown`), so the hook denies instead of taking the
//! personal fallback.
//!
//! A marker that exists but could have been written by someone other than root is itself refused:
//! every client then fails closed. `HOLDFAST_SYSTEM` names another marker (tests, staged installs);
//! it is read only when [`SYSTEM_MARKER`] does not exist, so it can add the checks, never remove them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where `service install --system` writes the marker.
pub const SYSTEM_MARKER: &str = "/etc/holdfast.toml";
/// Environment variable naming another marker, consulted only when [`SYSTEM_MARKER`] is absent.
pub(crate) const SYSTEM_MARKER_ENV: &str = "HOLDFAST_SYSTEM";
/// Largest marker read.
const MAX_MARKER: u64 = 16 * 1024;

/// What the marker says about the installed system daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemDaemon {
    /// The daemon's account name.
    pub account: String,
    /// The daemon's uid: the only uid a client believes.
    pub uid: u32,
    /// The daemon's group (the socket's group; `--allow-user` adds users to it).
    pub gid: u32,
    /// Config dir: policy (admin-owned), vault (the account's, 0600).
    pub config_dir: PathBuf,
    /// Data dir: the audit log and sealing key (the account's, 0700).
    pub data_dir: PathBuf,
    /// The daemon's socket.
    pub socket: PathBuf,
    /// The command that starts the service, quoted in every "unreachable" message.
    pub start: String,
}

/// Why a client refuses to believe an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// The marker, the endpoint or the peer is not what the installed system daemon would be.
    #[error("{0}")]
    Untrusted(String),
    /// The system daemon does not answer.
    #[error(
        "the holdfast system daemon is not running (nothing answers on {endpoint}); every command is denied \
         until it runs: start it with `{start}`"
    )]
    SupervisedDown {
        /// The endpoint tried.
        endpoint: String,
        /// How to start it.
        start: String,
    },
}

impl SystemDaemon {
    /// The installed system daemon, if any: `Ok(None)` when no marker exists; an error (every client
    /// fails closed) when a marker exists but is unsafe or malformed.
    pub fn find() -> Result<Option<SystemDaemon>, TrustError> {
        // Unix only: on Windows `/etc/holdfast.toml` would be a path any user can create (`C:\etc`),
        // and the pipe server's identity is not checked yet.
        if cfg!(not(unix)) {
            return Ok(None);
        }
        let default = Path::new(SYSTEM_MARKER);
        if std::fs::symlink_metadata(default).is_ok() {
            return Self::load(default).map(Some);
        }
        match std::env::var_os(SYSTEM_MARKER_ENV).filter(|v| !v.is_empty()) {
            // Named but missing is refused, not ignored: the variable can only add checks.
            Some(p) => Self::load(Path::new(&p)).map(Some),
            None => Ok(None),
        }
    }

    /// Reads and checks the marker at `path`.
    pub fn load(path: &Path) -> Result<SystemDaemon, TrustError> {
        use std::io::Read;
        let bad = |why: String| TrustError::Untrusted(format!("the system daemon marker {}: {why}", path.display()));
        check_admin_owned(path).map_err(bad)?;
        if let Some(dir) = path.parent() {
            check_admin_owned(dir).map_err(bad)?;
        }
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_MARKER).read_to_string(&mut text))
            .map_err(|e| bad(e.to_string()))?;
        toml::from_str(&text).map_err(|e| bad(format!("not a valid marker: {e}")))
    }

    /// The marker's text.
    pub fn to_toml(&self) -> String {
        format!(
            "# Written by `holdfast service install --system`. Clients believe only the daemon described here.\n{}",
            toml::to_string(self).expect("the marker serializes")
        )
    }

    /// Checks the endpoint before connecting: the socket's directory and the socket belong to the
    /// daemon's uid, and nobody else can write the directory.
    pub fn check_endpoint(&self, socket: &Path) -> Result<(), TrustError> {
        let Some(dir) = socket.parent() else {
            return Err(TrustError::Untrusted(format!("{} has no directory", socket.display())));
        };
        let untrusted = |what: &Path, why: String| {
            TrustError::Untrusted(format!(
                "refusing the holdfast endpoint {}: {} {why}; only the system daemon (account `{}`, uid {}) is \
                 believed here",
                socket.display(),
                what.display(),
                self.account,
                self.uid
            ))
        };
        match owner_and_mode(dir) {
            Ok((uid, _)) if uid != self.uid => return Err(untrusted(dir, format!("is owned by uid {uid}"))),
            Ok((_, mode)) if mode & 0o022 != 0 => {
                return Err(untrusted(dir, format!("is writable by others (mode {mode:04o})")));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(self.down(socket)),
            Err(e) => return Err(untrusted(dir, format!("cannot be checked: {e}"))),
        }
        match owner_and_mode(socket) {
            Ok((uid, _)) if uid != self.uid => Err(untrusted(socket, format!("is owned by uid {uid}"))),
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(self.down(socket)),
            Err(e) => Err(untrusted(socket, format!("cannot be checked: {e}"))),
        }
    }

    /// Checks the connected peer: it must run as the daemon's uid.
    pub fn check_peer(&self, endpoint: &str, peer_uid: Option<u32>) -> Result<(), TrustError> {
        match peer_uid {
            Some(uid) if uid == self.uid => Ok(()),
            Some(uid) => Err(TrustError::Untrusted(format!(
                "refusing the holdfast endpoint {endpoint}: it is served by uid {uid}, not by the system daemon \
                 (account `{}`, uid {}); a planted or impostor daemon is never believed",
                self.account, self.uid
            ))),
            None => Err(TrustError::Untrusted(format!(
                "refusing the holdfast endpoint {endpoint}: the peer's uid cannot be learned"
            ))),
        }
    }

    /// The error for an unreachable system daemon.
    pub fn down(&self, endpoint: &Path) -> TrustError {
        TrustError::SupervisedDown { endpoint: endpoint.display().to_string(), start: self.start.clone() }
    }

    /// True when this process runs as the daemon's account (it is the daemon, or its admin tools).
    pub fn is_me(&self) -> bool {
        current_uid() == Some(self.uid)
    }
}

/// The marker and its directory: owned by root, writable by nobody else, not a symlink.
fn check_admin_owned(path: &Path) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| e.to_string())?;
    if meta.file_type().is_symlink() {
        return Err("is a symlink".into());
    }
    let (uid, mode) = owner_and_mode(path).map_err(|e| e.to_string())?;
    if uid != 0 {
        return Err(format!("{} is owned by uid {uid}, not root", path.display()));
    }
    if mode & 0o022 != 0 {
        return Err(format!("{} is writable by others (mode {mode:04o})", path.display()));
    }
    Ok(())
}

#[cfg(unix)]
fn owner_and_mode(path: &Path) -> std::io::Result<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(path)?;
    Ok((m.uid(), m.mode() & 0o7777))
}

#[cfg(not(unix))]
fn owner_and_mode(path: &Path) -> std::io::Result<(u32, u32)> {
    std::fs::symlink_metadata(path).map(|_| (0, 0))
}

#[cfg(unix)]
fn current_uid() -> Option<u32> {
    Some(rustix::process::geteuid().as_raw())
}

#[cfg(not(unix))]
fn current_uid() -> Option<u32> {
    None
}

/// The modes of the socket's directory and of the socket: group-accessible (0750 / 0660) when this
/// process is the installed system daemon, so members of its group (the users `service install
/// --allow-user` names) can connect; owner-only (0700 / 0600) otherwise.
#[cfg(unix)]
pub(crate) fn listen_modes() -> (u32, u32) {
    match SystemDaemon::find() {
        // Group members may connect and propose; the dir is not group-writable, so they cannot plant.
        Ok(Some(s)) if s.is_me() => (0o750, 0o660),
        _ => (0o700, 0o600),
    }
}

/// When root writes a file into the installed system daemon's config dir (the vault, via `sudo
/// holdfast vault init|passwd|upgrade|wrap-key`), hands it to the daemon's account: the daemon reads
/// only a vault it owns, and nobody else may read it. A no-op anywhere else.
pub fn give_to_daemon(path: &Path) -> std::io::Result<()> {
    let Ok(Some(s)) = SystemDaemon::find() else { return Ok(()) };
    if current_uid() != Some(0) || !path.starts_with(&s.config_dir) {
        return Ok(());
    }
    #[cfg(unix)]
    std::os::unix::fs::chown(path, Some(s.uid), Some(s.gid))?;
    Ok(())
}

/// After bind: the installed system daemon opens its socket to its group (0660), so the users
/// `--allow-user` added can connect. Widened only after bind, from owner-only: never a window
/// with more access than intended. A no-op for every other daemon. (Unix: a Windows pipe's ACL is
/// set when it is created.)
#[cfg(unix)]
pub(crate) fn open_socket_to_group(socket: &Path) -> std::io::Result<()> {
    let (_, mode) = listen_modes();
    if mode != 0o600 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Creates the socket's directory with the mode [`listen_modes`] gives.
pub(crate) fn ensure_socket_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(listen_modes().0))?;
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn marker(uid: u32) -> SystemDaemon {
        SystemDaemon {
            account: "holdfast".into(),
            uid,
            gid: uid,
            config_dir: "/etc/holdfast".into(),
            data_dir: "/var/lib/holdfast".into(),
            socket: "/run/holdfast/holdfast.sock".into(),
            start: "sudo systemctl start holdfast".into(),
        }
    }

    #[test]
    fn marker_round_trips_and_must_be_root_owned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("holdfast.toml");
        let m = marker(991);
        std::fs::write(&path, m.to_toml()).unwrap();
        if current_uid() == Some(0) {
            assert_eq!(SystemDaemon::load(&path).unwrap(), m);
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = SystemDaemon::load(&path).unwrap_err().to_string();
        assert!(e.contains("writable by others") || e.contains("not root"), "{e}");
    }

    #[test]
    fn peer_must_be_the_daemon_uid() {
        let m = marker(991);
        assert!(m.check_peer("/s", Some(991)).is_ok());
        assert!(m.check_peer("/s", Some(0)).unwrap_err().to_string().contains("served by uid 0"));
        assert!(m.check_peer("/s", None).is_err());
    }

    #[test]
    fn endpoint_owned_by_another_uid_is_refused_and_missing_is_down() {
        let dir = tempfile::tempdir().unwrap();
        let me = current_uid().unwrap();
        let sock = dir.path().join("holdfast.sock");
        assert!(matches!(marker(me).check_endpoint(&sock), Err(TrustError::SupervisedDown { .. })));
        std::fs::write(&sock, b"").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(marker(me).check_endpoint(&sock).is_ok());
        let e = marker(me + 1).check_endpoint(&sock).unwrap_err().to_string();
        assert!(e.contains("is owned by uid"), "{e}");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = marker(me).check_endpoint(&sock).unwrap_err().to_string();
        assert!(e.contains("writable by others"), "{e}");
    }
}
