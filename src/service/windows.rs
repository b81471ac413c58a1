//! The Windows system install (locked posture): the service under `NT AUTHORITY\LocalService` with
//! its own service SID, its directories under `C:\ProgramData\holdfast` with ACLs set by `icacls`,
//! and the marker that tells clients which pipe and which process to believe (see `trust`).
//!
//! [`WindowsInstall::plan`] is pure (what to run and what to write, in order) and golden-tested
//! on every OS; [`apply`] carries it out: `holdfast service install --system` on Windows runs it as
//! an administrator; with `--root DIR` it stages the files under DIR and prints the commands.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use super::units::{WINDOWS_SERVICE, sc_install};
use crate::trust::{SystemDaemon, WINDOWS_PIPE_PREFIX, WINDOWS_SYSTEM_MARKER};

/// The service's own SID (`sc.exe sidtype … unrestricted`): the daemon's directories are granted
/// to it rather than to LocalService, which other services share.
const SERVICE_SID_NAME: &str = r"NT SERVICE\holdfast";
/// Well-known SIDs in `icacls`' `*SID` form: SYSTEM, BUILTIN\Administrators, BUILTIN\Users.
const SYSTEM: &str = "*S-1-5-18";
const ADMINS: &str = "*S-1-5-32-544";
const USERS: &str = "*S-1-5-32-545";

/// Who may do what in each directory (relative to the install dir; `""` is the dir itself, which
/// holds the marker). Every directory's inherited ACEs are removed first (`/inheritance:r`), so
/// these lines are the whole ACL. `(OI)(CI)`: files and subdirectories inherit the grant.
const ACLS: [(&str, &[(&str, &str)]); 4] = [
    // The marker: administrators write it, every user's client reads it (as /etc/holdfast.toml, 0644).
    ("", &[(SYSTEM, "F"), (ADMINS, "F"), (USERS, "RX")]),
    // Policy and vault: the service reads and updates them; no user reads them.
    ("config", &[(SYSTEM, "F"), (ADMINS, "F"), (SERVICE_SID_NAME, "M")]),
    // The audit log and sealing key: the service's alone (as /var/lib/holdfast, 0700).
    ("data", &[(SYSTEM, "F"), (ADMINS, "F"), (SERVICE_SID_NAME, "M")]),
    // The PID file clients compare the pipe's server with: only the service writes it, users read it.
    ("run", &[(SYSTEM, "F"), (ADMINS, "F"), (SERVICE_SID_NAME, "M"), (USERS, "RX")]),
];

/// One step of an install or uninstall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Create a directory (and its parents).
    CreateDir(PathBuf),
    /// Run a program with arguments (printed instead when staging).
    Run(Vec<String>),
    /// Write a file (it inherits its directory's ACL).
    Write(PathBuf, String),
    /// Remove a file or directory tree, if present.
    Remove(PathBuf),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::CreateDir(p) => write!(f, "mkdir {}", p.display()),
            Step::Run(argv) => write!(f, "{}", argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")),
            Step::Write(p, text) => write!(f, "write {}:\n{text}", p.display()),
            Step::Remove(p) => write!(f, "remove {}", p.display()),
        }
    }
}

/// Quotes an argument for display as a command line would need it (spaces, parentheses, quotes).
fn quote(arg: &str) -> String {
    if arg.is_empty() || arg.contains([' ', '(', ')', '"']) {
        format!("\"{}\"", arg.replace('"', "\\\""))
    } else {
        arg.to_owned()
    }
}

/// One Windows system install.
#[derive(Debug, Clone)]
pub struct WindowsInstall {
    /// Prefix for every file (`/` for a real install: `C:\ProgramData\holdfast`).
    pub root: PathBuf,
    /// The installed binary the service runs.
    pub bin: PathBuf,
    /// SIDs (users or groups) whose processes may connect to the pipe.
    pub allow: Vec<String>,
}

impl WindowsInstall {
    fn staged(&self) -> bool {
        self.root != Path::new("/")
    }

    /// The directory holding the marker and the daemon's directories.
    pub fn dir(&self) -> PathBuf {
        match WINDOWS_SYSTEM_MARKER.rsplit_once('\\') {
            Some((dir, _)) if !self.staged() => PathBuf::from(dir),
            _ => self.root.join("ProgramData").join("holdfast"),
        }
    }

    /// `name` inside [`Self::dir`], joined with `\` on every OS (the golden plan is the same text
    /// wherever it is rendered).
    fn at(&self, name: &str) -> PathBuf {
        match name {
            "" => self.dir(),
            _ => PathBuf::from(format!("{}\\{name}", self.dir().display())),
        }
    }

    /// The marker's path.
    pub fn marker_path(&self) -> PathBuf {
        self.at(WINDOWS_SYSTEM_MARKER.rsplit('\\').next().unwrap_or_default())
    }

    /// What the marker says: the pipe (a staged install gets its own, so stagings never share one),
    /// the directories, the allowed SIDs.
    pub fn layout(&self) -> SystemDaemon {
        let pipe = if self.staged() {
            let digest = Sha256::digest(self.dir().to_string_lossy().as_bytes());
            format!("{WINDOWS_PIPE_PREFIX}holdfast-{}", &hex::encode(digest)[..12])
        } else {
            format!("{WINDOWS_PIPE_PREFIX}holdfast")
        };
        let start = if self.staged() {
            format!("holdfast daemon (with HOLDFAST_SYSTEM={})", self.marker_path().display())
        } else {
            format!("sc.exe start {WINDOWS_SERVICE}")
        };
        SystemDaemon {
            account: r"NT AUTHORITY\LocalService".into(),
            uid: 0,
            gid: 0,
            config_dir: self.at("config"),
            data_dir: self.at("data"),
            socket: pipe.into(),
            start,
            run_dir: Some(self.at("run")),
            allow: self.allow.clone(),
        }
    }

    /// The install, in order: the service (so its SID exists for the ACLs), the directories and
    /// their ACLs, the marker, then the start (the daemon reads the marker when it starts).
    pub fn plan(&self) -> Vec<Step> {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let sc = |args: Vec<String>| Step::Run([vec!["sc.exe".to_string()], args].concat());
        let mut install = sc_install(&self.bin);
        let start = install.pop().expect("sc_install ends with the start");
        let mut steps: Vec<Step> = install.into_iter().map(sc).collect();
        // Gives the service its own SID (NT SERVICE\holdfast), which the ACLs below name.
        steps.push(sc(s(&["sidtype", WINDOWS_SERVICE, "unrestricted"])));
        steps.extend(ACLS.iter().map(|(sub, _)| Step::CreateDir(self.at(sub))));
        let shown = self.dir().display().to_string();
        // A directory a user created first (ProgramData lets users create folders, and CREATOR
        // OWNER then gets full control) is taken over: administrators own it and every explicit
        // ACE, the user's included, is dropped before the grants below.
        steps.push(Step::Run(s(&["icacls", &shown, "/setowner", ADMINS, "/T", "/C", "/Q"])));
        steps.push(Step::Run(s(&["icacls", &shown, "/reset", "/T", "/C", "/Q"])));
        for (sub, grants) in ACLS {
            let mut argv = s(&["icacls", &self.at(sub).display().to_string(), "/inheritance:r", "/grant:r"]);
            argv.extend(grants.iter().map(|(who, what)| format!("{who}:(OI)(CI){what}")));
            argv.push("/Q".into());
            steps.push(Step::Run(argv));
        }
        steps.push(Step::Write(self.marker_path(), self.layout().to_toml()));
        steps.push(sc(start));
        steps
    }

    /// The uninstall: stop and delete the service, remove the marker and the run dir; with
    /// `purge` also the config and data (vault, policy, audit log).
    pub fn uninstall_plan(&self, purge: bool) -> Vec<Step> {
        let mut steps: Vec<Step> = super::units::sc_uninstall()
            .into_iter()
            .map(|args| Step::Run([vec!["sc.exe".to_string()], args].concat()))
            .collect();
        steps.extend([Step::Remove(self.marker_path()), Step::Remove(self.at("run"))]);
        if purge {
            steps.push(Step::Remove(self.dir()));
        }
        steps
    }
}

/// The registry key whose values the user's logon runs (no administrator needed to write it).
pub const RUN_KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";
/// The personal posture's logon entries: the value's name and the subcommand it runs.
const LOGON_ENTRIES: [(&str, &str); 2] = [("holdfast", "start"), ("holdfast-notify", "notify")];

/// The personal posture on Windows (`service install --user`): no service and no administrator;
/// the user's logon starts the daemon (`holdfast start`) and the notifier, and the daemon is
/// started now. Nothing restarts a daemon that dies before the next logon (the hook's fallback
/// applies meanwhile); the locked posture's service is restarted on failure.
pub fn user_plan(bin: &Path) -> Vec<Step> {
    let mut steps: Vec<Step> = LOGON_ENTRIES
        .iter()
        .map(|(name, sub)| {
            let command = format!("\"{}\" {sub}", bin.display());
            Step::Run(
                ["reg", "add", RUN_KEY, "/v", name, "/t", "REG_SZ", "/d", &command, "/f"].map(String::from).to_vec(),
            )
        })
        .collect();
    steps.push(Step::Run(vec![bin.display().to_string(), "start".into()]));
    steps
}

/// Undoes [`user_plan`]: the logon entries removed, the daemon stopped.
pub fn user_uninstall_plan(bin: &Path) -> Vec<Step> {
    let mut steps: Vec<Step> = LOGON_ENTRIES
        .iter()
        .map(|(name, _)| Step::Run(["reg", "delete", RUN_KEY, "/v", name, "/f"].map(String::from).to_vec()))
        .collect();
    steps.push(Step::Run(vec![bin.display().to_string(), "stop".into()]));
    steps
}

/// Each logon entry of the personal posture and the command it runs, if installed (`reg query`).
pub fn logon_entries() -> Vec<(&'static str, Option<String>)> {
    let query = |name: &str| {
        let out = Command::new("reg").args(["query", RUN_KEY, "/v", name]).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // `    holdfast    REG_SZ    "C:\…\holdfast.exe" start`
        let line = text.lines().find(|l| l.contains("REG_SZ"))?;
        out.status.success().then(|| line.split_once("REG_SZ").map(|(_, v)| v.trim().to_owned()))?
    };
    LOGON_ENTRIES.iter().map(|(name, _)| (*name, query(name))).collect()
}

/// Carries out `steps`: files always; commands only when `run` (a real install), else printed.
/// Returns one line per step done (printed by the CLI). A failing command stops the install.
pub fn apply(steps: &[Step], run: bool) -> Result<Vec<String>> {
    let mut done = Vec::new();
    for step in steps {
        match step {
            Step::CreateDir(p) => {
                std::fs::create_dir_all(p).with_context(|| format!("cannot create {}", p.display()))?
            }
            Step::Write(p, text) => crate::paths::write_atomic(p, text.as_bytes())
                .with_context(|| format!("cannot write {}", p.display()))?,
            Step::Remove(p) => remove_any(p)?,
            Step::Run(argv) if run => {
                if let Some(note) = run_step(argv)? {
                    done.push(format!("{step}: {note}"));
                    continue;
                }
            }
            Step::Run(_) => {
                done.push(format!("run: {step}"));
                continue;
            }
        }
        done.push(match step {
            Step::Write(p, _) => format!("wrote {}", p.display()),
            other => other.to_string(),
        });
    }
    Ok(done)
}

/// Failures that leave the machine as the step wanted it: the program (its file stem), the verb,
/// the exit code, and what the step reports instead. `sc.exe` exits with the Win32 error; they
/// make a second install (to change the allowed users) and an uninstall of a stopped service go
/// through. `reg delete` of a value that is not there exits 1; `holdfast start` exits 7 when a
/// daemon already answers, `holdfast stop` 3 when none does.
const ALREADY_DONE: [(&str, &str, i32, &str); 8] = [
    ("sc", "create", 1073, "the service exists already; kept"),
    (
        "sc",
        "start",
        1056,
        "the service is already running: restart it (sc.exe stop, sc.exe start) to apply a changed marker",
    ),
    ("sc", "stop", 1062, "the service was not running"),
    ("sc", "stop", 1060, "no such service"),
    ("sc", "delete", 1060, "no such service"),
    ("reg", "delete", 1, "was not installed"),
    ("holdfast", "start", 7, "the daemon is already running"),
    ("holdfast", "stop", 3, "the daemon was not running"),
];

/// The note for a command that exited with `code` in a way [`ALREADY_DONE`] accepts.
fn already_done(argv: &[String], code: Option<i32>) -> Option<&'static str> {
    let (program, verb) = (argv.first()?, argv.get(1)?);
    let stem = Path::new(program).file_stem()?.to_str()?;
    ALREADY_DONE
        .iter()
        .find(|(p, v, c, _)| stem.eq_ignore_ascii_case(p) && verb == v && code == Some(*c))
        .map(|(_, _, _, note)| *note)
}

/// Runs one command; returns a note when it failed in a way [`ALREADY_DONE`] accepts.
fn run_step(argv: &[String]) -> Result<Option<&'static str>> {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    // The daemon `holdfast start` leaves running inherits the step's handles: a pipe capturing its
    // output would stay open (and this install wait) as long as the daemon runs.
    if Path::new(&argv[0]).file_stem().is_some_and(|s| s.eq_ignore_ascii_case("holdfast")) {
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    }
    let out = cmd.output().with_context(|| format!("cannot run {}", argv[0]))?;
    if out.status.success() {
        return Ok(None);
    }
    match already_done(argv, out.status.code()) {
        Some(note) => Ok(Some(note)),
        None => bail!(
            "`{}` failed: {}{}",
            argv.join(" "),
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    }
}

fn remove_any(path: &Path) -> Result<()> {
    let r = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
    };
    r.with_context(|| format!("cannot remove {}", path.display()))
}

/// Resolves `--allow-user NAME` to a SID: a SID is taken as is; a user or group name is
/// translated by PowerShell (.NET's `NTAccount.Translate`), the name passed through the
/// environment so it is never parsed as code.
pub fn resolve_sid(name: &str) -> Result<String> {
    if name.starts_with("S-1-") {
        return Ok(name.to_owned());
    }
    let script = "([System.Security.Principal.NTAccount]$env:HOLDFAST_ALLOW_NAME)\
                  .Translate([System.Security.Principal.SecurityIdentifier]).Value";
    let out = Command::new("powershell")
        .args(["-NoProfile", "-NonInteractive", "-Command", script])
        .env("HOLDFAST_ALLOW_NAME", name)
        .output()
        .context("cannot run powershell to resolve an account name to its SID; pass the SID (S-1-…) instead")?;
    let sid = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || !sid.starts_with("S-1-") {
        bail!("no account `{name}`: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(sid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sc_failures_that_leave_the_wanted_state_are_notes_not_errors() {
        let argv = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(already_done(&argv(&["sc.exe", "create", "holdfast"]), Some(1073)).unwrap().contains("exists"));
        assert!(already_done(&argv(&["sc.exe", "start", "holdfast"]), Some(1056)).unwrap().contains("restart it"));
        assert!(already_done(&argv(&["sc.exe", "delete", "holdfast"]), Some(1060)).is_some());
        assert_eq!(already_done(&argv(&["sc.exe", "create", "holdfast"]), Some(5)), None, "access denied stops");
        assert_eq!(already_done(&argv(&["icacls", "create"]), Some(1073)), None);
        assert_eq!(already_done(&argv(&["sc.exe"]), Some(1073)), None);
    }

    #[test]
    fn a_staged_install_writes_files_and_prints_commands() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("marker.toml");
        let steps = [
            Step::CreateDir(root.path().join("run")),
            Step::Run(vec!["sc.exe".into(), "start".into(), "holdfast".into()]),
            Step::Write(file.clone(), "x = 1\n".into()),
        ];
        let done = apply(&steps, false).unwrap();
        assert_eq!(done[1], "run: sc.exe start holdfast");
        assert!(done[2].starts_with("wrote ") && root.path().join("run").is_dir());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "x = 1\n");
    }
}
