//! Bench rows and the report `make bench` prints and writes to `target/bench.json`.
#![allow(dead_code)] // not every row kind is used by every bench module

use serde::Serialize;

/// One row of the report: a figure and the raw baseline it was measured against in the same run.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: String,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub per_sec: f64,
    pub baseline: String,
    pub baseline_p50_ns: u64,
    pub ratio_p50: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mb_per_s: Option<f64>,
    /// The budget from DESIGN §9, in words.
    pub budget: String,
    /// Whether the figure is within budget (None when the row has no budget).
    pub within_budget: Option<bool>,
}

/// The `q`-quantile (0..=1) of unsorted samples.
pub fn quantile(samples: &[u64], q: f64) -> u64 {
    let mut s = samples.to_vec();
    s.sort_unstable();
    if s.is_empty() {
        return 0;
    }
    let idx = ((s.len() - 1) as f64 * q).round() as usize;
    s[idx]
}

/// A latency row from per-operation samples (ns) and baseline samples (ns).
pub fn latency_row(
    name: &str,
    samples: &[u64],
    baseline: &str,
    baseline_samples: &[u64],
    budget: &str,
    ok: impl Fn(u64, u64, f64) -> bool,
) -> Row {
    let p50 = quantile(samples, 0.5);
    let p99 = quantile(samples, 0.99);
    let base = quantile(baseline_samples, 0.5);
    let ratio = if base == 0 { 0.0 } else { p50 as f64 / base as f64 };
    Row {
        name: name.into(),
        p50_ns: p50,
        p99_ns: p99,
        per_sec: if p50 == 0 { 0.0 } else { 1e9 / p50 as f64 },
        baseline: baseline.into(),
        baseline_p50_ns: base,
        ratio_p50: (ratio * 100.0).round() / 100.0,
        mb_per_s: None,
        budget: budget.into(),
        within_budget: Some(ok(p50, p99, ratio)),
    }
}

/// Times `f` `n` times, returning per-call nanoseconds.
pub fn sample(n: usize, mut f: impl FnMut()) -> Vec<u64> {
    (0..n)
        .map(|_| {
            let t = std::time::Instant::now();
            f();
            t.elapsed().as_nanos() as u64
        })
        .collect()
}

/// Times each of `ops` `n` times, in rotating blocks, so load that comes and goes on a shared
/// machine falls on a figure and its baselines alike. Returns each op's nanoseconds, in order.
pub fn sample_rotating(n: usize, ops: &mut [&mut dyn FnMut()]) -> Vec<Vec<u64>> {
    const BLOCKS: usize = 20;
    let per_block = n.div_ceil(BLOCKS);
    let mut out = vec![Vec::with_capacity(n); ops.len()];
    for _ in 0..BLOCKS {
        for (op, samples) in ops.iter_mut().zip(&mut out) {
            samples.extend(sample(per_block, op));
        }
    }
    out
}

/// [`sample_rotating`] of a figure and its baseline: (a's, b's) nanoseconds.
pub fn sample_interleaved(n: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (Vec<u64>, Vec<u64>) {
    let mut s = sample_rotating(n, &mut [&mut a, &mut b]);
    let b = s.pop().expect("two ops");
    (s.pop().expect("two ops"), b)
}

/// Prints the table and writes `target/bench.json`.
pub fn publish(rows: &[Row]) {
    println!(
        "{:<16} {:>10} {:>10} {:>12} {:<18} {:>10} {:>7} {:>9}  budget",
        "name", "p50", "p99", "per_sec", "baseline", "base_p50", "ratio", "MB/s"
    );
    for r in rows {
        let mb = r.mb_per_s.map(|m| format!("{m:.0}")).unwrap_or_else(|| "-".into());
        let verdict = match r.within_budget {
            Some(true) => "ok",
            Some(false) => "OVER",
            None => "-",
        };
        println!(
            "{:<16} {:>10} {:>10} {:>12.0} {:<18} {:>10} {:>7.2} {:>9}  {} [{}]",
            r.name,
            fmt_ns(r.p50_ns),
            fmt_ns(r.p99_ns),
            r.per_sec,
            r.baseline,
            fmt_ns(r.baseline_p50_ns),
            r.ratio_p50,
            mb,
            r.budget,
            verdict
        );
    }
    let machine = format!(
        "{} {} cores",
        std::env::consts::ARCH,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let json = serde_json::json!({ "machine": machine, "rows": rows });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bench.json"), serde_json::to_string_pretty(&json).unwrap()).unwrap();
    println!("wrote {}", dir.join("bench.json").display());
}

fn fmt_ns(ns: u64) -> String {
    if ns >= 1_000_000 {
        format!("{:.2}ms", ns as f64 / 1e6)
    } else if ns >= 1_000 {
        format!("{:.2}µs", ns as f64 / 1e3)
    } else {
        format!("{ns}ns")
    }
}
