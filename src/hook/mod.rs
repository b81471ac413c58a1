//! Agent hook dialects (DESIGN §1 `hook`): each agent's stdin JSON → one [`HookInput`]
//! → [`flow`] decides → the dialect renders its own answer.
//!
//! One file per dialect. A dialect only translates; every decision is made in
//! [`flow`], so all agents fail the same safe way.

pub mod claude;
pub mod codex;
pub mod copilot;
pub mod cursor;
pub mod flow;
pub mod gemini;
pub mod generic;
pub mod isolate;
pub mod offline;

use std::time::Duration;

use serde_json::Value;

use crate::wire::Verdict;

/// Largest payload the hook reads from stdin.
pub const MAX_PAYLOAD: usize = 1024 * 1024;
/// How long the hook waits for the agent to deliver its payload.
pub const READ_DEADLINE: Duration = Duration::from_secs(3);

/// Whether the agent calls the hook before or after the tool runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the tool runs: the hook decides.
    Pre,
    /// After the tool ran: the hook only reports (an `ask` the human answered in the agent's UI).
    Post,
}

/// A shell command an agent is about to run (or just ran), in agent-neutral form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookInput {
    /// The command line as the agent gave it.
    pub command: String,
    /// The working directory from the payload, if any.
    pub cwd: Option<String>,
    /// The agent's session or conversation id, if any.
    pub session: Option<String>,
    /// holdfast's name for the agent (`claude-code`, `codex`, …).
    pub agent: &'static str,
    /// The agent's name for the tool (`Bash`, `run_shell_command`, …).
    pub tool: String,
    /// The agent's id for this one tool call, when it gives one (pairs a pre with its post).
    pub call_id: Option<String>,
    /// Before or after the tool runs.
    pub phase: Phase,
}

/// What a dialect found in a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A shell command: decide (pre) or report (post).
    Shell(HookInput),
    /// A tool that is not a shell: holdfast has no opinion.
    /// A tool that is not a shell: holdfast has no opinion.
    NotShell {
        /// The agent's name for the tool.
        tool: String,
    },
}

/// Why a payload could not be used. Always answered with the dialect's deny (see [`flow::malformed`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// More than [`MAX_PAYLOAD`] bytes.
    #[error("the payload is larger than {MAX_PAYLOAD} bytes")]
    TooLarge,
    /// No whole JSON value arrived before the deadline.
    #[error("no complete payload arrived within {0:?}")]
    Timeout(Duration),
    /// Reading stdin failed.
    #[error("cannot read stdin: {0}")]
    Io(String),
    /// The payload is not JSON.
    #[error("the payload is not valid JSON: {0}")]
    NotJson(String),
    /// The payload is JSON but not an object.
    #[error("the payload is not a JSON object")]
    NotObject,
    /// A shell tool payload without its command string; names where it was looked for.
    #[error("the shell tool payload has no command string at {0}")]
    NoCommand(&'static str),
}

/// The answer holdfast gives the agent, before the dialect renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Run it.
    Allow {
        /// Why, for the agent's log.
        reason: String,
    },
    /// Do not run it; `reason` tells the agent (and human) why and what to do.
    Deny {
        /// Why, and what to do instead.
        reason: String,
    },
    /// Ask the human in the agent's own prompt (only for dialects with an enforced native ask).
    Ask {
        /// What the human is asked, and how to approve outside the agent.
        reason: String,
    },
    /// Not ours to judge (not a shell tool, or a post-tool report).
    NoOpinion,
}

impl Answer {
    /// The `permissionDecision`-style word and reason (`allow`/`deny`/`ask`); `None` for no opinion.
    pub fn permission(&self) -> Option<(&'static str, &str)> {
        match self {
            Answer::NoOpinion => None,
            Answer::Allow { reason } => Some(("allow", reason)),
            Answer::Deny { reason } => Some(("deny", reason)),
            Answer::Ask { reason } => Some(("ask", reason)),
        }
    }
}

/// What the hook process prints and exits with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Exactly what goes to stdout (may be empty).
    pub stdout: String,
    /// The process exit code.
    pub exit: i32,
}

impl Rendered {
    /// JSON on stdout, exit 0.
    pub fn json(v: Value) -> Self {
        Rendered { stdout: format!("{v}\n"), exit: 0 }
    }
    /// Nothing on stdout, exit 0.
    pub fn empty() -> Self {
        Rendered { stdout: String::new(), exit: 0 }
    }
}

/// One agent's hook protocol. `Sync`, so that the panic guard ([`deny_on_panic`]) can render it.
pub trait Dialect: Sync {
    /// holdfast's name for the agent.
    fn agent(&self) -> &'static str;
    /// Extracts the command from the agent's payload.
    fn parse(&self, payload: &Value) -> Result<Parsed, PayloadError>;
    /// Renders an answer in the agent's protocol.
    fn render(&self, answer: &Answer) -> Rendered;
    /// Renders an answer with the daemon's verdict at hand (only `generic` prints it).
    fn render_verdict(&self, answer: &Answer, _verdict: Option<&Verdict>) -> Rendered {
        self.render(answer)
    }
    /// True when the agent enforces a native `ask` (so a hold becomes ask rather than a wait).
    fn native_ask(&self) -> bool;
    /// A synthetic pre-tool payload for `command` (used by `doctor` to check the hook fires).
    fn sample(&self, command: &str, cwd: &str) -> Value;
}

/// The exit code every supported agent reads as "block" whatever stdout holds: Claude Code, Codex
/// and Gemini CLI block on 2 and show stderr as the reason (any other non-zero exit lets the tool
/// run), Cursor blocks on 2, Copilot CLI blocks `preToolUse` on any non-zero exit, and 2 is the
/// generic dialect's deny. Used where stdout cannot be trusted to be whole: the panic guard.
pub const BLOCKING_EXIT: i32 = 2;

/// Test switch: any value makes the hook panic after reading its payload (ends in a deny).
pub const HOOK_FAULT_ENV: &str = "HOLDFAST_TEST_HOOK_FAULT";

/// Makes any panic in this process, on any thread, end as `dialect`'s deny: the deny on stdout,
/// the reason on stderr, exit [`BLOCKING_EXIT`]. A hook that died with an empty stdout would be an
/// allow to most agents. (If rendering the deny itself panicked, Rust aborts: a non-zero exit that
/// `init`'s `|| exit 2` wrapper and Cursor's `failClosed` still turn into a block.)
pub fn deny_on_panic(dialect: &'static dyn Dialect) {
    std::panic::set_hook(Box::new(move |info| {
        use std::io::Write;
        let payload = info.payload();
        let what = payload.downcast_ref::<&str>().copied().or(payload.downcast_ref::<String>().map(String::as_str));
        let what = what.unwrap_or("a panic");
        let reason = format!("holdfast's hook failed internally ({what}); denied to be safe. Run `holdfast doctor`.");
        // Plain writes, errors ignored: a panic inside this hook would abort without a deny.
        let _ = writeln!(std::io::stderr(), "holdfast: {reason}");
        let rendered = dialect.render(&Answer::Deny { reason });
        let mut out = std::io::stdout();
        let _ = out.write_all(rendered.stdout.as_bytes()).and_then(|()| out.flush());
        std::process::exit(BLOCKING_EXIT);
    }));
}

/// Every agent name `--agent` accepts.
pub const AGENTS: &[&str] = &["claude-code", "codex", "gemini", "cursor", "copilot", "generic"];

/// The dialect for an agent name, if known.
pub fn dialect(agent: &str) -> Option<&'static dyn Dialect> {
    Some(match agent {
        "claude-code" | "claude" => &claude::Claude,
        "codex" => &codex::Codex,
        "gemini" => &gemini::Gemini,
        "cursor" => &cursor::Cursor,
        "copilot" => &copilot::Copilot,
        "generic" => &generic::Generic,
        _ => return None,
    })
}

/// Reads the hook's payload from stdin: at most [`MAX_PAYLOAD`] bytes, stopping as soon as a whole
/// JSON value has arrived (some agents keep stdin open), giving up after `deadline`.
#[cfg(unix)]
pub fn read_payload(deadline: Duration) -> Result<Value, PayloadError> {
    read_payload_from(std::io::stdin(), deadline)
}

/// Reads the hook's payload from stdin (see the Unix version).
#[cfg(not(unix))]
pub fn read_payload(deadline: Duration) -> Result<Value, PayloadError> {
    read_payload_threaded(std::io::stdin(), deadline)
}

/// Unix: `poll(2)` with the time left, then one `read(2)` straight from the descriptor (no reader
/// thread, no buffering layer that could hide bytes from `poll`). The deadline holds even when the
/// agent never closes stdin.
#[cfg(unix)]
pub fn read_payload_from<F: std::os::fd::AsFd>(input: F, deadline: Duration) -> Result<Value, PayloadError> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    use rustix::io::Errno;
    let end = std::time::Instant::now() + deadline;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let left = end.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(PayloadError::Timeout(deadline));
        }
        let ts = Timespec { tv_sec: left.as_secs() as i64, tv_nsec: i64::from(left.subsec_nanos()) };
        match poll(&mut [PollFd::new(&input, PollFlags::IN)], Some(&ts)) {
            Ok(0) | Err(Errno::INTR) => continue,
            Ok(_) => {}
            Err(e) => return Err(PayloadError::Io(e.to_string())),
        }
        // Readable (or hung up / invalid): this read returns at once with data, EOF or an error.
        let n = match rustix::io::read(&input, &mut chunk) {
            Ok(n) => n,
            Err(Errno::INTR | Errno::AGAIN) => continue,
            Err(e) => return Err(PayloadError::Io(e.to_string())),
        };
        if let Some(done) = feed(&mut buf, &chunk[..n]) {
            return done;
        }
    }
}

/// Elsewhere: a reader thread lets the deadline hold even when the agent never closes stdin;
/// the process exits after answering, which ends the blocked thread.
#[cfg(not(unix))]
fn read_payload_threaded<R: std::io::Read + Send + 'static>(
    mut input: R,
    deadline: Duration,
) -> Result<Value, PayloadError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 16 * 1024];
        let done = loop {
            let n = match input.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(PayloadError::Io(e.to_string())),
            };
            if let Some(done) = feed(&mut buf, &chunk[..n]) {
                break done;
            }
        };
        let _ = tx.send(done);
    });
    rx.recv_timeout(deadline).unwrap_or(Err(PayloadError::Timeout(deadline)))
}

/// Adds one read's bytes (`got` empty: end of input) to `buf`; `Some` once the payload is decided.
fn feed(buf: &mut Vec<u8>, got: &[u8]) -> Option<Result<Value, PayloadError>> {
    if got.is_empty() {
        return Some(serde_json::from_slice(buf).map_err(|e| PayloadError::NotJson(e.to_string())));
    }
    if buf.len() + got.len() > MAX_PAYLOAD {
        return Some(Err(PayloadError::TooLarge));
    }
    buf.extend_from_slice(got);
    // Stop at the first complete object; anything after it is ignored.
    if buf.iter().rev().find(|b| !b.is_ascii_whitespace()) == Some(&b'}')
        && let Ok(v) = serde_json::from_slice::<Value>(buf)
    {
        return Some(Ok(v));
    }
    None
}

/// A string field at `path` (object keys), if present and a string.
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for k in path {
        cur = cur.get(k)?;
    }
    cur.as_str()
}

/// An owned optional string field at `path`.
pub fn opt_string(v: &Value, path: &[&str]) -> Option<String> {
    str_at(v, path).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The text the agent shows when a held command is waiting in holdfast's queue.
pub fn approve_hint(pending: &str) -> String {
    format!("approve with: holdfast approve {pending}  (or deny with: holdfast deny {pending})")
}

#[cfg(all(test, unix))]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_complete_payload_is_read_while_stdin_stays_open() {
        let (r, mut w) = std::io::pipe().unwrap();
        w.write_all(br#"{"tool_name":"Bash"}  "#).unwrap();
        let v = read_payload_from(&r, Duration::from_secs(5)).unwrap();
        assert_eq!(v["tool_name"], "Bash");
        drop(w);
    }

    #[test]
    fn half_a_payload_on_open_stdin_times_out() {
        let (r, mut w) = std::io::pipe().unwrap();
        w.write_all(br#"{"command":"#).unwrap();
        assert_eq!(
            read_payload_from(&r, Duration::from_millis(50)),
            Err(PayloadError::Timeout(Duration::from_millis(50)))
        );
        drop(w);
    }

    #[test]
    fn end_of_input_decides_and_size_is_bounded() {
        let (r, mut w) = std::io::pipe().unwrap();
        w.write_all(b"[1]").unwrap();
        drop(w);
        assert_eq!(read_payload_from(&r, Duration::from_secs(5)).unwrap(), serde_json::json!([1]));
        let (r, w) = std::io::pipe().unwrap();
        drop(w);
        assert!(matches!(read_payload_from(&r, Duration::from_secs(5)), Err(PayloadError::NotJson(_))));
        let (r, mut w) = std::io::pipe().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = w.write_all(&vec![b' '; MAX_PAYLOAD + 1]);
        });
        assert_eq!(read_payload_from(&r, Duration::from_secs(5)), Err(PayloadError::TooLarge));
        drop(r);
        writer.join().unwrap();
    }
}
