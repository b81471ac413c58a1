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
    let exe = std::env::current_exe().context("cannot find the holdfast executable")?;
    // dunce: on Windows a plain `C:\…` path where one is valid, not the `\\?\C:\…` that cmd cannot run.
    let exe = dunce::canonicalize(&exe).unwrap_or(exe);
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
    let mut failed = false;
    let mut report = Vec::new();
    for t in &selected {
        let command = install::hook_command(&exe, t.agent);
        let planned = if args.undo { install::plan_undo(t) } else { install::plan_install(t, &command) };
        let result = planned.and_then(|c| {
            let backup = if args.dry_run { None } else { install::apply(&c)? };
            Ok((c, backup))
        });
        match result {
            Ok((c, backup)) => {
                if !args.json {
                    let verb = if args.dry_run { "would change" } else { "changed" };
                    let state = if c.changed { verb } else { "unchanged" };
                    println!("{} ({}): {state}", c.agent, c.file.display());
                    for line in &c.summary {
                        println!("  {line}");
                    }
                    if c.summary.is_empty() {
                        println!("  (no holdfast entries)");
                    }
                    if let Some(b) = &backup {
                        println!("  backup: {}", b.display());
                    }
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
        daemon = ensure_daemon(&exe);
    }
    if args.json {
        print_json(&serde_json::json!({"agents": report, "daemon": daemon}));
    }
    Ok(if failed { Exit::Failure } else { Exit::Ok })
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
    let command = install::hook_command(&exe, "claude-code");
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
