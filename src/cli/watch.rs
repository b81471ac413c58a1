//! `holdfast watch [PATH…]`: the backstop filesystem watcher, in the foreground.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use holdfast::paths::Paths;
use holdfast::watch::{self, WatchOptions};

use super::Exit;

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Trees to watch (default: the repository around the current directory, else the current directory).
    pub paths: Vec<PathBuf>,
    /// Do not report paths matching GLOB (repeatable; see the README's "Watcher" section).
    #[arg(long = "ignore", value_name = "GLOB")]
    pub ignore: Vec<String>,
    /// Report `.git` internals, `target/` and `node_modules/` too.
    #[arg(long)]
    pub no_default_ignores: bool,
    /// Coalescing window in milliseconds.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub window_ms: u64,
    /// Changes to one directory's entries in one window above which they are summarized.
    #[arg(long, default_value_t = 50)]
    pub dir_threshold: u64,
    /// Most `observe` requests per second.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rate: u32,
    /// Most entries kept in the spool while the daemon is unreachable.
    #[arg(long, default_value_t = watch::spool::DEFAULT_MAX_ENTRIES)]
    pub spool_max: usize,
    /// Pid file: written at start; the watcher stops once it no longer holds its pid (used by `start --watch`).
    #[arg(long, hide = true)]
    pub pid_file: Option<PathBuf>,
}

/// `holdfast watch`.
pub fn watch(args: &WatchArgs) -> Result<Exit> {
    let paths = Paths::from_env()?;
    let signals = holdfast::signals::install().context("cannot install signal handlers")?;
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    // The global policy's `watch_paths` plugs in here (second argument) once the policy schema has it.
    let roots = watch::resolve_roots(&args.paths, &[], &cwd)?;
    let options = WatchOptions {
        roots,
        ignores: args.ignore.clone(),
        default_ignores: !args.no_default_ignores,
        window: Duration::from_millis(args.window_ms),
        dir_threshold: args.dir_threshold,
        rate: args.rate,
        spool_max_entries: args.spool_max,
        pid_file: args.pid_file.clone(),
        ..Default::default()
    };
    let report = watch::run(&paths, &options, &signals.stop)?;
    let s = &report.stats;
    eprintln!(
        "holdfast watch: stopped; {} delivered, {} spooled, {} rejected, {} left in the spool",
        s.delivered, s.spooled, s.rejected, report.spooled
    );
    Ok(Exit::Ok)
}
