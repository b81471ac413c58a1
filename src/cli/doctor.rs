//! `holdfast doctor`: is holdfast actually protecting this machine? Each failing check says how to fix it.

use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Result;
use holdfast::install;
use holdfast::paths::{Endpoint, Paths};
use holdfast::transport::Client;
use holdfast::wire::{RequestBody, ResponseBody};
use serde::Serialize;

use super::Exit;
use super::output::{JsonFlag, print_json};
use super::probe;

#[derive(Serialize, Debug)]
struct Check {
    name: String,
    /// `ok`, `warn` (works, but weaker than it should be), `fail` or `skip` (not checked).
    status: &'static str,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

impl Check {
    fn new(name: impl Into<String>, status: &'static str, detail: impl Into<String>, fix: Option<String>) -> Self {
        Check { name: name.into(), status, detail: detail.into(), fix }
    }
}

/// `holdfast doctor [--json]`.
pub fn doctor(args: &JsonFlag) -> Result<Exit> {
    let mut checks = Vec::new();
    let paths = Paths::from_env()?;
    let client = Client::new(paths.endpoint.clone()).with_timeout(Duration::from_secs(2));
    let status = match client.request(RequestBody::Status).map(|r| r.body) {
        Ok(ResponseBody::Status(s)) => {
            checks.push(Check::new("daemon", "ok", format!("running (pid {}) on {}", s.pid, paths.endpoint), None));
            Some(s)
        }
        Ok(other) => {
            checks.push(Check::new("daemon", "fail", format!("answers oddly: {other:?}"), Some(restart())));
            None
        }
        Err(e) => {
            checks.push(Check::new("daemon", "fail", e.to_string(), Some("start it with `holdfast start`".into())));
            None
        }
    };
    checks.push(match &paths.endpoint {
        Endpoint::Tcp { token_file, .. } => tcp_check(&paths.endpoint, token_file),
        local => endpoint_check(local),
    });
    checks.push(match &status {
        None => Check::new("vault", "skip", "not checked: the daemon is not running", None),
        Some(s) if s.vault.starts_with("degraded") => Check::new(
            "vault",
            "fail",
            s.vault.clone(),
            Some(format!(
                "check {} (holdfast vault status); privileged operations are refused",
                paths.vault().display()
            )),
        ),
        Some(s) if s.vault.contains("v1 vault") => Check::new(
            "vault",
            "warn",
            s.vault.clone(),
            Some("run `holdfast vault upgrade` (asks for the admin password), then restart the daemon".into()),
        ),
        Some(s) if s.vault.is_empty() => Check::new("vault", "ok", "not reported by this daemon", None),
        Some(s) => Check::new("vault", "ok", s.vault.clone(), None),
    });
    checks.push(log_check());
    checks.push(policy_check(&paths, status.as_ref()));
    let home = install::home()?;
    let mut any_installed = false;
    for t in install::targets(&home) {
        let name = format!("agent {}", t.agent);
        let command = match t.installed_command() {
            Ok(c) => c,
            Err(e) => {
                checks.push(Check::new(name, "fail", format!("{e:#}"), Some(format!("fix {}", t.file.display()))));
                continue;
            }
        };
        let Some(command) = command else {
            if t.detected(&home) {
                checks.push(Check::new(
                    name,
                    "fail",
                    format!("installed, but holdfast's hook is not in {}", t.file.display()),
                    Some(format!("run `holdfast init --agent {}`", t.agent)),
                ));
            }
            continue;
        };
        any_installed = true;
        checks.extend(agent_checks(&t, &command, status.is_some().then_some(&client)));
    }
    if status.is_some() && any_installed {
        checks.push(clear_probes(&client));
    }
    if !any_installed {
        checks.push(Check::new(
            "agents",
            "fail",
            "no agent has holdfast's hook, so nothing is intercepted",
            Some("run `holdfast init` (or `holdfast init --agent NAME`)".into()),
        ));
    }
    let ok = checks.iter().all(|c| c.status != "fail");
    if args.json {
        print_json(&serde_json::json!({"ok": ok, "checks": checks}));
    } else {
        for c in &checks {
            let mark = match c.status {
                "ok" => "ok  ",
                "fail" => "FAIL",
                "warn" => "WARN",
                _ => "skip",
            };
            println!("{mark} {:<18} {}", c.name, c.detail);
            if let Some(fix) = &c.fix {
                println!("     {:<18} fix: {fix}", "");
            }
        }
    }
    Ok(if ok { Exit::Ok } else { Exit::Failure })
}

fn restart() -> String {
    "restart it: `holdfast stop && holdfast start`".into()
}

/// The global policy file parses, and the running daemon has no policy error (a failed reload).
fn policy_check(paths: &Paths, status: Option<&holdfast::wire::Status>) -> Check {
    let path = paths.policy();
    match holdfast::policy::Policy::load(&path) {
        Err(e) => Check::new("policy", "fail", e.to_string(), Some(format!("fix {}", path.display()))),
        Ok(_) => match status.and_then(|s| s.policy_error.as_ref()) {
            Some(e) => Check::new(
                "policy",
                "fail",
                format!("the running daemon reports: {e}"),
                Some("fix the file, then `holdfast reload`".into()),
            ),
            None if path.exists() => Check::new("policy", "ok", format!("{} parses", path.display()), None),
            None => Check::new("policy", "ok", "no global policy file: built-in defaults", None),
        },
    }
}

/// A TCP endpoint (`HOLDFAST_ENDPOINT`): its token file must hold a token.
fn tcp_check(endpoint: &Endpoint, token_file: &std::path::Path) -> Check {
    match holdfast::transport::tcp::read_token_file(token_file) {
        Ok(_) => Check::new("endpoint", "ok", format!("{endpoint}, token in {}", token_file.display()), None),
        Err(e) => Check::new("endpoint", "fail", e.describe(token_file), None),
    }
}

#[cfg(unix)]
fn endpoint_check(endpoint: &Endpoint) -> Check {
    use std::os::unix::fs::PermissionsExt;
    let Endpoint::Socket(sock) = endpoint else { unreachable!() };
    let Some(dir) = sock.parent() else { return Check::new("endpoint", "fail", "socket path has no parent", None) };
    let mode = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
    let mut problems = Vec::new();
    match mode(dir) {
        Ok(m) if m & 0o077 == 0 => {}
        Ok(m) => problems.push(format!("{} is {m:o}, want 700", dir.display())),
        Err(_) => return Check::new("endpoint", "skip", format!("{} does not exist yet", dir.display()), None),
    }
    match mode(sock) {
        Ok(m) if m & 0o077 == 0 => {}
        Ok(m) => problems.push(format!("{} is {m:o}, want 600", sock.display())),
        Err(_) => {}
    }
    if problems.is_empty() {
        Check::new("endpoint", "ok", format!("{} is owner-only", sock.display()), None)
    } else {
        let fix = format!("chmod 700 {}; chmod 600 {} (or restart the daemon)", dir.display(), sock.display());
        Check::new("endpoint", "fail", problems.join("; "), Some(fix))
    }
}

#[cfg(not(unix))]
fn endpoint_check(endpoint: &Endpoint) -> Check {
    Check::new("endpoint", "ok", format!("{endpoint} (named pipe with an owner-only ACL)"), None)
}

/// Runs `holdfast log verify` when this build has it.
fn log_check() -> Check {
    let Ok(exe) = std::env::current_exe() else { return Check::new("audit log", "skip", "cannot find holdfast", None) };
    let has = Command::new(&exe)
        .args(["log", "verify", "--help"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has {
        return Check::new("audit log", "skip", "not checked: this build has no `holdfast log verify`", None);
    }
    match Command::new(&exe).args(["log", "verify"]).stdin(Stdio::null()).output() {
        Ok(o) if o.status.success() => Check::new("audit log", "ok", "verifies", None),
        Ok(o) => {
            let text = String::from_utf8_lossy(if o.stderr.is_empty() { &o.stdout } else { &o.stderr }).to_string();
            let first = text.lines().next().unwrap_or("verification failed").to_string();
            Check::new("audit log", "fail", first, Some("run `holdfast log verify` for details".into()))
        }
        Err(e) => Check::new("audit log", "fail", e.to_string(), None),
    }
}

/// One installed agent: the binary its hook names, the hook against the running daemon (or, with
/// no daemon, its offline fallback), and for Codex the user's trust.
fn agent_checks(t: &install::Target, command: &str, daemon: Option<&Client>) -> Vec<Check> {
    let name = format!("agent {}", t.agent);
    let reinstall = Some(format!("run `holdfast init --agent {}` to reinstall it", t.agent));
    let mut checks = Vec::new();
    match probe::program(command) {
        Some(p) if !p.is_file() => {
            let detail = format!("the hook names {}, which does not exist: the agent runs unguarded", p.display());
            return vec![Check::new(name, "fail", detail, reinstall)];
        }
        Some(p) if install::exe::in_build_dir(&p) => checks.push(Check::new(
            format!("{name} binary"),
            "warn",
            format!("{} is a build output: `cargo clean` would unguard this agent", p.display()),
            Some("`make install`, then `holdfast init`".into()),
        )),
        _ => {}
    }
    let probed = match daemon {
        Some(client) => probe::against_daemon(client, t.agent, command),
        None => offline(t.agent, command),
    };
    checks.push(match probed {
        Ok(answer) => Check::new(name.clone(), "ok", format!("hook fires and {answer}"), None),
        Err(why) => Check::new(name.clone(), "fail", format!("hook `{command}` does not protect: {why}"), reinstall),
    });
    if t.agent == "codex" {
        checks.push(match probe::codex_trust(t) {
            Ok(()) => Check::new("codex trust", "ok", "Codex lists holdfast's hook as trusted", None),
            Err(why) => Check::new("codex trust", "fail", why, Some(super::init::CODEX_TRUST.into())),
        });
    }
    checks
}

/// With no daemon: the configured hook against an endpoint nobody serves must deny `rm -rf /`.
fn offline(agent: &str, command: &str) -> Result<String, String> {
    let scratch = tempfile_dir().map_err(|e| format!("cannot make a scratch dir: {e}"))?;
    let socket = if cfg!(unix) {
        scratch.join("absent.sock").display().to_string()
    } else {
        format!("holdfast-doctor-{}", std::process::id())
    };
    let result = probe::run(command, &probe::payload(agent, probe::DANGEROUS)?, Some(&socket));
    let _ = std::fs::remove_dir_all(&scratch);
    match result? {
        (out, Some(0 | 2)) if matches!(probe::decision(agent, &out).as_deref(), Some("deny" | "block")) => {
            Ok("denies `rm -rf /` without the daemon (start it to prove the real path)".into())
        }
        (_, None) => Err("it hung or was killed".into()),
        (out, Some(c)) => Err(format!("it gave {:?} (exit {c}) to `rm -rf /`", out.trim())),
    }
}

/// Denies the held probe commands doctor left in the queue (possible without a vault; with one
/// they wait and expire like any hold).
fn clear_probes(client: &Client) -> Check {
    let items = match client.request(RequestBody::ListPending).map(|r| r.body) {
        Ok(ResponseBody::PendingList { items, .. }) => items,
        _ => return Check::new("probe holds", "skip", "cannot list pending commands", None),
    };
    let probes: Vec<_> = items.into_iter().filter(|i| i.command == probe::DANGEROUS).collect();
    let mut left = 0;
    for item in &probes {
        let deny = holdfast::wire::Decide { pending: item.id.clone(), remember: false, proof: Default::default() };
        if !matches!(client.request(RequestBody::Deny(deny)).map(|r| r.body), Ok(ResponseBody::Pending(_))) {
            left += 1;
        }
    }
    let detail = match left {
        0 => format!("{} probe hold(s) denied", probes.len()),
        n => format!("{n} probe hold(s) left in `holdfast pending` (a vault guards deny); they expire"),
    };
    Check::new("probe holds", "ok", detail, None)
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("holdfast-doctor-{}", std::process::id()));
    holdfast::paths::ensure_private_dir(&dir)?;
    Ok(dir)
}
