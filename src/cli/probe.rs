//! `doctor`'s proof that each agent's configured hook protects: the binary it names exists, the
//! hook — run exactly as configured — answers a catastrophic command with hold or deny and a
//! harmless one with no opinion from the running daemon, and Codex trusts it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use holdfast::hook;
use holdfast::install::Target;
use holdfast::transport::Client;
use holdfast::wire::{RequestBody, ResponseBody};
use serde_json::Value;

/// How long a hook probe may take before it counts as hanging.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// The catastrophic probe; the comment tells a human who sees it held what it is.
pub const DANGEROUS: &str = "rm -rf / # holdfast doctor probe";
/// The harmless probe: must come back as no opinion.
pub const HARMLESS: &str = "true # holdfast doctor probe";

/// The program a hook command runs: the first word after `NAME=value` assignments, unquoted.
pub fn program(command: &str) -> Option<PathBuf> {
    let word = words(command).into_iter().find(|w| !is_assignment(w))?;
    let p = PathBuf::from(&word);
    if p.components().count() > 1 {
        return Some(p);
    }
    // A bare name runs from PATH, as the agent's shell would find it.
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(&word)).find(|c| c.is_file()).or(Some(p))
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// Splits the command lines `init` writes: plain words, '…' (with '\'' inside), "…".
fn words(command: &str) -> Vec<String> {
    let (mut out, mut cur, mut quote, mut any) = (Vec::new(), String::new(), None::<char>, false);
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            // sh: a backslash outside quotes escapes the next character (Windows paths are literal).
            (None, '\\') if cfg!(unix) => cur.extend(chars.next()),
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => (quote, any) = (Some(c), true),
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Runs `command` (as the agent would: `sh -c`, or `cmd /C`) with `payload` on stdin; `socket`
/// overrides the endpoint. Returns stdout and the exit code (`None`: hung, killed).
pub fn run(command: &str, payload: &str, socket: Option<&str>) -> Result<(String, Option<i32>), String> {
    let mut cmd = if cfg!(unix) { Command::new("sh") } else { Command::new("cmd") };
    cmd.arg(if cfg!(unix) { "-c" } else { "/C" }).arg(command);
    if let Some(s) = socket {
        cmd.env("HOLDFAST_SOCKET", s);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run it: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(payload.as_bytes());
    }
    let deadline = Instant::now() + PROBE_TIMEOUT;
    let mut hung = false;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                hung = true;
                break;
            }
        }
    }
    let o = child.wait_with_output().map_err(|e| e.to_string())?;
    Ok((String::from_utf8_lossy(&o.stdout).into_owned(), if hung { None } else { o.status.code() }))
}

/// The decision word a dialect's stdout carries (`None`: no opinion).
pub fn decision(agent: &str, stdout: &str) -> Option<String> {
    let v: Value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    let d = match agent {
        "claude-code" | "codex" => v["hookSpecificOutput"]["permissionDecision"].as_str(),
        "cursor" => v["permission"].as_str(),
        "copilot" => v["permissionDecision"].as_str(),
        _ => v["decision"].as_str(),
    };
    d.map(str::to_owned)
}

/// The payload of a probe for `agent`.
pub fn payload(agent: &str, command: &str) -> Result<String, String> {
    let dialect = hook::dialect(agent).ok_or("unknown agent")?;
    let cwd = std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_else(|_| "/".into());
    Ok(dialect.sample(command, &cwd).to_string())
}

/// Probes the configured hook against the running daemon: the dangerous command must come back
/// hold (ask) or deny, the harmless one as no opinion. Waiting dialects are told not to wait.
pub fn against_daemon(client: &Client, agent: &str, command: &str) -> Result<String, String> {
    let quick = holdfast::install::with_hook_args(command, "--hold-wait-ms 1");
    let before = log_seq(client);
    let (out, code) = run(&quick, &payload(agent, DANGEROUS)?, None)?;
    // The daemon records every proposal: no new record means the hook reached no daemon, or
    // another one (a fallback answer proves nothing about the real path).
    if log_seq(client).is_some_and(|after| Some(after) <= before) {
        return Err("it never reached the running daemon (nothing was recorded); check HOLDFAST_HOME/HOLDFAST_SOCKET \
                    in the hook command and where the agent runs"
            .into());
    }
    let answer = match (decision(agent, &out).as_deref(), code) {
        (Some(a @ ("deny" | "ask" | "block")), Some(0 | 2)) => a.to_string(),
        (_, None) => return Err("it hung or was killed".into()),
        (a, Some(c)) => return Err(format!("it answered {} to `rm -rf /` (exit {c})", a.unwrap_or("nothing"))),
    };
    let (out, code) = run(&quick, &payload(agent, HARMLESS)?, None)?;
    match (decision(agent, &out), code) {
        (None, Some(0)) => Ok(format!("answers {answer} to `rm -rf /` and no opinion to `true`")),
        (a, c) => Err(format!(
            "it answered {} (exit {c:?}) to a harmless command; it should have no opinion",
            a.as_deref().unwrap_or("nothing")
        )),
    }
}

/// The running daemon's audit head.
fn log_seq(client: &Client) -> Option<u64> {
    match client.request(RequestBody::LogHead).map(|r| r.body) {
        Ok(ResponseBody::LogHead(h)) => Some(h.seq),
        _ => None,
    }
}

/// Codex's own record of whether the user trusted holdfast's hook: `[hooks.state."<hooks.json>:
/// pre_tool_use:<group>:<handler>"]` in `config.toml` beside `hooks.json`. `Ok` when trusted and
/// enabled; the error says what to do. Codex keys trust to the hook's content; its hash is
/// Codex's to compute, so a hook changed since it was trusted shows here as trusted.
pub fn codex_trust(t: &Target) -> Result<(), String> {
    let hooks: Value = std::fs::read_to_string(&t.file)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .ok_or("cannot read hooks.json")?;
    let groups = hooks["hooks"]["PreToolUse"].as_array().cloned().unwrap_or_default();
    let (g, h) = groups
        .iter()
        .enumerate()
        .find_map(|(g, group)| {
            let hs = group["hooks"].as_array()?;
            hs.iter().position(|e| e["command"].as_str().is_some_and(holdfast::install::is_ours)).map(|h| (g, h))
        })
        .ok_or("holdfast's PreToolUse hook is not in hooks.json")?;
    let config = t.file.with_file_name("config.toml");
    let text = std::fs::read_to_string(&config).unwrap_or_default();
    let doc: toml::Table = text.parse().map_err(|e| format!("cannot read {}: {e}", config.display()))?;
    let states = doc.get("hooks").and_then(|h| h.get("state")).and_then(toml::Value::as_table);
    let key = format!("{}:pre_tool_use:{g}:{h}", codex_path(&t.file).display());
    let state = states.and_then(|s| s.get(&key)).and_then(toml::Value::as_table);
    match state {
        None => Err("Codex has not been told to trust it, so Codex does not run it".into()),
        Some(s) if s.get("enabled").and_then(toml::Value::as_bool) == Some(false) => {
            Err("it is disabled in Codex".into())
        }
        Some(s) if s.get("trusted_hash").and_then(toml::Value::as_str).is_some() => Ok(()),
        Some(_) => Err("Codex lists it without trusting it".into()),
    }
}

/// The path Codex names the file by (absolute, symlinks resolved as Codex resolves its home).
fn codex_path(file: &Path) -> PathBuf {
    dunce::canonicalize(file).unwrap_or_else(|_| file.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_of_a_hook_command() {
        let p = |c: &str| program(c).map(|p| p.display().to_string());
        assert_eq!(p("/usr/bin/holdfast hook --agent x").as_deref(), Some("/usr/bin/holdfast"));
        #[cfg(unix)]
        assert_eq!(p("HOLDFAST_HOME='/a b' '/o'\\''k/holdfast' hook --agent x").as_deref(), Some("/o'k/holdfast"));
        assert_eq!(p("HOLDFAST_HOME=/h \"C:\\P F\\holdfast.exe\" hook").as_deref(), Some("C:\\P F\\holdfast.exe"));
    }
}
