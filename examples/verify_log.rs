//! Verify an audit log file — the live one or a copy shipped elsewhere — with or without the
//! verification key.
//!
//!     cargo run --example verify_log -- ~/.local/share/holdfast/audit.jsonl [KEY_FILE]
//!
//! Without the key the hash chain is checked (edits, deletions, reordering); with it every MAC and
//! seal too (a chain recomputed by someone who lacks the key).
use holdfast::audit::{VerificationKey, VerifyOptions, verify_file};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let log = args.next().ok_or_else(|| anyhow::anyhow!("usage: verify_log AUDIT.jsonl [KEY_FILE]"))?;
    let key = args.next().map(|k| VerificationKey::read_file(k.as_ref())).transpose()?;
    let options = VerifyOptions { key, ..Default::default() };
    let report = verify_file(log.as_ref(), &options)?;
    println!(
        "{} records, {} seals, MACs {}checked: {}",
        report.records,
        report.seals,
        if report.macs_checked { "" } else { "not " },
        if report.ok { "ok" } else { "DAMAGED" }
    );
    if let Some(p) = report.first_problem() {
        println!("first problem: {p:?}");
    }
    std::process::exit(if report.ok { 0 } else { 8 });
}
