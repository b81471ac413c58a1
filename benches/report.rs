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

/// A row with no budget: its figures are reported and it carries no verdict.
pub fn reported_row(name: &str, samples: &[u64], baseline: &str, baseline_samples: &[u64]) -> Row {
    let mut row = latency_row(name, samples, baseline, baseline_samples, "none (reported)", |_, _, _| true);
    row.within_budget = None;
    row
}

/// A latency row from per-operation samples (ns) and baseline samples (ns), judged by `ok`
/// (p50, p99, ratio) against its `budget`; a row without a budget is a [`reported_row`].
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

/// The README's generated table sits between these two lines (`make bench-report` rewrites it).
pub const TABLE_BEGIN: &str = "<!-- bench-report:begin (generated by `make bench-report`; do not edit) -->";
/// End marker of the generated table.
pub const TABLE_END: &str = "<!-- bench-report:end -->";

/// `make bench-report`: reads every `*.json` report of `runs` (one per `make bench` run) and
/// writes the table of medians and ranges into `readme` between [`TABLE_BEGIN`] and [`TABLE_END`].
pub fn write_readme_table(runs: &std::path::Path, readme: &std::path::Path) {
    let mut reports: Vec<serde_json::Value> = std::fs::read_dir(runs)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", runs.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap())
        .collect();
    assert!(!reports.is_empty(), "no bench runs in {}", runs.display());
    reports.sort_by_key(|r| r["machine"].to_string());
    let machine = reports[0]["machine"].as_str().unwrap_or_default().to_string();
    let table = table(&reports);
    let text = std::fs::read_to_string(readme).unwrap();
    let (Some(b), Some(e)) = (text.find(TABLE_BEGIN), text.find(TABLE_END)) else {
        panic!("{} has no {TABLE_BEGIN} … {TABLE_END} markers", readme.display())
    };
    let head = format!("{TABLE_BEGIN}\nMedians of {} runs ({machine}), with the range:\n\n", reports.len());
    let out = format!("{}{head}{table}\n{}", &text[..b], &text[e..]);
    std::fs::write(readme, out).unwrap();
    println!("wrote the table of {} runs into {}", reports.len(), readme.display());
}

/// One markdown line per row name, in the order of the first run.
fn table(reports: &[serde_json::Value]) -> String {
    let mut out = String::from(
        "| row | p50 | p99 | baseline | baseline p50 | ratio | MB/s | budget | verdict |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let names: Vec<String> =
        reports[0]["rows"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
    for name in names {
        let rows: Vec<&serde_json::Value> = reports
            .iter()
            .filter_map(|rep| rep["rows"].as_array().unwrap().iter().find(|r| r["name"] == name.as_str()))
            .collect();
        let nums = |key: &str| -> Vec<f64> { rows.iter().filter_map(|r| r[key].as_f64()).collect() };
        let ns = |key: &str| spread(&nums(key), |v| fmt_ns(v as u64));
        let plain = |key: &str| spread(&nums(key), |v| format!("{v:.2}"));
        let verdicts: Vec<bool> = rows.iter().filter_map(|r| r["within_budget"].as_bool()).collect();
        let verdict = if verdicts.is_empty() {
            "—".to_string()
        } else {
            format!("ok {}/{}", verdicts.iter().filter(|v| **v).count(), verdicts.len())
        };
        let mb =
            if nums("mb_per_s").is_empty() { "—".into() } else { spread(&nums("mb_per_s"), |v| format!("{v:.0}")) };
        out.push_str(&format!(
            "| `{name}` | {} | {} | {} | {} | {} | {mb} | {} | {verdict} |\n",
            ns("p50_ns"),
            ns("p99_ns"),
            rows[0]["baseline"].as_str().unwrap_or_default(),
            ns("baseline_p50_ns"),
            plain("ratio_p50"),
            rows[0]["budget"].as_str().unwrap_or_default(),
        ));
    }
    out
}

/// "median (min–max)" of `values`, each shown by `show`; just the value when all runs agree.
fn spread(values: &[f64], show: impl Fn(f64) -> String) -> String {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return "—".into();
    }
    let (lo, mid, hi) = (v[0], v[v.len() / 2], v[v.len() - 1]);
    if lo == hi { show(mid) } else { format!("{} ({}–{})", show(mid), show(lo), show(hi)) }
}
