//! `holdfast log export`: the records as a stream for a standard shipper (rsyslog, syslog-ng,
//! Vector…), resumable by seq.
//!
//! `--format jsonl` writes each line exactly as the log holds it, so a central copy of a whole
//! log (`--since 0`) verifies with `holdfast log verify --file COPY`. `--format ocsf` maps each
//! record to an OCSF 1.x event: decisions (`propose`, `record`) to Process Activity (1007) with
//! the Security Control profile's `action_id`/`disposition_id`, human answers and expiries to
//! the same class, everything else to a Base Event (0) carrying the record in `unmapped`.
//! A shipper restarts with `--since` the last seq it delivered.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, ValueEnum};
use holdfast::audit::Record;
use holdfast::audit::segments::Follower;
use holdfast::paths::Paths;
use serde_json::{Value, json};

use super::Exit;

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
    /// Only records after this seq (the last one a shipper delivered).
    #[arg(long, default_value_t = 0)]
    since: u64,
    /// Keep streaming records as they are appended.
    #[arg(long, short = 'f')]
    follow: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Jsonl,
    Ocsf,
}

/// How often `--follow` looks for new records.
const POLL: Duration = Duration::from_millis(200);

/// Runs `log export`.
pub fn run(args: &ExportArgs) -> Result<Exit> {
    let path = Paths::from_env()?.audit_log();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    stream(&path, args.since, args.follow, &mut out, |out, line| {
        let Some(body) = serde_json::from_slice::<Value>(line).ok().map(|mut v| v["body"].take()) else {
            return Ok(());
        };
        if body["seq"].as_u64().is_none_or(|s| s <= args.since) {
            return Ok(());
        }
        match args.format {
            Format::Jsonl => out.write_all(line),
            Format::Ocsf => match serde_json::from_value::<Record>(body) {
                Ok(record) => {
                    serde_json::to_writer(&mut *out, &ocsf(&record))?;
                    out.write_all(b"\n")
                }
                Err(_) => Ok(()),
            },
        }
    })?;
    Ok(Exit::Ok)
}

/// Calls `each` with every whole line (newline included) of the log's segments that may hold
/// records after `since`, then with `follow` every line appended later, across rolls
/// (`holdfast::audit::segments::Follower`). `out` is flushed after each read to the end.
fn stream<W: Write>(
    path: &Path,
    since: u64,
    follow: bool,
    out: &mut W,
    mut each: impl FnMut(&mut W, &[u8]) -> std::io::Result<()>,
) -> Result<()> {
    let mut follower = Follower::start(path, since, &mut |line: &[u8]| each(out, line))?;
    out.flush()?;
    if !follow {
        return Ok(());
    }
    loop {
        std::thread::sleep(POLL);
        if let Some(note) = follower.poll(&mut |line: &[u8]| each(out, line))? {
            eprintln!("holdfast: {note}");
        }
        out.flush()?;
    }
}

/// OCSF Process Activity.
const PROCESS_ACTIVITY: u64 = 1007;
/// OCSF Base Event.
const BASE_EVENT: u64 = 0;

/// `(action_id, disposition_id)` of the Security Control profile for a decision word.
fn disposition(decision: &str) -> (u64, u64) {
    match decision {
        "allow" => (1, 1),  // Allowed / Allowed
        "deny" => (2, 2),   // Denied / Blocked
        "hold" => (99, 14), // Other / Delayed: waits for a human
        _ => (0, 0),
    }
}

/// One record as an OCSF event.
fn ocsf(r: &Record) -> Value {
    let d = &r.data;
    let time = r.ts.parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).unwrap_or_default();
    let decision = match r.kind.as_str() {
        "propose" => d["verdict"]["decision"].as_str().or(d["decision"].as_str()),
        "record" => Some("allow"),
        "approve" => Some("allow"),
        "deny" | "expire" => Some("deny"),
        "resolve" => d["decision"].as_str(),
        _ => None,
    };
    let command = d["raw"].as_str().or(d["command"].as_str());
    let mut event = json!({
        "time": time,
        "severity_id": 1,
        "metadata": {
            "version": "1.1.0",
            "product": {"name": "holdfast", "vendor_name": "holdfast", "version": holdfast::VERSION},
            "uid": r.seq.to_string(),
            "original_time": r.ts,
            "event_code": r.kind,
        },
        "unmapped": {"kind": r.kind, "seq": r.seq, "data": d, "peer": r.peer},
    });
    match (decision, command) {
        (Some(decision), Some(command)) => {
            let (action_id, disposition_id) = disposition(decision);
            event["metadata"]["profiles"] = json!(["security_control"]);
            event["class_uid"] = PROCESS_ACTIVITY.into();
            event["category_uid"] = 1.into();
            event["activity_id"] = 1.into(); // Launch
            event["type_uid"] = (PROCESS_ACTIVITY * 100 + 1).into();
            event["action_id"] = action_id.into();
            event["disposition_id"] = disposition_id.into();
            event["process"] = json!({"cmd_line": command, "file": {"path": d["cwd"]}});
            event["actor"] = json!({"app_name": d["agent"], "process": {"pid": r.peer.pid}});
            event["message"] = format!("{decision}: {command}").into();
        }
        _ => {
            event["class_uid"] = BASE_EVENT.into();
            event["category_uid"] = 0.into();
            event["activity_id"] = 99.into();
            event["type_uid"] = (BASE_EVENT * 100 + 99).into();
            event["message"] = r.kind.clone().into();
        }
    }
    event
}
