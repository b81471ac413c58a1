//! `holdfast classify`: classify a command without a daemon.
//!
//! * `holdfast classify -- rm -rf /` — human output (class, rule, reason, caret line).
//! * `holdfast classify --json -- rm -rf /` — one JSON object
//!   `{"class","rule","reason","span"}`; `span` is `{"start":N,"end":M}` (byte
//!   offsets into the command, end exclusive) or `null`.
//! * `holdfast classify --stdin` — one command per input line, one JSON object
//!   per output line, streamed.
//!
//! Exit code: 0 whatever the class; 2 for usage errors.

use std::io::{BufRead, Write};

use holdfast::classify::{Classification, classify};

use super::Exit;

/// Arguments of `holdfast classify`.
#[derive(clap::Args, Debug, Default)]
pub struct ClassifyArgs {
    /// Print one JSON object instead of human-readable text.
    #[arg(long)]
    pub json: bool,
    /// Read one command per line from standard input; print one JSON object per line.
    #[arg(long, conflicts_with = "command")]
    pub stdin: bool,
    /// The command to classify (several words are joined with spaces).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "CMD")]
    pub command: Vec<String>,
}

fn json_line(c: &Classification) -> anyhow::Result<String> {
    Ok(serde_json::to_string(c)?)
}

/// Human-readable rendering with a caret line under the triggering span.
pub fn render_human(command: &str, c: &Classification) -> String {
    let mut out = String::new();
    out.push_str(&format!("{}  {}\n", c.class.as_str(), c.rule));
    out.push_str(&format!("  {}\n", c.reason));
    if let Some(span) = &c.span {
        // Show the line that contains the start of the span.
        let start = span.start.min(command.len());
        let line_start = command[..start].rfind('\n').map_or(0, |p| p + 1);
        let line_end = command[line_start..].find('\n').map_or(command.len(), |p| line_start + p);
        let line = &command[line_start..line_end];
        let end = span.end.clamp(start, line_end);
        let pad = command[line_start..start].chars().map(|c| if c == '\t' { '\t' } else { ' ' }).collect::<String>();
        let width = command[start..end].chars().count().max(1);
        out.push_str(&format!("  {line}\n  {pad}{}\n", "^".repeat(width)));
    }
    out
}

/// Run the subcommand; returns the process exit code.
pub fn run(args: &ClassifyArgs) -> anyhow::Result<Exit> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.stdin {
        let stdin = std::io::stdin();
        let mut line = String::new();
        let mut input = stdin.lock();
        loop {
            line.clear();
            if input.read_line(&mut line)? == 0 {
                break;
            }
            let cmd = line.strip_suffix('\n').unwrap_or(&line);
            let cmd = cmd.strip_suffix('\r').unwrap_or(cmd);
            let c = classify(cmd);
            writeln!(out, "{}", json_line(&c)?)?;
            out.flush()?;
        }
        return Ok(Exit::Ok);
    }
    if args.command.is_empty() {
        eprintln!("holdfast classify: give a command after `--`, or use --stdin");
        return Ok(Exit::Usage);
    }
    let command = args.command.join(" ");
    let c = classify(&command);
    if args.json {
        writeln!(out, "{}", json_line(&c)?)?;
    } else {
        write!(out, "{}", render_human(&command, &c))?;
    }
    out.flush()?;
    Ok(Exit::Ok)
}
