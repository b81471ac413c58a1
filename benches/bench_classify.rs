//! Per-command classification timings over the corpus.
//!
//! The lead's bench main includes this file as a module and computes
//! p50/p99/per-second from [`samples_ns`].

#[path = "../tests/support/corpus.rs"]
mod corpus;

use std::hint::black_box;
use std::time::Instant;

/// Calls timed together per sample. One: a per-command figure whose tail is the classifier's own;
/// timing a batch would multiply each sample's exposure to preemption on a shared machine (one
/// lost 4 ms slice over 64 calls reads as +62 µs per command). The clock read (~25 ns through the
/// vDSO) is inside every sample, and inside the baseline's too.
const BATCH: u32 = 1;
/// Passes over the whole corpus.
const PASSES: usize = 10;

/// Per-command nanoseconds: one sample per corpus command per pass (unsorted).
pub fn samples_ns() -> Vec<u64> {
    let commands: Vec<String> = corpus::load().into_iter().map(|e| e.command).collect();
    // Warm-up: caches, branch predictors, allocator.
    for _ in 0..2 {
        for c in &commands {
            black_box(holdfast::classify::classify(black_box(c)));
        }
    }
    let mut out = Vec::with_capacity(commands.len() * PASSES);
    for _ in 0..PASSES {
        for c in &commands {
            let t = Instant::now();
            for _ in 0..BATCH {
                black_box(holdfast::classify::classify(black_box(c.as_str())));
            }
            out.push((t.elapsed().as_nanos() / u128::from(BATCH)) as u64);
        }
    }
    out
}

/// The same timing loop over a raw floor: one pass over each command's bytes.
fn baseline_samples_ns() -> Vec<u64> {
    let commands: Vec<String> = corpus::load().into_iter().map(|e| e.command).collect();
    let mut out = Vec::with_capacity(commands.len() * PASSES);
    for _ in 0..PASSES {
        for c in &commands {
            let t = Instant::now();
            for _ in 0..BATCH {
                black_box(black_box(c.as_bytes()).iter().fold(0u8, |a, b| a ^ b));
            }
            out.push((t.elapsed().as_nanos() / u128::from(BATCH)) as u64);
        }
    }
    out
}

/// The `classify` row: p50 ≤ 1 µs and p99 ≤ 5 µs per command over the corpus (DESIGN §9).
pub fn rows() -> Vec<crate::report::Row> {
    let samples = samples_ns();
    let base = baseline_samples_ns();
    vec![crate::report::latency_row(
        "classify",
        &samples,
        "byte_scan",
        &base,
        "p50 <= 1us, p99 <= 5us",
        |p50, p99, _| p50 <= 1_000 && p99 <= 5_000,
    )]
}
