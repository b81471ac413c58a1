//! `service install|uninstall|status [--system|--user]`: the daemon supervised by the OS.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
#[cfg(not(windows))]
use holdfast::service::units;
#[cfg(windows)]
use holdfast::service::windows::{self, WindowsInstall};

use super::Exit;

#[derive(Subcommand, Debug)]
pub enum ServiceCommand {
    /// Install and start the service (Linux: systemd; Windows --system: the service, its ACLs and
    /// marker; Windows --user: started at your logon; macOS: print what to install).
    Install(InstallArgs),
    /// Stop and remove the service.
    Uninstall(UninstallArgs),
    /// Show what is installed and whether the daemon answers.
    Status(Scope),
}

/// Which posture.
#[derive(Args, Debug, Clone)]
pub struct Scope {
    /// The locked posture: a system daemon under its own account (needs root).
    #[arg(long, conflicts_with = "user")]
    system: bool,
    /// The personal posture: a user service running as you (Windows: started at your logon).
    #[arg(long)]
    user: bool,
    /// The daemon's account (system only).
    #[arg(long, default_value = "holdfast")]
    account: String,
    /// Stage every file under DIR instead of `/` (packaging, tests); accounts are still real.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    #[command(flatten)]
    scope: Scope,
    /// A user whose agents may connect and propose (Unix: added to the daemon's group; Windows: a
    /// user or group name, or a SID, granted on the pipe). Repeatable.
    #[arg(long, value_name = "NAME")]
    allow_user: Vec<String>,
}

#[derive(Args, Debug)]
pub struct UninstallArgs {
    #[command(flatten)]
    scope: Scope,
    /// Also remove the config and data (vault, policy, audit log) and the account.
    #[arg(long)]
    purge: bool,
}

/// Runs a `service` subcommand.
pub fn run(cmd: &ServiceCommand) -> Result<Exit> {
    let bin = std::env::current_exe().context("cannot find this binary's path")?;
    let bin = std::fs::canonicalize(&bin).unwrap_or(bin);
    match cmd {
        ServiceCommand::Install(a) if a.scope.system => system_install(&a.scope, &bin, &a.allow_user),
        ServiceCommand::Install(a) if a.scope.user => user_install(&a.scope, &bin),
        ServiceCommand::Uninstall(a) if a.scope.system => system_uninstall(&a.scope, &bin, a.purge),
        ServiceCommand::Uninstall(a) if a.scope.user => user_uninstall(&a.scope, &bin),
        ServiceCommand::Status(s) => status(s, &bin),
        _ => bail!("say which service: --system (locked posture) or --user (personal posture)"),
    }
}

#[cfg(target_os = "linux")]
fn installer(scope: &Scope, bin: &std::path::Path) -> holdfast::service::system::SystemInstall {
    holdfast::service::system::SystemInstall {
        root: scope.root.clone(),
        account: scope.account.clone(),
        bin: bin.into(),
    }
}

#[cfg(target_os = "linux")]
fn system_install(scope: &Scope, bin: &std::path::Path, allow: &[String]) -> Result<Exit> {
    if rustix::process::geteuid().as_raw() != 0 {
        bail!("`service install --system` creates an account and writes /etc: run it as root (sudo)");
    }
    let (_, steps) = installer(scope, bin).install(allow)?;
    for s in steps {
        println!("{s}");
    }
    println!(
        "next: `sudo holdfast vault init` sets the admin password; then `holdfast init --system` installs the \
         managed agent hooks"
    );
    Ok(Exit::Ok)
}

#[cfg(target_os = "linux")]
fn system_uninstall(scope: &Scope, bin: &std::path::Path, purge: bool) -> Result<Exit> {
    if rustix::process::geteuid().as_raw() != 0 {
        bail!("`service uninstall --system` needs root (sudo)");
    }
    for s in installer(scope, bin).uninstall(purge)? {
        println!("{s}");
    }
    Ok(Exit::Ok)
}

#[cfg(windows)]
fn windows_installer(scope: &Scope, bin: &std::path::Path, allow: &[String]) -> Result<WindowsInstall> {
    let allow = allow.iter().map(|name| windows::resolve_sid(name)).collect::<Result<Vec<_>>>()?;
    let install = WindowsInstall { root: scope.root.clone(), bin: bin.into(), allow };
    // The SIDs go into the pipe's SDDL: the daemon would refuse a marker with anything else.
    install.layout().check_windows().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(install)
}

/// Windows: runs the install as an administrator; with `--root` stages the files and prints the
/// commands instead (see `service::windows`).
#[cfg(windows)]
fn system_install(scope: &Scope, bin: &std::path::Path, allow: &[String]) -> Result<Exit> {
    let install = windows_installer(scope, bin, allow)?;
    let real = scope.root == std::path::Path::new("/");
    carry_out(&install.plan(), real)?;
    println!(
        "next: `holdfast vault init` as an administrator sets the admin password; then `holdfast init --system` \
         installs the managed agent hooks"
    );
    Ok(Exit::Ok)
}

#[cfg(windows)]
fn system_uninstall(scope: &Scope, bin: &std::path::Path, purge: bool) -> Result<Exit> {
    let install = windows_installer(scope, bin, &[])?;
    carry_out(&install.uninstall_plan(purge), scope.root == std::path::Path::new("/"))
}

#[cfg(not(any(target_os = "linux", windows)))]
fn system_install(scope: &Scope, bin: &std::path::Path, _allow: &[String]) -> Result<Exit> {
    print_foreign(scope, bin, true);
    Ok(Exit::Ok)
}

#[cfg(not(any(target_os = "linux", windows)))]
fn system_uninstall(_scope: &Scope, _bin: &std::path::Path, _purge: bool) -> Result<Exit> {
    println!("sudo launchctl bootout system/{} and remove its plist", units::LAUNCHD_LABEL);
    Ok(Exit::Ok)
}

/// macOS: the generated definitions and the commands that install them (not run here).
#[cfg(not(any(target_os = "linux", windows)))]
fn print_foreign(scope: &Scope, bin: &std::path::Path, system: bool) {
    let account = system.then_some(scope.account.as_str());
    print!("{}", units::launchd_plist(bin, account));
    let dir = if system { "/Library/LaunchDaemons" } else { "~/Library/LaunchAgents" };
    println!("# save as {dir}/{}.plist, then `launchctl bootstrap`", units::LAUNCHD_LABEL);
    print!("{}", units::launchd_notify_plist(bin));
    let dir = if system { "/Library/LaunchAgents" } else { "~/Library/LaunchAgents" };
    println!("# save as {dir}/{}.plist (desktop notifications in each session)", units::LAUNCHD_NOTIFY_LABEL);
}

/// Renders one unit file for the binary at a path.
#[cfg(not(windows))]
type UnitText = fn(&std::path::Path) -> String;

/// The user units `service install --user` writes: the daemon, and the notifier in the
/// graphical session.
#[cfg(not(windows))]
const USER_UNITS: [(&str, UnitText); 2] =
    [("holdfast.service", units::systemd_user_unit), ("holdfast-notify.service", units::systemd_notify_unit)];

#[cfg(not(windows))]
fn user_unit_dir() -> Result<PathBuf> {
    let base = directories::BaseDirs::new().context("cannot find your home directory")?;
    Ok(base.config_dir().join("systemd/user"))
}

/// Windows: the logon entries and a start (see `service::windows::user_plan`).
#[cfg(windows)]
fn user_install(_scope: &Scope, bin: &std::path::Path) -> Result<Exit> {
    carry_out(&windows::user_plan(bin), true)
}

#[cfg(windows)]
fn user_uninstall(_scope: &Scope, bin: &std::path::Path) -> Result<Exit> {
    carry_out(&windows::user_uninstall_plan(bin), true)
}

/// Windows: carries out `steps` (the commands only when `run`) and prints one line per step.
#[cfg(windows)]
fn carry_out(steps: &[windows::Step], run: bool) -> Result<Exit> {
    for line in windows::apply(steps, run)? {
        println!("{line}");
    }
    Ok(Exit::Ok)
}

#[cfg(not(windows))]
fn user_install(scope: &Scope, bin: &std::path::Path) -> Result<Exit> {
    if !cfg!(target_os = "linux") {
        #[cfg(not(target_os = "linux"))]
        print_foreign(scope, bin, false);
        return Ok(Exit::Ok);
    }
    let _ = scope;
    let dir = user_unit_dir()?;
    std::fs::create_dir_all(&dir)?;
    for (name, unit) in USER_UNITS {
        holdfast::paths::write_atomic(&dir.join(name), unit(bin).as_bytes())?;
        println!("wrote {}", dir.join(name).display());
    }
    let systemctl = |args: &[&str]| {
        std::process::Command::new("systemctl").arg("--user").args(args).status().is_ok_and(|s| s.success())
    };
    if systemctl(&["enable", "--now", "holdfast.service"]) {
        println!("enabled and started holdfast.service (systemctl --user status holdfast)");
        // Starts with the graphical session; without one it stays idle rather than failing.
        systemctl(&["enable", "holdfast-notify.service"]);
        println!("enabled holdfast-notify.service (desktop notifications in your graphical session)");
    } else {
        println!(
            "could not reach the systemd user manager: run `systemctl --user enable --now holdfast holdfast-notify`"
        );
    }
    Ok(Exit::Ok)
}

#[cfg(not(windows))]
fn user_uninstall(_scope: &Scope, _bin: &std::path::Path) -> Result<Exit> {
    let dir = user_unit_dir()?;
    for (name, _) in USER_UNITS {
        let _ = std::process::Command::new("systemctl").args(["--user", "disable", "--now", name]).status();
        match std::fs::remove_file(dir.join(name)) {
            Ok(()) => println!("removed {}", dir.join(name).display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                println!("no user unit at {}", dir.join(name).display())
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Exit::Ok)
}

fn status(scope: &Scope, _bin: &std::path::Path) -> Result<Exit> {
    #[cfg(windows)]
    let marker = WindowsInstall { root: scope.root.clone(), bin: _bin.into(), allow: vec![] }.marker_path();
    #[cfg(not(windows))]
    let marker = scope.root.join(holdfast::trust::SYSTEM_MARKER.trim_start_matches('/'));
    match holdfast::trust::SystemDaemon::load(&marker) {
        Ok(s) => {
            let uid = if cfg!(windows) { String::new() } else { format!(" (uid {})", s.uid) };
            println!("system daemon  account {}{uid}, socket {}", s.account, s.socket.display());
            let endpoint = match s.pipe_name() {
                Some(pipe) => holdfast::paths::Endpoint::Pipe(pipe),
                None => holdfast::paths::Endpoint::Socket(s.socket.clone()),
            };
            let client = holdfast::transport::Client::new(endpoint).with_timeout(std::time::Duration::from_secs(2));
            match client.request(holdfast::wire::RequestBody::Ping) {
                Ok(_) => println!("  answering"),
                Err(e) => println!("  not answering: {e}"),
            }
        }
        Err(_) if !marker.exists() => println!("system daemon  not installed ({} absent)", marker.display()),
        Err(e) => println!("system daemon  marker unusable: {e}"),
    }
    print_user_status();
    Ok(Exit::Ok)
}

/// The personal posture's part of `service status`: the user units.
#[cfg(not(windows))]
fn print_user_status() {
    if let Ok(dir) = user_unit_dir() {
        for (name, _) in USER_UNITS {
            let p = dir.join(name);
            println!(
                "user unit      {}",
                if p.exists() { p.display().to_string() } else { format!("{name} not installed") }
            );
        }
    }
}

/// The personal posture's part of `service status`: the logon entries.
#[cfg(windows)]
fn print_user_status() {
    for (name, command) in windows::logon_entries() {
        match command {
            Some(command) => println!("logon entry    {name}: {command}"),
            None => println!("logon entry    {name} not installed"),
        }
    }
}
