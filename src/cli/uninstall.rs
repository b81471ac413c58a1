//! `holdfast uninstall`: the plan first; `--yes` carries it out.
//!
//! Order matters: the daemon is stopped first, which with a vault needs the admin password (so
//! an agent cannot uninstall its own guard); only then are the agents' hooks taken out (each config
//! back to its original bytes where init's backup allows) and holdfast's files removed. If the
//! daemon refuses to stop, nothing else is touched.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use holdfast::install;
use holdfast::paths::Paths;

use super::Exit;
use super::auth::{PasswordArgs, read_password};
use super::lifecycle::{StopArgs, client, running_pid, stop};
use super::output::print_json;

#[derive(Args, Debug)]
pub struct UninstallArgs {
    /// Carry out the plan (without it, only the plan is shown).
    #[arg(long)]
    yes: bool,
    /// Keep holdfast's config and data (policy, vault, audit log); remove only hooks and the daemon.
    #[arg(long)]
    keep_data: bool,
    /// Print the plan (and the result) as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    password: PasswordArgs,
}

/// What uninstall would do.
struct Plan {
    daemon: Option<u32>,
    hooks: Vec<install::Change>,
    dirs: Vec<PathBuf>,
    vault: bool,
}

fn plan(args: &UninstallArgs, paths: &Paths) -> Result<Plan> {
    let daemon = client().ok().and_then(|c| running_pid(&c));
    let home = install::home()?;
    let mut hooks = Vec::new();
    for t in install::targets(&home) {
        if t.file.exists() {
            let change = install::plan_undo(&t)?;
            if !change.summary.is_empty() {
                hooks.push(change);
            }
        }
    }
    let mut dirs = Vec::new();
    if !args.keep_data {
        for d in [&paths.run_dir, &paths.data_dir, &paths.config_dir] {
            if d.exists() && !dirs.contains(d) {
                dirs.push(d.clone());
            }
        }
    }
    Ok(Plan { daemon, hooks, dirs, vault: paths.vault().exists() })
}

/// `holdfast uninstall [--yes] [--keep-data]`.
pub fn uninstall(args: &UninstallArgs) -> Result<Exit> {
    let paths = Paths::from_env()?;
    let plan = plan(args, &paths)?;
    let exe = std::env::current_exe().ok();
    if args.json && !args.yes {
        print_json(&serde_json::json!({"done": false, "daemon_pid": plan.daemon,
            "hooks": plan.hooks.iter().map(|c| serde_json::json!({"agent": c.agent, "file": c.file,
                "summary": c.summary})).collect::<Vec<_>>(),
            "remove": plan.dirs, "binary": exe}));
        return Ok(Exit::Ok);
    }
    if !args.json {
        show(&plan, exe.as_deref());
    }
    if !args.yes {
        println!("nothing changed; run `holdfast uninstall --yes` to do this");
        return Ok(Exit::Ok);
    }
    if plan.daemon.is_some() {
        stop(&StopArgs { json: args.json, password: args.password.clone() })?;
    } else if plan.vault {
        // No daemon to ask: the vault itself checks the admin password before anything goes.
        let pw = read_password(&args.password, "holdfast admin password: ")?;
        match holdfast::vault::Vault::load(&paths.vault()) {
            Ok(Some(v)) => {
                v.unlock(&pw)?;
            }
            Ok(None) => {}
            Err(e) => bail!("the admin vault cannot be read ({e}); refusing to uninstall"),
        }
    }
    for c in &plan.hooks {
        install::apply(c)?;
    }
    for d in &plan.dirs {
        std::fs::remove_dir_all(d).or_else(|e| if d.exists() { Err(e) } else { Ok(()) })?;
    }
    if args.json {
        print_json(&serde_json::json!({"done": true, "removed": plan.dirs}));
    } else {
        println!("holdfast is uninstalled; remove the binary itself last (see above)");
    }
    Ok(Exit::Ok)
}

fn show(plan: &Plan, exe: Option<&std::path::Path>) {
    println!("holdfast uninstall will:");
    match plan.daemon {
        Some(pid) if plan.vault => println!("  stop the daemon (pid {pid}); this needs the admin password"),
        Some(pid) => println!("  stop the daemon (pid {pid})"),
        None if plan.vault => println!("  check the admin password (the daemon is not running)"),
        None => println!("  (no daemon is running)"),
    }
    for c in &plan.hooks {
        println!("  take holdfast's hook out of {} ({})", c.file.display(), c.agent);
        for line in &c.summary {
            println!("    {line}");
        }
    }
    for d in &plan.dirs {
        println!("  delete {} (policy, vault, audit log and state live here)", d.display());
    }
    if plan.dirs.is_empty() {
        println!("  keep holdfast's config and data");
    }
    if let Some(exe) = exe {
        println!(
            "  not the binary {}: remove it yourself (`make uninstall`, or `cargo uninstall holdfast`)",
            exe.display()
        );
    }
    println!("  not a system service: remove one you installed with its own command first");
}
