//! Where every file lives, per OS (DESIGN §7).
//!
//! Resolution order for the endpoint: `HOLDFAST_ENDPOINT=tcp://host:port` (clients only: a daemon's
//! loopback TCP listener, token from `HOLDFAST_TOKEN_FILE`), then `HOLDFAST_SOCKET`, then
//! `$HOLDFAST_HOME/run/holdfast.sock`, then the installed system daemon's socket (the marker
//! `trust::SYSTEM_MARKER`, no environment needed), then `$XDG_RUNTIME_DIR/holdfast/holdfast.sock`,
//! then `<data dir>/holdfast.sock`. Config and data dirs: `HOLDFAST_HOME`, then the system
//! daemon's, then the per-user directories. Whatever the endpoint, clients check it against an
//! installed system daemon before believing it (see `trust`). On Windows the endpoint is a named pipe
//! `holdfast-<user>` (suffixed with a hash of `HOLDFAST_HOME` when that is set,
//! so isolated homes never share a pipe), or the name in `HOLDFAST_SOCKET`, or the installed system
//! daemon's pipe (its marker, `C:\ProgramData\holdfast\holdfast.toml`).

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Longest Unix socket path the platform accepts, including no terminator.
#[cfg(target_os = "macos")]
pub const SUN_PATH_MAX: usize = 103;
/// Longest Unix socket path the platform accepts, including no terminator.
#[cfg(not(target_os = "macos"))]
pub const SUN_PATH_MAX: usize = 107;

/// Where the daemon listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A Unix domain socket file.
    Socket(PathBuf),
    /// A Windows named pipe name (without the `\\.\pipe\` prefix).
    Pipe(String),
    /// A daemon's TCP listener, for clients only (`HOLDFAST_ENDPOINT=tcp://host:port`): every
    /// connection first presents the token read from `token_file` (see `transport::tcp`).
    Tcp {
        /// `host:port` as given (a name is resolved at connect time).
        addr: String,
        /// The file holding the token in hex (`HOLDFAST_TOKEN_FILE`, else `<data dir>/tcp.token`).
        token_file: PathBuf,
    },
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Socket(p) => write!(f, "{}", p.display()),
            Endpoint::Pipe(n) => write!(f, r"\\.\pipe\{n}"),
            Endpoint::Tcp { addr, .. } => write!(f, "tcp://{addr}"),
        }
    }
}

/// Every path holdfast uses, resolved once.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Configuration: policy, vault.
    pub config_dir: PathBuf,
    /// State: audit log, sealing key, spool.
    pub data_dir: PathBuf,
    /// Where the PID file (and, on Unix, usually the socket) lives.
    pub run_dir: PathBuf,
    /// The daemon's endpoint.
    pub endpoint: Endpoint,
}

impl Paths {
    /// Resolves the paths from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::resolve(&|k| std::env::var_os(k))
    }

    /// Resolves the paths using `var` to read environment variables (testable).
    pub fn resolve(var: &dyn Fn(&str) -> Option<OsString>) -> Result<Self> {
        let nonempty = |k: &str| var(k).filter(|v| !v.is_empty());
        let (config_dir, data_dir, home_run) = if let Some(home) = nonempty("HOLDFAST_HOME") {
            let home = PathBuf::from(home);
            if !home.is_absolute() {
                bail!("HOLDFAST_HOME must be an absolute path, got {}", home.display());
            }
            let run = home.join("run");
            (home.join("config"), home.join("data"), Some((run.join("holdfast.sock"), run)))
        } else if let Ok(Some(system)) = crate::trust::SystemDaemon::find() {
            // An unusable marker falls through to the user's paths; clients then refuse every endpoint.
            let run = system.pid_file().parent().map(Path::to_path_buf).unwrap_or_else(|| system.data_dir.clone());
            (system.config_dir, system.data_dir, Some((system.socket, run)))
        } else {
            let dirs = directories::ProjectDirs::from("", "", "holdfast")
                .context("cannot determine a home directory; set HOLDFAST_HOME")?;
            (dirs.config_dir().to_path_buf(), dirs.data_dir().to_path_buf(), None)
        };
        let endpoint = match nonempty(ENDPOINT_ENV) {
            Some(url) => tcp_endpoint(&url, nonempty(TOKEN_FILE_ENV), &data_dir)?,
            None => {
                endpoint(&nonempty, home_run.as_ref().map(|(sock, run)| (sock.as_path(), run.as_path())), &data_dir)?
            }
        };
        let run_dir = match (&endpoint, home_run) {
            (_, Some((_, run))) => run,
            (Endpoint::Socket(p), None) => p.parent().map(Path::to_path_buf).unwrap_or_else(|| data_dir.clone()),
            (Endpoint::Pipe(_) | Endpoint::Tcp { .. }, None) => data_dir.clone(),
        };
        Ok(Paths { config_dir, data_dir, run_dir, endpoint })
    }

    /// The PID file: pid and endpoint of the running daemon.
    pub fn pid_file(&self) -> PathBuf {
        self.run_dir.join("holdfast.pid")
    }
    /// The audit log.
    pub fn audit_log(&self) -> PathBuf {
        self.data_dir.join("audit.jsonl")
    }
    /// The admin vault.
    pub fn vault(&self) -> PathBuf {
        self.config_dir.join("vault.json")
    }
    /// The global policy.
    pub fn policy(&self) -> PathBuf {
        self.config_dir.join("policy.toml")
    }
    /// The TCP listener's token (hex, 0600), created by the daemon on its first start with
    /// `[daemon] tcp` set.
    pub fn tcp_token(&self) -> PathBuf {
        self.data_dir.join(TCP_TOKEN_FILE)
    }
}

/// Environment variable pointing clients at a TCP endpoint: `tcp://host:port`.
pub const ENDPOINT_ENV: &str = "HOLDFAST_ENDPOINT";
/// Environment variable naming the file that holds the TCP token.
pub const TOKEN_FILE_ENV: &str = "HOLDFAST_TOKEN_FILE";
/// The token file's name in the data dir.
pub const TCP_TOKEN_FILE: &str = "tcp.token";

/// Parses `HOLDFAST_ENDPOINT` (`tcp://host:port`); the token file defaults to the data dir's.
fn tcp_endpoint(url: &std::ffi::OsStr, token_file: Option<OsString>, data_dir: &Path) -> Result<Endpoint> {
    let text = url.to_string_lossy();
    let bad = || {
        anyhow::anyhow!("{ENDPOINT_ENV} must be tcp://host:port (got {text:?}); a socket path goes in HOLDFAST_SOCKET")
    };
    let addr = text.strip_prefix("tcp://").ok_or_else(bad)?.trim_end_matches('/');
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || host.contains('/') || port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(bad());
    }
    let token_file = token_file.map_or_else(|| data_dir.join(TCP_TOKEN_FILE), PathBuf::from);
    Ok(Endpoint::Tcp { addr: addr.to_string(), token_file })
}

/// `home_run`: the socket and run dir of `HOLDFAST_HOME` or of the installed system daemon.
#[cfg(unix)]
fn endpoint(
    var: &dyn Fn(&str) -> Option<OsString>,
    home_run: Option<(&Path, &Path)>,
    data_dir: &Path,
) -> Result<Endpoint> {
    let path = if let Some(s) = var("HOLDFAST_SOCKET") {
        PathBuf::from(s)
    } else if let Some((socket, _)) = home_run {
        socket.to_path_buf()
    } else if let Some(xdg) = var("XDG_RUNTIME_DIR") {
        PathBuf::from(xdg).join("holdfast").join("holdfast.sock")
    } else {
        data_dir.join("holdfast.sock")
    };
    check_socket_path(&path)?;
    Ok(Endpoint::Socket(path))
}

/// A socket path longer than `sun_path` cannot be bound: say so clearly.
#[cfg(unix)]
pub fn check_socket_path(path: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let len = path.as_os_str().as_bytes().len();
    if len > SUN_PATH_MAX {
        bail!(
            "socket path is {len} bytes, longer than the platform limit of {SUN_PATH_MAX}: {}; \
             set HOLDFAST_SOCKET or HOLDFAST_HOME to a shorter path",
            path.display()
        );
    }
    if !path.is_absolute() {
        bail!("socket path must be absolute: {}", path.display());
    }
    Ok(())
}

#[cfg(windows)]
fn endpoint(
    var: &dyn Fn(&str) -> Option<OsString>,
    home_run: Option<(&Path, &Path)>,
    _data_dir: &Path,
) -> Result<Endpoint> {
    use sha2::{Digest, Sha256};
    if let Some(s) = var("HOLDFAST_SOCKET") {
        let name = s.to_string_lossy().trim_start_matches(r"\\.\pipe\").to_string();
        return Ok(Endpoint::Pipe(name));
    }
    // The installed system daemon's pipe (see `trust`): its marker names it, no hash, no user.
    if let Some((socket, _)) = home_run
        && let Some(name) = socket.to_str().and_then(|s| s.strip_prefix(r"\\.\pipe\"))
    {
        return Ok(Endpoint::Pipe(name.to_owned()));
    }
    let user = var("USERNAME").map(|u| u.to_string_lossy().into_owned()).unwrap_or_else(|| "user".into());
    let user: String = user.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    Ok(Endpoint::Pipe(match home_run {
        // Isolated homes (tests, multiple profiles) get their own pipe.
        Some((_, run)) => {
            let digest = Sha256::digest(run.to_string_lossy().as_bytes());
            format!("holdfast-{user}-{}", &hex::encode(digest)[..12])
        }
        None => format!("holdfast-{user}"),
    }))
}

/// Creates `dir` (and parents) and makes it owner-only (0700 on Unix).
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Owner-only: other local users must not list or enter holdfast's state.
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Opens a file for writing with owner-only permissions (0600 on Unix) from creation on.
pub fn private_open_options() -> fs::OpenOptions {
    #[allow(unused_mut)]
    let mut opts = fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // 0600 at creation, so there is no window where the file is world-readable.
        opts.mode(0o600);
    }
    opts
}

/// Writes `bytes` to `path` atomically: temp file (0600) + fsync + rename + fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut name = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(format!(".tmp{}", std::process::id()));
    let tmp = dir.join(name);
    {
        let mut f = private_open_options().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(dir)
}

/// Makes a rename or creation in `dir` durable (no-op where directories cannot be synced).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| OsString::from(v))
    }

    #[test]
    fn holdfast_home_roots_everything() {
        let p = Paths::resolve(&env(&[("HOLDFAST_HOME", "/h"), ("XDG_RUNTIME_DIR", "/x")])).unwrap();
        assert_eq!(p.config_dir, PathBuf::from("/h/config"));
        assert_eq!(p.data_dir, PathBuf::from("/h/data"));
        assert_eq!(p.endpoint, Endpoint::Socket("/h/run/holdfast.sock".into()));
        assert_eq!(p.pid_file(), PathBuf::from("/h/run/holdfast.pid"));
    }

    #[test]
    fn socket_override_wins() {
        let p = Paths::resolve(&env(&[("HOLDFAST_HOME", "/h"), ("HOLDFAST_SOCKET", "/s/x.sock")])).unwrap();
        assert_eq!(p.endpoint, Endpoint::Socket("/s/x.sock".into()));
        assert_eq!(p.run_dir, PathBuf::from("/h/run"));
    }

    #[test]
    fn xdg_runtime_dir_used_without_home() {
        let p = Paths::resolve(&env(&[("HOME", "/home/u"), ("XDG_RUNTIME_DIR", "/run/user/1")])).unwrap();
        assert_eq!(p.endpoint, Endpoint::Socket("/run/user/1/holdfast/holdfast.sock".into()));
    }

    #[test]
    fn too_long_socket_path_is_a_clear_error() {
        let long = format!("/{}", "a".repeat(200));
        let err = Paths::resolve(&env(&[("HOLDFAST_HOME", &long)])).unwrap_err();
        assert!(err.to_string().contains("longer than the platform limit"), "{err}");
    }

    #[test]
    fn tcp_endpoint_from_the_environment() {
        let p =
            Paths::resolve(&env(&[("HOLDFAST_HOME", "/h"), ("HOLDFAST_ENDPOINT", "tcp://host.docker.internal:7777")]))
                .unwrap();
        let token_file = PathBuf::from("/h/data/tcp.token");
        assert_eq!(p.endpoint, Endpoint::Tcp { addr: "host.docker.internal:7777".into(), token_file });
        assert_eq!(p.endpoint.to_string(), "tcp://host.docker.internal:7777");
        let p = Paths::resolve(&env(&[
            ("HOLDFAST_HOME", "/h"),
            ("HOLDFAST_ENDPOINT", "tcp://[::1]:9"),
            ("HOLDFAST_TOKEN_FILE", "/run/secrets/t"),
        ]))
        .unwrap();
        assert_eq!(p.endpoint, Endpoint::Tcp { addr: "[::1]:9".into(), token_file: "/run/secrets/t".into() });
        for bad in ["127.0.0.1:7", "tcp://127.0.0.1", "tcp://:7", "tcp://h:0", "tcp://h:x", "unix:///s"] {
            let e = Paths::resolve(&env(&[("HOLDFAST_HOME", "/h"), ("HOLDFAST_ENDPOINT", bad)])).unwrap_err();
            assert!(e.to_string().contains("tcp://host:port"), "{bad}: {e}");
        }
    }

    #[test]
    fn relative_home_is_rejected() {
        assert!(Paths::resolve(&env(&[("HOLDFAST_HOME", "rel")])).is_err());
    }
}

#[cfg(all(test, windows))]
mod windows_tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| OsString::from(v))
    }

    #[test]
    fn pipe_is_named_after_the_user() {
        // Known folders come from the shell API, not the environment (AppData\Roaming, \Local).
        let p = Paths::resolve(&env(&[("USERNAME", "Ann Lee")])).unwrap();
        assert_eq!(p.endpoint, Endpoint::Pipe("holdfast-Ann_Lee".into()));
        assert_eq!(p.run_dir, p.data_dir);
        assert!(p.config_dir.ends_with(r"holdfast\config"), "{}", p.config_dir.display());
    }

    #[test]
    fn holdfast_home_gets_its_own_pipe() {
        let a = Paths::resolve(&env(&[("HOLDFAST_HOME", r"C:\h1"), ("USERNAME", "ann")])).unwrap();
        let b = Paths::resolve(&env(&[("HOLDFAST_HOME", r"C:\h2"), ("USERNAME", "ann")])).unwrap();
        let Endpoint::Pipe(name) = &a.endpoint else { panic!("expected a pipe") };
        assert!(name.starts_with("holdfast-ann-") && name.len() == "holdfast-ann-".len() + 12, "{name}");
        assert_ne!(a.endpoint, b.endpoint);
        assert_eq!(a.pid_file(), PathBuf::from(r"C:\h1\run\holdfast.pid"));
    }

    #[test]
    fn socket_override_names_the_pipe() {
        let p = Paths::resolve(&env(&[("HOLDFAST_HOME", r"C:\h"), ("HOLDFAST_SOCKET", r"\\.\pipe\mine")])).unwrap();
        assert_eq!(p.endpoint, Endpoint::Pipe("mine".into()));
        assert_eq!(p.endpoint.to_string(), r"\\.\pipe\mine");
    }
}
