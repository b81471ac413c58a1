//! The Linux system install: account, directories, marker, unit; and their removal.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::trust::{SYSTEM_MARKER, SystemDaemon};

/// One system install, described by its account and where its files go.
#[derive(Debug, Clone)]
pub struct SystemInstall {
    /// Prefix for every file (`/` for a real install).
    pub root: PathBuf,
    /// The daemon's account and group.
    pub account: String,
    /// The installed binary the unit runs.
    pub bin: PathBuf,
}

/// What an install or uninstall did, one line per step (printed by the CLI).
pub(crate) type Steps = Vec<String>;

impl SystemInstall {
    fn at(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// The marker's path.
    pub fn marker_path(&self) -> PathBuf {
        self.at(SYSTEM_MARKER)
    }

    /// The systemd unit's path.
    pub fn unit_path(&self) -> PathBuf {
        self.at("/etc/systemd/system/holdfast.service")
    }

    /// The notifier's user unit, for every user's session (`systemctl --global`).
    pub fn notify_unit_path(&self) -> PathBuf {
        self.at("/etc/systemd/user/holdfast-notify.service")
    }

    /// The layout for an account with `uid` and `gid`.
    pub fn layout(&self, uid: u32, gid: u32) -> SystemDaemon {
        SystemDaemon {
            account: self.account.clone(),
            uid,
            gid,
            config_dir: self.at("/etc/holdfast"),
            data_dir: self.at("/var/lib/holdfast"),
            socket: self.at("/run/holdfast/holdfast.sock"),
            start: if self.root == Path::new("/") {
                "sudo systemctl start holdfast".into()
            } else {
                format!("holdfast daemon (as {}, with HOLDFAST_SYSTEM={})", self.account, self.marker_path().display())
            },
            run_dir: None,
            allow: vec![],
        }
    }

    /// Creates the account (if needed), adds `allow` to its group, lays out the directories, and
    /// writes the marker and the unit. Idempotent.
    pub fn install(&self, allow: &[String]) -> Result<(SystemDaemon, Steps)> {
        let mut steps = Vec::new();
        if id(&["-u", &self.account]).is_err() {
            run(
                "useradd",
                &[
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    &self.account,
                ],
            )?;
            steps.push(format!("created the system account `{}`", self.account));
        }
        let uid = id(&["-u", &self.account])?;
        let gid = id(&["-g", &self.account])?;
        for user in allow {
            run("usermod", &["-a", "-G", &self.account, user])?;
            steps.push(format!("added `{user}` to the group `{}` (it may connect and propose)", self.account));
        }
        let s = self.layout(uid, gid);
        // Config and data belong to the account, owner-only: the vault, log and keys are its alone.
        for dir in [&s.config_dir, &s.data_dir] {
            make_dir(dir, 0o700, Some((uid, gid)))?;
        }
        // The socket's directory: the group may enter (to connect), nobody else; only the account writes.
        make_dir(s.socket.parent().expect("socket has a dir"), 0o750, Some((uid, gid)))?;
        let unit = super::units::systemd_system_unit(&self.bin, &s);
        write_file(&self.unit_path(), unit.as_bytes(), 0o644)?;
        write_file(&self.notify_unit_path(), super::units::systemd_notify_unit(&self.bin).as_bytes(), 0o644)?;
        // The marker last: until it exists clients do not look for the system daemon.
        write_file(&self.marker_path(), s.to_toml().as_bytes(), 0o644)?;
        steps.push(format!("wrote {} and {}", self.unit_path().display(), self.marker_path().display()));
        if self.root == Path::new("/") && systemd_running() {
            run("systemctl", &["daemon-reload"])?;
            run("systemctl", &["enable", "--now", "holdfast.service"])?;
            steps.push("enabled and started holdfast.service".into());
            // Desktop notifications come from each user's session, never from the daemon's account.
            if run("systemctl", &["--global", "enable", "holdfast-notify.service"]).is_ok() {
                steps.push("enabled holdfast-notify.service for every user's graphical session".into());
            }
        } else {
            steps.push(format!("systemd is not managing this install: start the daemon with `{}`", s.start));
        }
        Ok((s, steps))
    }

    /// Stops and removes the unit, the marker and the socket directory; with `purge` also the
    /// config and data (vault, policy, audit log) and the account.
    pub fn uninstall(&self, purge: bool) -> Result<Steps> {
        let mut steps = Vec::new();
        if self.root == Path::new("/") && systemd_running() && self.unit_path().exists() {
            let _ = run("systemctl", &["disable", "--now", "holdfast.service"]);
            let _ = run("systemctl", &["--global", "disable", "holdfast-notify.service"]);
            steps.push("stopped and disabled holdfast.service and holdfast-notify.service".into());
        }
        let s = self.layout(0, 0);
        let mut remove = vec![
            self.marker_path(),
            self.unit_path(),
            self.notify_unit_path(),
            s.socket.parent().expect("dir").to_path_buf(),
        ];
        if purge {
            remove.extend([s.config_dir.clone(), s.data_dir.clone()]);
        }
        for path in remove {
            if remove_any(&path)? {
                steps.push(format!("removed {}", path.display()));
            }
        }
        if self.root == Path::new("/") && systemd_running() {
            let _ = run("systemctl", &["daemon-reload"]);
        }
        if purge && id(&["-u", &self.account]).is_ok() {
            run("userdel", &[&self.account])?;
            steps.push(format!("removed the account `{}`", self.account));
        }
        if !purge {
            steps.push(format!(
                "kept {} and {} (vault, policy, audit log); `--purge` removes them and the account",
                s.config_dir.display(),
                s.data_dir.display()
            ));
        }
        Ok(steps)
    }
}

/// True when systemd manages this machine (as `sd_booted` checks).
pub(crate) fn systemd_running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(program).args(args).output().with_context(|| format!("cannot run {program}"))?;
    if !out.status.success() {
        bail!("`{program} {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

fn id(args: &[&str]) -> Result<u32> {
    let out = Command::new("id").args(args).output().context("cannot run id")?;
    if !out.status.success() {
        bail!("no account `{}`", args.last().unwrap_or(&""));
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().context("id printed no number")
}

fn make_dir(dir: &Path, mode: u32, owner: Option<(u32, u32)>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(dir, Some(uid), Some(gid))?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Writes a root-owned file (the caller is root) atomically with `mode`.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::paths::write_atomic(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn remove_any(path: &Path) -> Result<bool> {
    let r = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
    };
    r.with_context(|| format!("cannot remove {}", path.display()))?;
    Ok(true)
}
