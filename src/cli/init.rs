//! `holdfast init`: install holdfast's hook into every detected agent (and start the daemon).

use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use clap::Args;
use holdfast::install::{self, Target};

use super::Exit;
use super::output::print_json;

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Only these agents (repeat or comma-separate); default: every detected agent.
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(
        ["claude-code", "codex", "gemini", "cursor", "copilot"]))]
    agent: Vec<String>,
    /// Show what would change, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Remove exactly the entries init added.
    #[arg(long)]
    undo: bool,
    /// Do not start the daemon.
    #[arg(long)]
    no_start: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Install the hook in each agent's machine-wide managed settings (needs root); see
    /// `holdfast::install::managed`.
    #[arg(long, conflicts_with_all = ["undo", "agent"])]
    system: bool,
}

/// `holdfast init`.
pub fn init(args: &InitArgs) -> Result<Exit> {
    if args.system {
        return init_system(args);
    }
    let home = install::home()?;
    let current = std::env::current_exe().context("cannot find the holdfast executable")?;
    // dunce: on Windows a plain `C:\…` path where one is valid, not the `\\?\C:\…` that cmd cannot run.
    let current = dunce::canonicalize(&current).unwrap_or(current);
    let chosen = install::exe::choose(&current, std::env::var_os("PATH").as_deref());
    let env = install::exe::carried_env(&|k| std::env::var_os(k));
    let selected: Vec<Target> = install::targets(&home)
        .into_iter()
        .filter(|t| {
            if args.agent.is_empty() {
                t.detected(&home) || (args.undo && t.file.exists())
            } else {
                args.agent.iter().any(|a| a == t.agent)
            }
        })
        .collect();
    if selected.is_empty() {
        bail!(
            "no agent detected under {}; name one with --agent (claude-code, codex, gemini, cursor, copilot)",
            home.display()
        );
    }
    if !args.undo {
        if let Some(w) = &chosen.warning {
            eprintln!("holdfast: WARNING: {w}");
        }
        if !env.is_empty() && !install::exe::carries_env() {
            eprintln!(
                "holdfast: WARNING: HOLDFAST_HOME/HOLDFAST_SOCKET are set but a Windows hook command cannot carry \
                 them; set them where the agent runs too"
            );
        }
    }
    let mut failed = false;
    let mut report = Vec::new();
    for t in &selected {
        let command = install::hook_command(&chosen.path, t.agent, &env);
        let planned = if args.undo {
            install::plan_undo(t)
        } else {
            install::plan_install(t, &command, t.agent == "gemini" && gemini_has_ask())
        };
        let result = planned.and_then(|c| {
            let backup = if args.dry_run { None } else { install::apply(&c)? };
            Ok((c, backup))
        });
        match result {
            Ok((c, backup)) => {
                if !args.json {
                    print_change(&c, backup.as_deref(), args.dry_run);
                }
                report.push(serde_json::json!({"agent": c.agent, "file": c.file, "changed": c.changed,
                    "summary": c.summary, "backup": backup, "dry_run": args.dry_run}));
            }
            Err(e) => {
                failed = true;
                eprintln!("holdfast: {}: {e:#}", t.agent);
                report.push(serde_json::json!({"agent": t.agent, "file": t.file, "error": format!("{e:#}")}));
            }
        }
    }
    let mut daemon = serde_json::Value::Null;
    if !args.dry_run && !args.undo && !args.no_start {
        daemon = ensure_daemon(&current);
        if !args.json {
            println!("{NOTIFY_HINT}");
        }
    }
    if args.json {
        print_json(&serde_json::json!({"agents": report, "daemon": daemon, "binary": chosen.path,
            "warning": chosen.warning}));
    }
    Ok(if failed { Exit::Failure } else { Exit::Ok })
}

/// How the human learns of a held command; `init` says it once the hooks are in place.
const NOTIFY_HINT: &str = "held commands wait for you: `holdfast console` answers them; for desktop notifications \
     run `holdfast notify` in your session, or `holdfast service install --user` to start it with every session";

/// Prints one file's change, and what the user must still do for that agent.
fn print_change(c: &install::Change, backup: Option<&std::path::Path>, dry_run: bool) {
    let verb = if dry_run { "would change" } else { "changed" };
    let state = if c.changed { verb } else { "unchanged" };
    println!("{} ({}): {state}", c.agent, c.file.display());
    for line in &c.summary {
        println!("  {line}");
    }
    if c.summary.is_empty() {
        println!("  (no holdfast entries)");
    }
    match backup {
        Some(b) if b.to_string_lossy().ends_with(".holdfast-created") => {
            println!("  new file (`holdfast init --undo` removes it)")
        }
        Some(b) => println!("  backup: {} (`holdfast init --undo` restores it)", b.display()),
        None => {}
    }
    if c.agent == "codex" && !c.undo {
        println!("  {CODEX_TRUST}");
    }
}

/// Codex runs a new or changed hook only after the user trusts it in its `/hooks` review.
pub const CODEX_TRUST: &str = "Codex runs a new hook only after you trust it: start `codex`, open `/hooks` and trust \
     holdfast's hook (until then Codex runs commands without it; `holdfast doctor` checks).";

/// True when the installed Gemini CLI honours `decision: "ask"` (it is asked for its version;
/// a Gemini that does not answer within a few seconds keeps the wait).
fn gemini_has_ask() -> bool {
    let Ok(mut child) = Command::new("gemini")
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            let mut out = String::new();
            let _ = child.stdout.take().map(|mut o| std::io::Read::read_to_string(&mut o, &mut out));
            return holdfast::hook::gemini::version_has_ask(&out);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// Starts the daemon when nothing answers (`holdfast start`); reports what happened.
fn ensure_daemon(exe: &std::path::Path) -> serde_json::Value {
    if super::lifecycle::client().ok().and_then(|c| super::lifecycle::running_pid(&c)).is_some() {
        return serde_json::json!("running");
    }
    let out = Command::new(exe).arg("start").stdin(Stdio::null()).output();
    match out {
        Ok(o) if o.status.success() => {
            eprint!("{}", String::from_utf8_lossy(&o.stdout));
            serde_json::json!("started")
        }
        Ok(o) => {
            eprintln!("holdfast: could not start the daemon: {}", String::from_utf8_lossy(&o.stderr).trim());
            serde_json::json!("failed")
        }
        Err(e) => {
            eprintln!("holdfast: could not start the daemon: {e}");
            serde_json::json!("failed")
        }
    }
}

/// `holdfast init --system`: the managed hook layers (see `holdfast::install::managed`).
fn init_system(args: &InitArgs) -> Result<Exit> {
    use holdfast::install::managed;
    let exe = std::env::current_exe().context("cannot find the holdfast executable")?;
    let exe = dunce::canonicalize(&exe).unwrap_or(exe);
    let path = managed::claude_managed_settings();
    // A system daemon is found through its marker: the managed hook carries no environment.
    let command = install::hook_command(&exe, "claude-code", &[]);
    if args.dry_run {
        println!("would write {} with `{command}` and allowManagedHooksOnly", path.display());
    } else {
        managed::install_claude(&path, &command)?;
        println!("claude-code: {} (allowManagedHooksOnly: user and project hooks are ignored)", path.display());
    }
    for (agent, note) in managed::UNMANAGED {
        println!("{agent}: {note}");
    }
    Ok(Exit::Ok)
}
