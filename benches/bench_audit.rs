//! `record` round trips with each durability, and `log verify` throughput.

use std::io::Write;

use holdfast::audit::verify::{VerifyOptions, verify_file};
use holdfast::audit::{AuditLog, Durability};
use holdfast::paths::Paths;
use holdfast::wire::{Peer, Proposal, Request, RequestBody};

use crate::bench_ping::RawServer;
use crate::report::{Row, latency_row, quantile, reported_row, sample_interleaved, sample_rotating};
use crate::rig::Rig;

const ROUNDS_ALWAYS: usize = 1_500;
const ROUNDS_BATCH: usize = 5_000;
const VERIFY_RECORDS: u64 = 100_000;
const VERIFY_RUNS: usize = 7;

fn record_frame() -> Vec<u8> {
    let p = Proposal {
        agent: "claude-code".into(),
        cwd: "/home/dev/project".into(),
        raw: "cargo test --workspace -- --nocapture".into(),
        ..Default::default()
    };
    Request::new(RequestBody::Record(p)).to_frame()
}

/// A 200-byte append + `fdatasync` on a file in the rig's dir: the `always` baseline.
pub struct RawAppend {
    path: std::path::PathBuf,
    file: std::fs::File,
}

impl RawAppend {
    pub fn open(rig: &Rig) -> RawAppend {
        let path = rig.dir().join("raw.fdatasync");
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&path).unwrap();
        RawAppend { path, file }
    }

    pub fn once(&mut self) {
        self.file.write_all(&[b'x'; 200]).unwrap();
        self.file.sync_data().unwrap();
    }
}

impl Drop for RawAppend {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What a daemon round trip is compared with.
pub enum Baseline {
    /// A raw Unix-socket ping-pong of the same bytes ([`RawServer`]).
    RawUds,
    /// A raw 200-byte append + `fdatasync` ([`RawAppend`]).
    Fdatasync,
}

/// Samples of a daemon figure, its baseline and, for `Fdatasync`, the IPC floor.
pub struct Compared {
    pub daemon: Vec<u64>,
    pub base: Vec<u64>,
    /// A raw Unix-socket server that appends 200 bytes and `fdatasync`s before it answers: what
    /// any daemon pays for one round trip plus one durable record (the `always` floor).
    pub floor: Option<Vec<u64>>,
}

/// Round trips of `frame` through the daemon and `baseline`, after a warm-up of both, sampled in
/// rotating blocks (`rounds` each). The first reply must start with `expect`.
pub fn against(rig: &Rig, frame: &[u8], expect: &[u8], rounds: usize, baseline: Baseline) -> Compared {
    let client = rig.client();
    let mut reply = client.exchange(frame).unwrap();
    assert!(reply.starts_with(expect), "{}", String::from_utf8_lossy(&reply));
    reply.push(b'\n');
    let mut daemon = || {
        client.exchange(frame).unwrap();
    };
    match baseline {
        Baseline::RawUds => {
            let raw = RawServer::start(rig, &reply);
            for _ in 0..100 {
                daemon();
                raw.round_trip(frame);
            }
            let (daemon, base) = sample_interleaved(rounds, daemon, || raw.round_trip(frame));
            Compared { daemon, base, floor: None }
        }
        Baseline::Fdatasync => {
            let mut raw = RawAppend::open(rig);
            let floor_server = RawServer::start_syncing(rig, &reply);
            let mut floor = || floor_server.round_trip(frame);
            let mut append = || raw.once();
            for _ in 0..50 {
                daemon();
                append();
                floor();
            }
            let mut s = sample_rotating(rounds, &mut [&mut daemon, &mut append, &mut floor]);
            let floor = s.pop();
            let base = s.pop().expect("three ops");
            Compared { daemon: s.pop().expect("three ops"), base, floor }
        }
    }
}

fn record_against(rig: &Rig, rounds: usize, baseline: Baseline) -> Compared {
    against(rig, &record_frame(), br#"{"v":1,"kind":"ack""#, rounds, baseline)
}

/// `record_always` and `record_batch`.
pub fn protocol_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    {
        let rig = Rig::start(&[]);
        let Compared { daemon: samples, base, .. } = record_against(&rig, ROUNDS_ALWAYS, Baseline::Fdatasync);
        rows.push(latency_row(
            "record_always",
            &samples,
            "raw_fdatasync_200b",
            &base,
            "p50 ≤ 1.3 × raw",
            |_, _, r| r <= 1.3,
        ));
    }
    {
        let rig = Rig::start(&["--durability", "batch"]);
        let Compared { daemon: samples, base, .. } = record_against(&rig, ROUNDS_BATCH, Baseline::RawUds);
        rows.push(latency_row("record_batch", &samples, "raw_uds", &base, "p50 ≤ 2 × raw", |_, _, r| r <= 2.0));
    }
    rows
}

/// Writes ~100k records with the library, then times the verifier in process against reading the
/// same file and hashing it with SHA-256 (one pass over the file: the floor any verifier pays). Two rows:
/// `log_verify` is `holdfast log verify` as run by default (no key: chain, order, seals, anchor);
/// `log_verify_key` adds every MAC (`--key-file`). Runs are interleaved so load hits all alike.
pub fn log_verify_rows() -> Vec<Row> {
    let home = tempfile::Builder::new().prefix("hfv").tempdir().unwrap();
    let dir = home.path().to_path_buf();
    let paths = Paths::resolve(&move |k| (k == "HOLDFAST_HOME").then(|| dir.clone().into_os_string())).unwrap();
    let (mut log, report) =
        AuditLog::open(&paths, Durability::Batch { every: std::time::Duration::from_secs(3600) }).unwrap();
    let key = report.new_verification_key.unwrap();
    let peer = Peer { pid: Some(4242), uid: Some(1000), addr: None };
    for i in 0..VERIFY_RECORDS {
        let data = serde_json::json!({
            "agent": "claude-code", "cwd": "/home/dev/project",
            "raw": format!("cargo test --workspace -- case_{i}"),
            "decision": "allow", "class": "safe", "rule": "default.safe",
        });
        log.append("propose", &peer, &data).unwrap();
    }
    log.close().unwrap();
    drop(log);
    let path = paths.audit_log();
    let size = std::fs::metadata(&path).unwrap().len();
    let plain = VerifyOptions::default();
    let keyed = VerifyOptions { key: Some(key), anchor: None };
    let time_verify = |options: &VerifyOptions| {
        let t = std::time::Instant::now();
        let r = verify_file(&path, options).unwrap();
        let ns = t.elapsed().as_nanos() as u64;
        assert!(r.ok, "{:?}", r.first_problem());
        ns
    };
    // The baseline reads the file as the verifier does (from the page cache, both warm).
    let time_sha = || {
        use sha2::Digest;
        let t = std::time::Instant::now();
        std::hint::black_box(sha2::Sha256::digest(std::fs::read(&path).unwrap()));
        t.elapsed().as_nanos() as u64
    };
    let (mut base, mut times_plain, mut times_keyed) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..VERIFY_RUNS {
        base.push(time_sha());
        times_plain.push(time_verify(&plain));
        times_keyed.push(time_verify(&keyed));
    }
    let row = |name: &str, times: &[u64]| {
        let p50 = quantile(times, 0.5);
        let mb_per_s = size as f64 / 1e6 / (p50 as f64 / 1e9);
        let mut row = reported_row(name, times, "read_sha256_file", &base);
        row.budget = "≥ 300 MB/s".into();
        row.per_sec = VERIFY_RECORDS as f64 / (p50 as f64 / 1e9);
        row.mb_per_s = Some((mb_per_s * 10.0).round() / 10.0);
        row.within_budget = Some(mb_per_s >= 300.0);
        row
    };
    vec![row("log_verify", &times_plain), row("log_verify_key", &times_keyed)]
}
