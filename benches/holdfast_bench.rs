//! `make bench`: every figure of DESIGN §9 as a ratio to a raw baseline measured in the same run.

#[cfg(unix)]
mod bench_audit;
#[cfg(unix)]
mod bench_classify;
#[cfg(unix)]
mod bench_flood;
#[cfg(unix)]
mod bench_hook;
#[cfg(unix)]
mod bench_ping;
#[cfg(unix)]
mod bench_propose;
#[cfg(unix)]
mod bench_start;
#[cfg(unix)]
mod bench_vault;
mod report;
#[cfg(unix)]
mod rig;

/// Set by `make bench-report` to the directory of the runs' reports.
#[cfg(unix)]
const REPORT_RUNS_ENV: &str = "HOLDFAST_BENCH_RUNS";

#[cfg(unix)]
fn main() {
    if let Ok(path) = std::env::var(bench_ping::RAW_SERVER_ENV) {
        return bench_ping::raw_server_main(&path);
    }
    // `make bench-report`: no measuring, only the README table from the runs already made.
    if let Ok(runs) = std::env::var(REPORT_RUNS_ENV) {
        let readme = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
        return report::write_readme_table(std::path::Path::new(&runs), &readme);
    }
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it, in a
    // debug build whose figures would mean nothing (and would overwrite target/bench.json).
    if !std::env::args().any(|a| a == "--bench") {
        println!("holdfast_bench: figures come from `make bench` (release build); nothing measured here");
        return;
    }
    // `HOLDFAST_BENCH_ONLY=start`: just the start rows (they take minutes at 5M records).
    if std::env::var("HOLDFAST_BENCH_ONLY").as_deref() == Ok("start") {
        return report::publish(&bench_start::rows());
    }
    // `HOLDFAST_BENCH_ONLY=classify`: just the classifier's row (seconds, for work on the rules).
    if std::env::var("HOLDFAST_BENCH_ONLY").as_deref() == Ok("classify") {
        return report::publish(&bench_classify::rows());
    }
    let mut rows = bench_classify::rows();
    // Daemon against raw server: one CPU for both (see `rig::on_one_cpu`).
    rows.extend(rig::on_one_cpu(|| bench_ping::rows(&rig::Rig::start(&[]))));
    // Not pinned: the flood's own thread needs a CPU besides the daemon's and the client's.
    rows.extend(bench_flood::rows());
    rows.extend(bench_hook::rows());
    rows.extend(rig::on_one_cpu(bench_propose::rows));
    rows.extend(bench_vault::rows());
    rows.extend(rig::on_one_cpu(bench_audit::protocol_rows));
    rows.extend(bench_audit::log_verify_rows());
    rows.extend(bench_start::rows());
    report::publish(&rows);
}

#[cfg(not(unix))]
fn main() {
    eprintln!("the benches compare against raw Unix sockets; run them on Unix");
}
