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
//!
//! Windows (the daemon is a service under `NT AUTHORITY\LocalService`): the marker is
//! `C:\ProgramData\holdfast\holdfast.toml` and names the pipe, which must lie under
//! [`WINDOWS_PIPE_PREFIX`]. Only processes of the LocalService account can create a pipe there
//! (NPFS's protected prefixes, Windows 10 since 2017; undocumented by Microsoft, described by
//! James Forshaw's "Named Pipe Secure Prefixes"), so no user can squat the name before
//! the service starts, and the pipe's ACL never grants an allowed user
//! `FILE_CREATE_PIPE_INSTANCE` (see `winsec`), so no user can add an instance while it runs.
//! On top of the name, the client checks that the pipe's server process is the one whose pid the
//! service wrote into its run dir, which only the service and administrators can write. Neither
//! the owner of a file nor the account of a process can be read without unsafe Win32 calls, so the
//! marker's own owner is not checked: `service install` resets its directory's owner and ACL, and a
//! marker forged by a user can only name a pipe under the protected prefix, which that user cannot
//! serve (its clients then deny, they never believe the user's daemon).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where `service install --system` writes the marker.
#[cfg(not(windows))]
pub const SYSTEM_MARKER: &str = "/etc/holdfast.toml";
/// Where `service install --system` writes the marker.
#[cfg(windows)]
pub const SYSTEM_MARKER: &str = WINDOWS_SYSTEM_MARKER;
/// The Windows marker: a fixed path, not `%ProgramData%`, which the user's environment (and so a
/// hostile agent) controls.
pub const WINDOWS_SYSTEM_MARKER: &str = r"C:\ProgramData\holdfast\holdfast.toml";
/// The only pipes a Windows marker may name: NPFS lets only processes of the LocalService account
/// create a pipe under this prefix, so no user can serve it.
pub const WINDOWS_PIPE_PREFIX: &str = r"\\.\pipe\ProtectedPrefix\LocalService\";
/// The PID file's name in the daemon's run dir.
pub(crate) const PID_FILE: &str = "holdfast.pid";
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
    /// The daemon's uid: the only uid a client believes (Unix; absent on Windows).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub uid: u32,
    /// The daemon's group (the socket's group; `--allow-user` adds users to it; Unix).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gid: u32,
    /// Config dir: policy (admin-owned), vault (the account's, 0600).
    pub config_dir: PathBuf,
    /// Data dir: the audit log and sealing key (the account's, 0700).
    pub data_dir: PathBuf,
    /// The daemon's socket (Windows: its pipe, `\\.\pipe\ProtectedPrefix\LocalService\…`).
    pub socket: PathBuf,
    /// The command that starts the service, quoted in every "unreachable" message.
    pub start: String,
    /// Where the PID file lives when it is not beside the socket (Windows: a directory only the
    /// service and administrators can write, which users can read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_dir: Option<PathBuf>,
    /// Windows: the SIDs (users or groups, `--allow-user`) whose processes may connect to the pipe.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
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
        let marker: SystemDaemon = toml::from_str(&text).map_err(|e| bad(format!("not a valid marker: {e}")))?;
        if cfg!(windows) {
            marker.check_windows().map_err(bad)?;
        }
        Ok(marker)
    }

    /// Windows: what makes a marker unbelievable. Its pipe must lie under [`WINDOWS_PIPE_PREFIX`]
    /// (a marker forged by a user then names a pipe that user cannot serve); it must name a run
    /// dir (the PID file clients compare the server with); every allowed entry must be a plain SID,
    /// since it goes into the pipe's SDDL verbatim (`S-1-1-0)(A;;GA;;;WD` would grant Everyone).
    pub fn check_windows(&self) -> Result<(), String> {
        let pipe = self.socket.to_string_lossy();
        let name = pipe.strip_prefix(WINDOWS_PIPE_PREFIX).unwrap_or_default();
        if name.is_empty() || name.contains(['\\', '/']) {
            return Err(format!("the pipe {pipe} is not a name under {WINDOWS_PIPE_PREFIX}"));
        }
        if self.run_dir.is_none() {
            return Err("names no run_dir (where the service writes its PID file)".into());
        }
        match self.allow.iter().find(|sid| !is_sid(sid)) {
            Some(bad) => Err(format!("allow entry {bad:?} is not a SID (S-1-…)")),
            None => Ok(()),
        }
    }

    /// The daemon's pipe name (without `\\.\pipe\`), when the marker names a pipe.
    pub fn pipe_name(&self) -> Option<String> {
        self.socket.to_str()?.strip_prefix(r"\\.\pipe\").map(str::to_owned)
    }

    /// The daemon's PID file: in its run dir, else beside its socket.
    pub fn pid_file(&self) -> PathBuf {
        match (self.run_dir.as_deref(), self.socket.parent()) {
            (Some(run), _) | (None, Some(run)) => run.join(PID_FILE),
            (None, None) => self.data_dir.join(PID_FILE),
        }
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

    /// Windows: only the marker's pipe is believed (wherever `HOLDFAST_SOCKET` points).
    pub fn check_pipe(&self, endpoint: &crate::paths::Endpoint) -> Result<(), TrustError> {
        match (endpoint, self.pipe_name()) {
            (crate::paths::Endpoint::Pipe(name), Some(ours)) if name.eq_ignore_ascii_case(&ours) => Ok(()),
            _ => Err(TrustError::Untrusted(format!(
                "refusing the holdfast endpoint {endpoint}: only the system daemon's pipe {} is believed here",
                self.socket.display()
            ))),
        }
    }

    /// Windows: the pipe's server process (`GetNamedPipeServerProcessId`) must be the process
    /// whose pid the service wrote into its PID file (`recorded`), in a directory only the service
    /// and administrators can write.
    pub fn check_server_pid(
        &self,
        endpoint: &str,
        server: Option<u32>,
        recorded: Option<u32>,
    ) -> Result<(), TrustError> {
        match (server, recorded) {
            (Some(s), Some(r)) if s == r => Ok(()),
            (server, recorded) => Err(TrustError::Untrusted(format!(
                "refusing the holdfast endpoint {endpoint}: it is served by process {}, not by the system daemon \
                 (the service `{}` recorded pid {} in {}); a planted or impostor daemon is never believed",
                server.map_or("?".into(), |p| p.to_string()),
                self.account,
                recorded.map_or("none".into(), |p| p.to_string()),
                self.pid_file().display()
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

/// `S-1-` followed by decimal sub-authorities: nothing that could close an SDDL ACE.
fn is_sid(s: &str) -> bool {
    s.len() <= 184
        && s.strip_prefix("S-1-")
            .is_some_and(|rest| rest.split('-').all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
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

#[cfg(test)]
mod windows_marker_tests {
    use super::*;
    use crate::paths::Endpoint;

    fn marker() -> SystemDaemon {
        SystemDaemon {
            account: r"NT AUTHORITY\LocalService".into(),
            uid: 0,
            gid: 0,
            config_dir: r"C:\ProgramData\holdfast\config".into(),
            data_dir: r"C:\ProgramData\holdfast\data".into(),
            socket: format!("{WINDOWS_PIPE_PREFIX}holdfast").into(),
            start: "sc.exe start holdfast".into(),
            run_dir: Some(r"C:\ProgramData\holdfast\run".into()),
            allow: vec!["S-1-5-21-1-2-3-1001".into(), "S-1-5-32-545".into()],
        }
    }

    #[test]
    fn a_windows_marker_round_trips_without_uids() {
        let m = marker();
        let text = m.to_toml();
        assert!(!text.contains("uid") && text.contains("allow = ["), "{text}");
        assert_eq!(toml::from_str::<SystemDaemon>(&text).unwrap(), m);
        assert!(m.check_windows().is_ok());
        assert_eq!(m.pipe_name().as_deref(), Some(r"ProtectedPrefix\LocalService\holdfast"));
    }

    #[test]
    fn a_marker_must_name_a_protected_pipe_a_run_dir_and_plain_sids() {
        let mut m = marker();
        m.socket = r"\\.\pipe\holdfast-LOCAL_SERVICE".into();
        assert!(m.check_windows().unwrap_err().contains("not a name under"));
        m.socket = format!(r"{WINDOWS_PIPE_PREFIX}..\x").into();
        assert!(m.check_windows().is_err(), "a nested name");
        let mut m = marker();
        m.run_dir = None;
        assert!(m.check_windows().unwrap_err().contains("run_dir"));
        for bad in ["S-1-1-0)(A;;GA;;;WD", "Everyone", "S-1-", "S-1-5--1", "s-1-5-18"] {
            let mut m = marker();
            m.allow = vec![bad.into()];
            assert!(m.check_windows().unwrap_err().contains("not a SID"), "{bad}");
        }
    }

    #[test]
    fn only_the_markers_pipe_served_by_the_recorded_pid_is_believed() {
        let m = marker();
        assert!(m.check_pipe(&Endpoint::Pipe(r"ProtectedPrefix\LocalService\holdfast".into())).is_ok());
        let e = m.check_pipe(&Endpoint::Pipe("holdfast-ann".into())).unwrap_err().to_string();
        assert!(e.contains("only the system daemon's pipe"), "{e}");
        assert!(m.check_server_pid("p", Some(42), Some(42)).is_ok());
        let e = m.check_server_pid("p", Some(7), Some(42)).unwrap_err().to_string();
        assert!(e.contains("served by process 7") && e.contains("recorded pid 42"), "{e}");
        assert!(m.check_server_pid("p", Some(7), None).unwrap_err().to_string().contains("recorded pid none"));
        assert!(m.check_server_pid("p", None, Some(7)).is_err());
        assert_eq!(m.pid_file(), PathBuf::from(r"C:\ProgramData\holdfast\run").join("holdfast.pid"));
    }
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
            run_dir: None,
            allow: vec![],
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
