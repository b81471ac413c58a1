//! The shape of a new agent hook dialect: the agent's stdin JSON → a proposal → the daemon's
//! verdict → the agent's stdout JSON and exit code.
//!
//! The agent here, "acme", is made up. Its hook protocol:
//!
//! - in (stdin): `{"event": "before_tool", "tool": "shell", "call_id": "c1",
//!   "session": {"id": "s1"}, "args": {"cmdline": "rm -rf build", "workdir": "/repo"}}`;
//!   the same with `"event": "after_tool"` once the tool ran; any other `tool` is not a shell;
//! - out (stdout): `{"action": "run" | "ask" | "block", "message": "…"}`, exit 2 on block; an
//!   empty stdout means "no opinion" (acme's own permission rules apply).
//!
//! A dialect only translates. It implements [`holdfast::hook::Dialect`]; everything else —
//! proposing, waiting on holds, classifying in a child process while the daemon is down, the
//! offline spool, and every fail-closed path — is [`holdfast::hook::flow::hook`], shared by all
//! agents. Inside holdfast a dialect is one file in `src/hook/` plus its name in `hook::AGENTS` and
//! `hook::dialect`; outside, it is a small binary like this one.
//!
//!     holdfast start
//!     echo '{"event":"before_tool","tool":"shell","args":{"cmdline":"ls"}}' \
//!         | cargo run --example custom_dialect
use std::io::Write;
use std::time::Duration;

use holdfast::hook::{self, Answer, Dialect, HookInput, Parsed, PayloadError, Phase, Rendered, flow, isolate};
use holdfast::paths::Paths;
use serde_json::{Value, json};

/// The made-up agent's dialect. A unit struct: `deny_on_panic` needs a `&'static dyn Dialect`.
struct Acme;

impl Dialect for Acme {
    fn agent(&self) -> &'static str {
        "acme"
    }

    /// Payload → agent-neutral input. An error here is never an allow: `flow::hook` answers it with
    /// this dialect's deny (`render(Answer::Deny)`), so a changed or garbled payload blocks the command.
    fn parse(&self, v: &Value) -> Result<Parsed, PayloadError> {
        if !v.is_object() {
            return Err(PayloadError::NotObject);
        }
        let tool = hook::str_at(v, &["tool"]).unwrap_or_default();
        if tool != "shell" {
            return Ok(Parsed::NotShell { tool: tool.to_owned() });
        }
        let phase = match hook::str_at(v, &["event"]) {
            Some("after_tool") => Phase::Post,
            _ => Phase::Pre, // unknown events decide: treating them as reports could fail open
        };
        // A shell call without its command is unusable, not "nothing to check".
        let command = hook::str_at(v, &["args", "cmdline"]).ok_or(PayloadError::NoCommand("args.cmdline"))?;
        Ok(Parsed::Shell(HookInput {
            command: command.to_owned(),
            cwd: hook::opt_string(v, &["args", "workdir"]),
            session: hook::opt_string(v, &["session", "id"]),
            agent: self.agent(),
            tool: tool.to_owned(),
            call_id: hook::opt_string(v, &["call_id"]),
            phase,
        }))
    }

    /// Answer → acme's output. Deny exits with `BLOCKING_EXIT` as well, so that an agent which
    /// reads only the exit code still blocks.
    fn render(&self, answer: &Answer) -> Rendered {
        match answer {
            Answer::NoOpinion => Rendered::empty(),
            Answer::Allow { reason } => Rendered::json(json!({"action": "run", "message": reason})),
            Answer::Ask { reason } => Rendered::json(json!({"action": "ask", "message": reason})),
            Answer::Deny { reason } => Rendered {
                stdout: format!("{}\n", json!({"action": "block", "message": reason})),
                exit: hook::BLOCKING_EXIT,
            },
        }
    }

    /// acme prompts its human itself on `ask`, so a hold becomes an ask at once (the human may also
    /// `holdfast approve` it). Without a native ask, the flow waits for `holdfast approve`, then denies.
    fn native_ask(&self) -> bool {
        true
    }

    /// The payload `doctor`-style checks feed the hook.
    fn sample(&self, command: &str, cwd: &str) -> Value {
        json!({"event": "before_tool", "tool": "shell", "args": {"cmdline": command, "workdir": cwd}})
    }
}

static ACME: Acme = Acme;

fn main() {
    // While the daemon is down the flow classifies in a child process running this same binary
    // with `isolate::CHILD_ARG` (a crash there is a deny, not a dead hook); answer as that child.
    if std::env::args().nth(1).as_deref() == Some(isolate::CHILD_ARG) {
        std::process::exit(isolate::child_main());
    }
    // From here on, a panic prints acme's deny and exits BLOCKING_EXIT instead of dying silently.
    hook::deny_on_panic(&ACME);
    let payload = hook::read_payload(hook::READ_DEADLINE);
    let rendered = match Paths::from_env() {
        Ok(paths) => flow::hook(&ACME, payload, &flow::Ctx::new(&paths, Duration::from_secs(5))),
        Err(e) => ACME.render(&Answer::Deny { reason: format!("holdfast cannot find its files ({e:#})") }),
    };
    let mut out = std::io::stdout();
    let _ = out.write_all(rendered.stdout.as_bytes()).and_then(|()| out.flush());
    std::process::exit(rendered.exit);
}
