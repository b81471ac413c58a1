//! The daemon-less classification, run in a child process so that nothing it does can end the hook.
//!
//! When the daemon is down the hook must classify the command itself, and the classifier parses
//! hostile text: a parser panic outside the classifier's guard, a runaway allocation or a stall
//! would otherwise kill the hook with an empty stdout, which agents read as allow. So the hook
//! re-executes its own binary as `holdfast __hook-classify` ([`CHILD_ARG`]), writes the command to
//! the child's stdin and reads one JSON line back. The child caps its own memory and CPU time first
//! thing (Unix `setrlimit`, which needs no `pre_exec`), and the parent gives it `TIME_LIMIT` of wall
//! time. Anything but a clean exit with one well-formed `LocalVerdict` is an `IsolationError`,
//! which the flow turns into a deny.
//!
//! [`FAULT_ENV`] makes the child misbehave on purpose (tests): every fault ends in a deny, never
//! in an allow, so the switch cannot be used to let anything through.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::classify::{self, Class};

/// The hidden subcommand the hook re-executes itself with.
pub const CHILD_ARG: &str = "__hook-classify";
/// Address space the child may use. Generous for any legal command (the payload is at most 1 MiB),
/// far below what a runaway tokenizer reaches.
#[cfg(unix)]
pub(crate) const MEMORY_LIMIT: u64 = 256 * 1024 * 1024;
/// CPU seconds the child may use (a second, independent stop beside the parent's wall clock).
#[cfg(unix)]
pub(crate) const CPU_LIMIT_SECS: u64 = 10;
/// Wall time the parent waits for the child's answer.
pub(crate) const TIME_LIMIT: Duration = Duration::from_secs(5);
/// Test switch: `abort`, `panic`, `alloc`, `hang` or `garbage` make the child fail that way.
pub const FAULT_ENV: &str = "HOLDFAST_TEST_CLASSIFY_FAULT";
/// Largest command the child reads (the hook payload that carried it is at most this big).
const MAX_INPUT: u64 = super::MAX_PAYLOAD as u64;
/// Largest answer the parent reads from the child.
const MAX_OUTPUT: u64 = 64 * 1024;

/// What the child answers: the classifier's class, rule and reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LocalVerdict {
    /// The worst class found.
    pub class: Class,
    /// Stable rule id.
    pub rule: String,
    /// One plain sentence.
    pub reason: String,
}

/// Why the isolated classification gave no usable answer. Every variant is a deny.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum IsolationError {
    #[error("the classifier process could not be started: {0}")]
    Spawn(String),
    #[error("the classifier process did not answer within {0:?} and was killed")]
    TimedOut(Duration),
    #[error("the classifier process ended abnormally ({0})")]
    Died(String),
    #[error("the classifier process answered something unreadable: {0}")]
    Garbage(String),
}

/// Classifies `command` in a child process running `exe` (this binary), within the limits above.
pub(crate) fn classify_in_child(exe: &Path, command: &str) -> Result<LocalVerdict, IsolationError> {
    let mut child = Command::new(exe)
        .arg(CHILD_ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| IsolationError::Spawn(e.to_string()))?;
    let end = Instant::now() + TIME_LIMIT;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        kill(&mut child);
        return Err(IsolationError::Spawn("no pipes to the child".into()));
    };
    // Both pipe ends are served by threads so that a child that stops reading or writing cannot
    // block the hook past its deadline; the hook exits soon after and ends them.
    let input = command.as_bytes().to_vec();
    std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let read = stdout.take(MAX_OUTPUT).read_to_end(&mut out);
        let _ = tx.send(read.map(|_| out));
    });
    let out = match rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            kill(&mut child);
            return Err(IsolationError::Died(format!("its output could not be read: {e}")));
        }
        Err(_) => {
            kill(&mut child);
            return Err(IsolationError::TimedOut(TIME_LIMIT));
        }
    };
    let status = wait_until(&mut child, end).ok_or(IsolationError::TimedOut(TIME_LIMIT))?;
    if !status.success() {
        return Err(IsolationError::Died(describe(status)));
    }
    parse_answer(&out)
}

/// Reads the child's answer: exactly one JSON line holding a [`LocalVerdict`].
fn parse_answer(out: &[u8]) -> Result<LocalVerdict, IsolationError> {
    let text = std::str::from_utf8(out).map_err(|_| IsolationError::Garbage("not UTF-8".into()))?;
    let line = text.strip_suffix('\n').filter(|l| !l.contains('\n'));
    let line = line.ok_or_else(|| IsolationError::Garbage(format!("not one line ({} bytes)", out.len())))?;
    serde_json::from_str(line).map_err(|e| IsolationError::Garbage(e.to_string()))
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits for `child` until `end`; kills it and returns `None` past that.
fn wait_until(child: &mut Child, end: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(2)),
            _ => {
                kill(child);
                return None;
            }
        }
    }
}

fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return format!("killed by signal {signal}");
    }
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "no exit status".into(),
    }
}

/// The child's whole life: limit itself, read the command, classify, print one JSON line.
/// Returns the process exit code.
pub fn child_main() -> i32 {
    limit_self();
    let mut input = Vec::new();
    if std::io::stdin().take(MAX_INPUT + 1).read_to_end(&mut input).is_err() || input.len() as u64 > MAX_INPUT {
        return 3;
    }
    // A command the hook read from JSON is valid UTF-8; anything else is not ours to classify.
    let Ok(command) = String::from_utf8(input) else { return 3 };
    if let Ok(fault) = std::env::var(FAULT_ENV) {
        inject(&fault);
    }
    let c = classify::classify(&command);
    let verdict = LocalVerdict { class: c.class, rule: c.rule.to_string(), reason: c.reason.to_string() };
    let Ok(line) = serde_json::to_string(&verdict) else { return 3 };
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        Ok(()) => 0,
        Err(_) => 3,
    }
}

/// Caps the child's own address space and CPU time, and turns off core dumps (an OOM abort must
/// not write a gigabyte core). Best effort: the parent's wall clock still bounds the child.
#[cfg(unix)]
fn limit_self() {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let cap = |n: u64| Rlimit { current: Some(n), maximum: Some(n) };
    #[cfg(not(target_os = "openbsd"))]
    let _ = setrlimit(Resource::As, cap(MEMORY_LIMIT));
    let _ = setrlimit(Resource::Cpu, cap(CPU_LIMIT_SECS));
    let _ = setrlimit(Resource::Core, cap(0));
}

/// Windows has no `setrlimit`: the parent's wall clock is the bound there.
#[cfg(not(unix))]
fn limit_self() {}

/// Misbehaves as `fault` says (test switch; every fault ends in a deny).
fn inject(fault: &str) {
    match fault {
        "abort" => std::process::abort(),
        "panic" => panic!("injected classifier fault"),
        "alloc" => {
            // Grows until the memory limit (or the wall clock) ends the process.
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 16 * 1024 * 1024]);
            }
        }
        "hang" => loop {
            std::thread::sleep(Duration::from_secs(60));
        },
        "garbage" => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(br#"{"class":"safe""#).and_then(|()| out.flush());
            std::process::exit(0);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_well_formed_line_is_an_answer() {
        let good = br#"{"class":"safe","rule":"safe.default","reason":"r"}
"#;
        assert_eq!(parse_answer(good).unwrap().class, Class::Safe);
        for bad in [
            &b""[..],
            b"{\"class\":\"safe\"",
            br#"{"class":"safe","rule":"a","reason":"r"}"#,
            b"{\"class\":\"safe\",\"rule\":\"a\",\"reason\":\"r\"}\n{\"class\":\"safe\",\"rule\":\"a\",\"reason\":\"r\"}\n",
            b"{\"class\":\"harmless\",\"rule\":\"a\",\"reason\":\"r\"}\n",
            b"\xff\n",
        ] {
            assert!(matches!(parse_answer(bad), Err(IsolationError::Garbage(_))), "{bad:?}");
        }
    }
}
