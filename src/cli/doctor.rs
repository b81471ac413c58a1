//! `holdfast doctor`: is holdfast actually protecting this machine? Each failing check says how to fix it.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Result;
use holdfast::hook;
use holdfast::install;
use holdfast::paths::{Endpoint, Paths};
use holdfast::transport::Client;
use holdfast::wire::{RequestBody, ResponseBody};
use serde::Serialize;
use serde_json::Value;

use super::Exit;
use super::output::{JsonFlag, print_json};

/// How long a hook probe may take before it counts as hanging.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Serialize, Debug)]
struct Check {
    name: String,
    /// `ok`, `fail` or `skip` (not checked).
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
    checks.push(endpoint_check(&paths.endpoint));
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
        checks.push(match probe(t.agent, &command) {
            Ok(answer) => Check::new(name, "ok", format!("hook fires and answers {answer} to `rm -rf /`"), None),
            Err(why) => Check::new(
                name,
                "fail",
                format!("hook `{command}` does not protect: {why}"),
                Some(format!("run `holdfast init --agent {}` to reinstall it", t.agent)),
            ),
        });
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

/// Runs an agent's configured hook command on a synthetic `rm -rf /` payload, offline (an endpoint
/// nobody serves), so the probe neither queues a hold nor depends on the daemon. Returns the answer.
fn probe(agent: &str, command: &str) -> Result<String, String> {
    let dialect = hook::dialect(agent).ok_or("unknown agent")?;
    let scratch = tempfile_dir().map_err(|e| format!("cannot make a scratch dir: {e}"))?;
    let cwd = std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_else(|_| "/".into());
    let payload = dialect.sample("rm -rf /", &cwd).to_string();
    #[cfg(unix)]
    let (mut cmd, socket) = {
        let mut c = Command::new("sh");
        c.arg("-c").arg(command);
        (c, scratch.join("absent.sock").display().to_string())
    };
    #[cfg(not(unix))]
    let (mut cmd, socket) = {
        let mut c = Command::new("cmd");
        c.arg("/C").arg(command);
        (c, format!("holdfast-doctor-{}", std::process::id()))
    };
    let child =
        cmd.env("HOLDFAST_SOCKET", socket).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let result = match child {
        Err(e) => Err(format!("cannot run it: {e}")),
        Ok(mut child) => {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(payload.as_bytes());
            }
            let deadline = Instant::now() + PROBE_TIMEOUT;
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                    _ => {
                        let _ = child.kill();
                        break;
                    }
                }
            }
            match child.wait_with_output() {
                Ok(o) => judge(agent, &String::from_utf8_lossy(&o.stdout), o.status.code()),
                Err(e) => Err(e.to_string()),
            }
        }
    };
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// Reads a dialect's answer: `deny` or `ask` pass.
fn judge(agent: &str, stdout: &str, code: Option<i32>) -> Result<String, String> {
    let v: Value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    let answer = match agent {
        "claude-code" | "codex" => v["hookSpecificOutput"]["permissionDecision"].as_str(),
        "gemini" => v["decision"].as_str(),
        "cursor" => v["permission"].as_str(),
        "copilot" => v["permissionDecision"].as_str(),
        _ => v["decision"].as_str(),
    };
    match (answer, code) {
        (Some(a @ ("deny" | "ask" | "block")), Some(0 | 2)) => Ok(a.to_string()),
        (_, None) => Err("it hung or was killed".into()),
        (Some(a), Some(c)) => Err(format!("it answered {a} (exit {c})")),
        (None, Some(c)) => Err(format!("it gave no decision (exit {c}, stdout {:?})", stdout.trim())),
    }
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("holdfast-doctor-{}", std::process::id()));
    holdfast::paths::ensure_private_dir(&dir)?;
    Ok(dir)
}
