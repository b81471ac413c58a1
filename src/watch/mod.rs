//! The backstop watcher (`holdfast watch`): reports filesystem changes to the
//! daemon as `observe` requests, so changes made by an agent's built-in file
//! tools — which never pass through a shell hook — are still seen.
//!
//! Pipeline: notify backend → [`events`] (raw changes) → [`ignore`] →
//! `coalesce` (200 ms windows, directory summaries) → `sender` (rate limit,
//! backlog folding) → daemon, or [`spool`] while the daemon cannot take them.
//! A separate process and a client like any other: the daemon stays single-threaded.

pub(crate) mod coalesce;
pub mod events;
pub mod ignore;
pub(crate) mod sender;
pub mod spool;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use notify::{RecursiveMode, Watcher};

use crate::paths::{Endpoint, Paths};
use crate::transport::Client;

use coalesce::{Change, Coalescer, RawChange};
use events::Translator;
use ignore::{DEFAULT_IGNORES, IgnoreSet};
use sender::{SendStats, Sender};
use spool::Spool;

/// How long one `observe` may take before the daemon counts as unreachable.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a stopping watcher keeps delivering before it spools the rest.
const STOP_FLUSH: Duration = Duration::from_secs(2);
/// Main loop tick.
const TICK: Duration = Duration::from_millis(25);
/// Most notify events handled between two ticks.
const EVENTS_PER_TICK: usize = 20_000;

/// How the watcher runs.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Watched trees (absolute; see [`resolve_roots`]).
    pub roots: Vec<PathBuf>,
    /// Extra ignore globs (`--ignore`).
    pub ignores: Vec<String>,
    /// Whether `DEFAULT_IGNORES` apply.
    pub default_ignores: bool,
    /// Coalescing window.
    pub window: Duration,
    /// Direct-child changes in one window above which a directory is summarized.
    pub dir_threshold: u64,
    /// Most `observe` requests per second.
    pub rate: u32,
    /// Spool caps.
    pub spool_max_entries: usize,
    /// Spool cap, in bytes.
    pub spool_max_bytes: usize,
    /// When set: the watcher writes its pid here and stops once the file no longer
    /// holds it (how `holdfast stop` stops a watcher that `start --watch` began,
    /// on every OS, without signalling a pid that may have been reused).
    pub pid_file: Option<PathBuf>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            roots: Vec::new(),
            ignores: Vec::new(),
            default_ignores: true,
            window: Duration::from_millis(200),
            dir_threshold: 50,
            rate: 200,
            spool_max_entries: spool::DEFAULT_MAX_ENTRIES,
            spool_max_bytes: spool::DEFAULT_MAX_BYTES,
            pid_file: None,
        }
    }
}

/// What a watcher run did.
#[derive(Debug, Clone, Default)]
pub struct WatchReport {
    /// What the sender delivered, spooled and had rejected.
    pub stats: SendStats,
    /// Observations left in the spool at exit.
    pub spooled: usize,
}

/// The nearest ancestor of `cwd` (itself included) holding `.git`, else `cwd`.
pub fn repo_root(cwd: &Path) -> PathBuf {
    cwd.ancestors().find(|d| d.join(".git").exists()).unwrap_or(cwd).to_path_buf()
}

/// The trees to watch: the command line's, else the policy's `watch_paths`, else the
/// repository around `cwd`. Relative paths are taken from `cwd`; all must exist.
///
/// `policy` is the seam for the global policy's `watch_paths` list; pass it once the
/// policy schema exposes one.
pub fn resolve_roots(cli: &[PathBuf], policy: &[PathBuf], cwd: &Path) -> Result<Vec<PathBuf>> {
    let chosen: Vec<PathBuf> = if !cli.is_empty() {
        cli.to_vec()
    } else if !policy.is_empty() {
        policy.to_vec()
    } else {
        vec![repo_root(cwd)]
    };
    let mut roots: Vec<PathBuf> = Vec::new();
    for p in chosen {
        let abs = if p.is_absolute() { p } else { cwd.join(p) };
        // Canonical roots: the paths reported match what commands resolve to.
        let real = abs.canonicalize().with_context(|| format!("cannot watch {}", abs.display()))?;
        if !roots.contains(&real) {
            roots.push(real);
        }
    }
    Ok(roots)
}

/// The spool file.
pub(crate) fn spool_path(paths: &Paths) -> PathBuf {
    paths.data_dir.join("watch.spool")
}

/// The ignore set for `opts`: defaults, `--ignore` globs, and holdfast's own
/// data and run dirs (the spool and the audit log live there: reporting their
/// writes would feed the watcher its own changes).
pub(crate) fn ignore_set(paths: &Paths, opts: &WatchOptions) -> IgnoreSet {
    let mut set = IgnoreSet::new(&opts.roots);
    if opts.default_ignores {
        DEFAULT_IGNORES.iter().for_each(|g| set.add_glob(g));
    }
    opts.ignores.iter().for_each(|g| set.add_glob(g));
    set.add_dir(&paths.data_dir);
    set.add_dir(&paths.run_dir);
    if let Endpoint::Socket(sock) = &paths.endpoint {
        set.add_dir(sock);
    }
    set
}

/// Runs the watcher until `stop` is raised (or its pid file is taken away).
pub fn run(paths: &Paths, opts: &WatchOptions, stop: &AtomicBool) -> Result<WatchReport> {
    if opts.roots.is_empty() {
        bail!("nothing to watch");
    }
    crate::paths::ensure_private_dir(&paths.data_dir)?;
    let ignore = ignore_set(paths, opts);
    let spool_file = spool_path(paths);
    let spool = Spool::open(&spool_file, opts.spool_max_entries, opts.spool_max_bytes)
        .with_context(|| format!("cannot open the spool {}", spool_file.display()))?;
    let client = Client::new(paths.endpoint.clone()).with_timeout(DELIVERY_TIMEOUT);
    let mut sender = Sender::new(client, opts.rate, spool, Instant::now());

    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(tx).context("cannot start the filesystem watcher")?;
    for root in &opts.roots {
        watcher.watch(root, RecursiveMode::Recursive).with_context(|| format!("cannot watch {}", root.display()))?;
    }
    if let Some(pid_file) = &opts.pid_file {
        crate::paths::write_atomic(pid_file, format!("{}\n", std::process::id()).as_bytes())
            .with_context(|| format!("cannot write {}", pid_file.display()))?;
    }
    let shown: Vec<String> = opts.roots.iter().map(|r| r.display().to_string()).collect();
    eprintln!(
        "holdfast watch: watching {} with {:?} (pid {})",
        shown.join(", "),
        notify::RecommendedWatcher::kind(),
        std::process::id()
    );

    let mut translator = Translator::new(opts.roots[0].clone());
    let mut coalescer = Coalescer::new(opts.window, opts.dir_threshold);
    let mut raw: Vec<RawChange> = Vec::new();
    let mut next_pid_check = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let mut got = match rx.recv_timeout(TICK) {
            Ok(ev) => Some(ev),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                raw.push(RawChange { change: Change::Overflow, path: opts.roots[0].clone(), to: None });
                eprintln!("holdfast watch: the filesystem watcher stopped unexpectedly");
                stop.store(true, Ordering::SeqCst);
                None
            }
        };
        let now = Instant::now();
        let mut handled = 0;
        while let Some(ev) = got {
            translator.translate(ev, &ignore, now, &mut raw);
            handled += 1;
            got = if handled < EVENTS_PER_TICK { rx.try_recv().ok() } else { None };
        }
        translator.tick(now, &mut raw);
        feed(&mut coalescer, &ignore, &mut raw, now);
        if coalescer.due(now) {
            sender.enqueue(stamp(coalescer.drain()));
        }
        sender.pump(now);
        if now >= next_pid_check {
            next_pid_check = now + Duration::from_millis(250);
            if let Some(pid_file) = opts.pid_file.as_ref().filter(|f| !holds_our_pid(f)) {
                eprintln!("holdfast watch: {} was taken away; stopping", pid_file.display());
                break;
            }
        }
    }

    // Stop: take what the backend already queued, then flush what we can.
    drop(watcher);
    let now = Instant::now();
    while let Ok(ev) = rx.try_recv() {
        translator.translate(ev, &ignore, now, &mut raw);
    }
    translator.flush_from(&mut raw);
    feed(&mut coalescer, &ignore, &mut raw, now);
    sender.enqueue(stamp(coalescer.drain()));
    sender.shutdown(Instant::now() + STOP_FLUSH);
    if let Some(pid_file) = opts.pid_file.as_ref().filter(|f| holds_our_pid(f)) {
        let _ = std::fs::remove_file(pid_file);
    }
    let (queued, spooled) = sender.backlog();
    Ok(WatchReport { stats: sender.stats.clone(), spooled: queued + spooled })
}

fn holds_our_pid(pid_file: &Path) -> bool {
    crate::transport::read_pid_file(pid_file) == Some(std::process::id())
}

/// Filters ignored changes and feeds the rest to the coalescer.
fn feed(coalescer: &mut Coalescer, ignore: &IgnoreSet, raw: &mut Vec<RawChange>, now: Instant) {
    for mut c in raw.drain(..) {
        let from_ignored = ignore.is_ignored(&c.path);
        match c.to.take() {
            // A rename is dropped only when both names are ignored.
            Some(to) if from_ignored && ignore.is_ignored(&to) => continue,
            // Out of an ignored place into a watched one: a new name appears.
            Some(to) if from_ignored => c = RawChange { change: Change::Create, path: to, to: None },
            Some(to) => c.to = Some(to),
            None if from_ignored => continue,
            None => {}
        }
        coalescer.push(c, now);
    }
}

fn stamp(mut batch: Vec<crate::wire::Observation>) -> Vec<crate::wire::Observation> {
    let ts = humantime::format_rfc3339_micros(SystemTime::now()).to_string();
    for o in &mut batch {
        o.client_ts = Some(ts.clone());
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_root_finds_nearest_git() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("a/b")).unwrap();
        assert_eq!(repo_root(&repo.join("a/b")), repo);
        assert_eq!(repo_root(dir.path()), dir.path());
        let roots = resolve_roots(&[], &[], &repo.join("a/b")).unwrap();
        assert_eq!(roots, [repo.canonicalize().unwrap()]);
        let roots = resolve_roots(&["b".into(), "b".into()], &[], &repo.join("a")).unwrap();
        assert_eq!(roots, [repo.join("a/b").canonicalize().unwrap()]);
        assert!(resolve_roots(&["nope".into()], &[], dir.path()).is_err());
    }
}
