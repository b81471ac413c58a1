//! Daemon start (spawn to first `ping` answered) with a large audit log, as a ratio to a start
//! with an empty log in the same run. The logs are written with the library's writer (batch
//! durability); the daemon then starts once on each (the full replay of a log that has no
//! checkpoint yet) and stops cleanly, and the timed starts follow, interleaved with the empty one.
//!
//! Sizes: `HOLDFAST_BENCH_START_SIZES` (comma-separated record counts; default 10k, 1M, 5M).
//! The logs (in segments of the default size, archived ones compressed, as a daemon leaves them)
//! are cached under `target/tmp/bench-start/<n>` once their first start has written a
//! checkpoint, so later runs neither regenerate nor replay them; `cargo clean` drops them.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use holdfast::audit::{AuditLog, Durability};
use holdfast::paths::Paths;
use holdfast::transport::Client;
use holdfast::wire::{Peer, RequestBody};

use crate::report::{Row, latency_row};

/// Record counts measured unless the environment says otherwise.
const DEFAULT_SIZES: &[u64] = &[10_000, 1_000_000, 5_000_000];
/// Timed starts per size.
const RUNS: usize = 15;
/// The goal: start with a big log within 1.5 × start with an empty one.
const GOAL: f64 = 1.5;

fn sizes() -> Vec<u64> {
    match std::env::var("HOLDFAST_BENCH_START_SIZES") {
        Ok(s) => s.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        Err(_) => DEFAULT_SIZES.to_vec(),
    }
}

fn paths_of(home: &Path) -> Paths {
    let home = home.to_path_buf();
    Paths::resolve(&move |k| (k == "HOLDFAST_HOME").then(|| home.clone().into_os_string())).unwrap()
}

/// Writes `n` proposal-like records with the library's writer.
fn generate(home: &Path, n: u64) {
    let paths = paths_of(home);
    let (mut log, _) = AuditLog::open(&paths, Durability::Batch { every: Duration::from_secs(3600) }).unwrap();
    let peer = Peer { pid: Some(4242), uid: Some(1000), addr: None };
    for i in 0..n {
        let data = serde_json::json!({
            "agent": "claude-code", "cwd": "/home/dev/project",
            "raw": format!("cargo test --workspace -- case_{i}"),
            "verdict": {"decision": "allow", "class": "safe", "rule": "default.safe", "reason": "", "flags": []},
        });
        log.append("propose", &peer, &data).unwrap();
    }
    log.close().unwrap();
    drop(log);
    // Archived segments compressed, as the daemon's maintenance leaves them.
    let active = paths.audit_log();
    for seg in holdfast::audit::segments::archives(&active).unwrap() {
        holdfast::audit::segments::compress(&seg, &active).unwrap();
    }
}

/// The cached home of a log of `n` records, generated and started once (full replay, then a
/// checkpoint) unless an earlier run left it ready.
fn cached_home(n: u64) -> std::path::PathBuf {
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-start").join(n.to_string());
    let ready = home.join("ready");
    if ready.exists() {
        return home;
    }
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    let t = Instant::now();
    generate(&home, n);
    let first = start_once(&home);
    eprintln!(
        "start bench: {n} records written in {:.1} s; first start (full replay) {:.2} s",
        t.elapsed().as_secs_f64(),
        first as f64 / 1e9
    );
    std::fs::write(&ready, b"").unwrap();
    home
}

fn spawn(home: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .arg("daemon")
        .env("HOLDFAST_HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Spawns the daemon, times it to the first answered `ping`, stops it cleanly.
fn start_once(home: &Path) -> u64 {
    let client = Client::new(paths_of(home).endpoint).with_timeout(Duration::from_secs(120));
    let t = Instant::now();
    let mut child = spawn(home);
    let deadline = t + Duration::from_secs(600);
    while client.request(RequestBody::Ping).is_err() {
        assert!(Instant::now() < deadline, "the daemon did not answer within 10 minutes");
        std::thread::sleep(Duration::from_micros(200));
    }
    let ns = t.elapsed().as_nanos() as u64;
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    assert!(child.wait().unwrap().success());
    ns
}

/// One row per size: `start_<n>` against `start_empty`.
pub fn rows() -> Vec<Row> {
    let empty = tempfile::Builder::new().prefix("hfs").tempdir().unwrap();
    start_once(empty.path());
    let mut rows = Vec::new();
    for n in sizes() {
        let home = cached_home(n);
        let (mut big, mut base) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            base.push(start_once(empty.path()));
            big.push(start_once(&home));
        }
        let name = format!("start_{}", label(n));
        let budget = format!("p50 ≤ {GOAL} × empty");
        let row = latency_row(&name, &big, "start_empty", &base, &budget, |_, _, r| r <= GOAL);
        eprintln!(
            "start bench: {name} p50 {} ns, empty {} ns, ratio {}",
            row.p50_ns, row.baseline_p50_ns, row.ratio_p50
        );
        rows.push(row);
    }
    rows
}

fn label(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}
