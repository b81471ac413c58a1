//! `log verify`, `log tail`, `log head` (and `log export`, in `export.rs`).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use holdfast::audit::segments::Follower;
use holdfast::audit::verify::{VerifyOptions, VerifyReport, verify_file, verify_log};
use holdfast::audit::{Record, VerificationKey, read_records};
use holdfast::paths::Paths;
use holdfast::transport::{Client, ClientError};
use holdfast::vault::handover::Genesis;
use holdfast::vault::{Vault, VaultError, unwrap_verification_key};
use holdfast::wire::{LogHead, RequestBody, ResponseBody};

use super::Exit;
use super::auth::{PasswordArgs, read_password};
use super::output::print_json;

#[derive(Subcommand, Debug)]
pub enum LogCommand {
    /// Check the hash chain (and, with the verification key, every seal and MAC).
    Verify(VerifyArgs),
    /// Show the last records as a readable timeline.
    Tail(TailArgs),
    /// Show the log's head (seq and hash): record it elsewhere as an external anchor.
    Head(HeadArgs),
    /// Stream the records for a log shipper (JSON lines as written, or OCSF), resumable by seq.
    Export(super::export::ExportArgs),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// File holding the verification key (64 hex digits) to check MACs and seals.
    #[arg(long, conflicts_with_all = ["vault", "password_stdin"])]
    key_file: Option<PathBuf>,
    /// Check MACs and seals with the verification key wrapped in the admin vault (asks for the admin
    /// password on the terminal; --password-stdin implies this).
    #[arg(long)]
    vault: bool,
    #[command(flatten)]
    password: PasswordArgs,
    /// Log file to check, e.g. a central copy (default: this home's audit log, every segment). A
    /// directory is read as a data directory: its `audit.jsonl` and archived segments.
    #[arg(long)]
    file: Option<PathBuf>,
    /// A head recorded earlier, `SEQ:HASH`, that the file must still contain.
    #[arg(long)]
    anchor: Option<String>,
    /// Print machine-readable JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub struct TailArgs {
    /// How many records to show.
    #[arg(short = 'n', default_value_t = 20)]
    n: usize,
    /// Keep printing records as they are appended.
    #[arg(long, short = 'f')]
    follow: bool,
    /// Print each record as one JSON line.
    #[arg(long)]
    json: bool,
    /// Show times in UTC (default: local time, with its offset).
    #[arg(long)]
    utc: bool,
}

#[derive(Args, Debug)]
pub struct HeadArgs {
    /// Print machine-readable JSON.
    #[arg(long)]
    json: bool,
}

/// Runs a `log` subcommand.
pub fn run(cmd: &LogCommand) -> Result<Exit> {
    match cmd {
        LogCommand::Verify(a) => verify(a),
        LogCommand::Tail(a) => tail(a),
        LogCommand::Head(a) => head(a),
        LogCommand::Export(a) => super::export::run(a),
    }
}

/// The daemon's head, `None` when it does not run.
fn daemon_head(paths: &Paths) -> Result<Option<LogHead>> {
    let client = Client::new(paths.endpoint.clone()).with_timeout(Duration::from_secs(5));
    match client.request(RequestBody::LogHead) {
        Ok(r) => match r.body {
            ResponseBody::LogHead(h) => Ok(Some(h)),
            ResponseBody::Error(e) => bail!("the daemon cannot give its log head: {}", e.message),
            other => bail!("unexpected answer to log_head: {other:?}"),
        },
        Err(ClientError::NotRunning(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn verify(args: &VerifyArgs) -> Result<Exit> {
    let paths = Paths::from_env()?;
    let path = args.file.clone().unwrap_or_else(|| paths.audit_log());
    let from_vault = args.vault || args.password.password_stdin;
    let key = match &args.key_file {
        Some(f) => Some(VerificationKey::read_file(f)?),
        None if from_vault => Some(vault_key(&paths, &args.password)?),
        None => None,
    };
    let mut anchor_source = None;
    let anchor = if let Some(a) = &args.anchor {
        let (seq, hash) = a.split_once(':').context("--anchor is SEQ:HASH")?;
        anchor_source = Some("the given anchor".to_string());
        Some(LogHead {
            seq: seq.parse().context("--anchor SEQ is a number")?,
            hash: hash.into(),
            log_id: String::new(),
        })
    } else if args.file.is_none() {
        // Taken before reading the file: whatever the daemon appends meanwhile comes after it.
        let head = daemon_head(&paths)?;
        if head.is_some() {
            anchor_source = Some("the running daemon's head".to_string());
        }
        head
    } else {
        None
    };
    if from_vault
        && let Some(k) = &key
        && let Ok(Some(g)) = Genesis::read(&path)
        && !g.sealed_by(k)
    {
        eprintln!(
            "holdfast: the vault's verification key does not seal record 1 of {} (log {}): either the vault holds \
             another log's key (`holdfast vault wrap-key --replace` wraps this log's key) or record 1 was forged",
            path.display(),
            g.log_id
        );
    }
    let options = VerifyOptions { key, anchor };
    let report = match &args.file {
        Some(f) if f.is_dir() => verify_log(&f.join("audit.jsonl"), &options)?,
        Some(f) => verify_file(f, &options)?,
        None => verify_log(&path, &options)?,
    };
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        v["file"] = path.display().to_string().into();
        print_json(&v);
    } else {
        print_report(&report, &path, anchor_source.as_deref());
    }
    Ok(if report.ok { Exit::Ok } else { Exit::LogInvalid })
}

/// `k0`, unwrapped from the vault with the admin password. Exit 6 on a wrong password.
fn vault_key(paths: &Paths, password: &PasswordArgs) -> Result<VerificationKey> {
    let path = paths.vault();
    let vault =
        Vault::load(&path).with_context(|| format!("cannot use the vault at {}", path.display()))?.with_context(
            || format!("no admin vault at {}: check the seals with --key-file FILE instead", path.display()),
        )?;
    if vault.seal_wrap.is_none() {
        // Checked before asking for the password: no point typing it.
        bail!(
            "{} ({}): `holdfast vault wrap-key` wraps the daemon's key file into it; or use --key-file FILE",
            VaultError::NoSealWrap,
            path.display()
        );
    }
    let pw = read_password(password, "holdfast admin password: ")?;
    let k0 = unwrap_verification_key(&vault, &pw)?;
    Ok(VerificationKey::from_bytes(*k0))
}

fn print_report(r: &VerifyReport, path: &std::path::Path, anchor: Option<&str>) {
    let verdict = if r.ok { "OK" } else { "FAILED" };
    println!("{verdict}: {}", path.display());
    println!(
        "  {} records, {} sealed epochs, {:.1} MB in {:.3} s ({:.0} MB/s)",
        r.records,
        r.seals,
        r.bytes as f64 / 1e6,
        r.seconds,
        r.mb_per_s
    );
    if let Some(h) = &r.head {
        println!("  head     seq {} hash {}", h.seq, h.hash);
    }
    if r.segments > 0 {
        println!("  segments {} files", r.segments);
    }
    if let Some(h) = &r.history_starts {
        match h.retention_seq {
            Some(s) => println!(
                "  history  starts at seq {} (segment {}): older segments removed by retention (recorded at seq {s})",
                h.seq, h.segment
            ),
            None => println!("  history  starts at seq {} (segment {}): older segments are missing", h.seq, h.segment),
        }
    }
    println!("  chain    checked");
    match (r.macs_checked, r.macs_unchecked_from) {
        (true, None) => println!("  seals    every MAC checked with the verification key"),
        (true, Some(s)) => println!("  seals    MACs checked up to seq {s} (the sealing key was replaced there)"),
        (false, _) => {
            println!(
                "  seals    NOT checked (pass --vault or --key-file to check MACs; without the key a rewritten \
                 chain passes)"
            )
        }
    }
    match anchor {
        Some(a) => println!("  tail     checked against {a}"),
        None => println!(
            "  tail     NOT checked (daemon not running, no --anchor): a cut-off tail is only caught if it removed a seal"
        ),
    }
    if !r.recovered.is_empty() {
        println!("  note     {} torn write(s) recovered after crashes (seq {:?})", r.recovered.len(), r.recovered);
    }
    if let Some(first) = r.first_problem() {
        println!("  FIRST BAD {first}");
        for p in r.problems.iter().skip(1).take(9) {
            println!("  also     {p}");
        }
        if r.problem_count > 10 {
            println!("  …        {} findings in all", r.problem_count);
        }
    }
}

fn tail(args: &TailArgs) -> Result<Exit> {
    let paths = Paths::from_env()?;
    let path = paths.audit_log();
    let zone = (!args.utc).then(jiff::tz::TimeZone::system);
    let mut last: VecDeque<Record> = VecDeque::with_capacity(args.n.min(10_000));
    let keep = |last: &mut VecDeque<Record>, rec: Record| {
        if last.len() == args.n {
            last.pop_front();
        }
        if args.n > 0 {
            last.push_back(rec);
        }
    };
    // The active segment, and the archived ones only while it holds fewer than n records.
    for r in read_records(&path)? {
        match r {
            Ok(rec) => keep(&mut last, rec),
            Err(e) => eprintln!("holdfast: {e}"),
        }
    }
    if last.len() < args.n {
        let first = last.front().map(|r| r.seq);
        let mut older: VecDeque<Record> = VecDeque::new();
        for rec in holdfast::audit::read_log_records(&path)?.flatten().take_while(|r| first.is_none_or(|f| r.seq < f)) {
            keep(&mut older, rec);
        }
        let room = args.n - last.len();
        for rec in older.into_iter().rev().take(room) {
            last.push_front(rec);
        }
    }
    for r in &last {
        show(r, args.json, zone.as_ref());
    }
    if args.follow {
        follow(&path, args.json, zone.as_ref())?;
    }
    Ok(Exit::Ok)
}

/// Prints records appended after the current end, forever (across rolls into new segments).
fn follow(path: &std::path::Path, json: bool, zone: Option<&jiff::tz::TimeZone>) -> Result<Exit> {
    let mut print = |line: &[u8]| {
        let v = serde_json::from_slice::<serde_json::Value>(line).ok();
        if let Some(rec) = v.and_then(|v| serde_json::from_value::<Record>(v["body"].clone()).ok()) {
            show(&rec, json, zone);
        }
        Ok(())
    };
    let mut follower = Follower::start(path, u64::MAX, &mut |_| Ok(()))?;
    loop {
        std::thread::sleep(Duration::from_millis(200));
        if let Some(note) = follower.poll(&mut print)? {
            eprintln!("holdfast: {note}");
        }
    }
}

fn show(r: &Record, json: bool, zone: Option<&jiff::tz::TimeZone>) {
    if json {
        print_json(r);
        return;
    }
    let d = &r.data;
    let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
    let detail = match r.kind.as_str() {
        "observe" => {
            let to = d["to"].as_str().map(|t| format!(" → {t}")).unwrap_or_default();
            let count = d["count"].as_u64().filter(|c| *c > 1).map(|c| format!(" (×{c})")).unwrap_or_default();
            let flag = if d["bypass"] == true { format!("  BYPASS: {}", s("reason")) } else { String::new() };
            format!("{} {}{to}{count}{flag}", s("change"), s("path"))
        }
        "approve" | "deny" | "expire" => {
            let remembered = if d["remember"] == true { " (remembered)" } else { "" };
            format!("{} [{}] {}$ {}{remembered}", s("pending"), s("agent"), s("cwd"), s("command"))
        }
        "resolve" => format!("{} in the agent's prompt: {}", s("decision"), s("command")),
        "agent_approved" => {
            format!("{} [{}] approved in the agent's prompt, ran: {}", s("pending"), s("agent"), s("command"))
        }
        "admin" => format!("{} → {}", s("op"), s("outcome")),
        _ if d.get("raw").is_some() => {
            let decision = d["decision"].as_str().or(d["verdict"]["decision"].as_str());
            let decision = decision.map(|x| format!(" → {x}")).unwrap_or_default();
            format!("[{}] {}$ {}{decision}", s("agent"), s("cwd"), s("raw"))
        }
        _ => {
            let mut t = d.to_string();
            if t.len() > 120 {
                let cut = (0..=117).rev().find(|i| t.is_char_boundary(*i)).unwrap_or(0);
                t.truncate(cut);
                t.push('…');
            }
            t
        }
    };
    println!("{:>8}  {}  {:<13} {detail}", r.seq, when(&r.ts, zone), r.kind);
}

fn head(args: &HeadArgs) -> Result<Exit> {
    let paths = Paths::from_env()?;
    let (head, source) = match daemon_head(&paths)? {
        Some(h) => (h, "daemon"),
        None => {
            let report = verify_log(&paths.audit_log(), &VerifyOptions::default())?;
            let Some(h) = report.head else { bail!("the audit log {} has no records", paths.audit_log().display()) };
            (h, "file")
        }
    };
    if args.json {
        print_json(&serde_json::json!({"seq": head.seq, "hash": head.hash, "log_id": head.log_id, "source": source}));
    } else {
        if source == "file" {
            println!("daemon not running: last record in the file (not an anchor: the file itself may be cut short)");
        }
        println!("seq    {}\nhash   {}\nlog_id {}", head.seq, head.hash, head.log_id);
        println!("anchor {}:{}", head.seq, head.hash);
    }
    Ok(Exit::Ok)
}

/// A record's time (RFC 3339 UTC) in `zone`, to the second: `2026-12-03 09:41:01 +01:00`, or
/// `…Z` in UTC (`zone` None); the record's own text when it is not a time.
fn when(ts: &str, zone: Option<&jiff::tz::TimeZone>) -> String {
    match (ts.parse::<jiff::Timestamp>(), zone) {
        (Ok(t), None) => t.strftime("%Y-%m-%d %H:%M:%SZ").to_string(),
        (Ok(t), Some(zone)) => t.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M:%S %:z").to_string(),
        (Err(_), _) => ts.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::when;
    use jiff::tz::{Offset, TimeZone};

    #[test]
    fn tail_times_are_local_with_their_offset_or_utc() {
        let ts = "2026-12-03T23:41:01.353000Z";
        assert_eq!(when(ts, None), "2026-12-03 23:41:01Z");
        let plus2 = TimeZone::fixed(Offset::from_hours(2).unwrap());
        assert_eq!(when(ts, Some(&plus2)), "2026-12-04 01:41:01 +02:00");
        assert_eq!(when("not a time", Some(&plus2)), "not a time");
    }
}
