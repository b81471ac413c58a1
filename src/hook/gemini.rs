//! Gemini CLI: `BeforeTool` / `AfterTool` hooks in `~/.gemini/settings.json`, matcher `run_shell_command`.
//!
//! In: `{session_id, transcript_path, cwd, hook_event_name, timestamp, tool_name, tool_input:{command}}`.
//! Out: exit 0 with `{"decision":"allow|deny","reason":…}`; `{}` is "no opinion" (stdout must be JSON).
//! holdfast never prints `allow`: its allow is `{}`, so Gemini's own policy still decides.
//! There is no hook-driven ask, so a hold waits in holdfast's queue, then denies with instructions.

use serde_json::{Value, json};

use super::{Answer, Dialect, Parsed, PayloadError, Rendered};

/// The Gemini CLI dialect.
pub struct Gemini;

impl Dialect for Gemini {
    fn agent(&self) -> &'static str {
        "gemini"
    }

    fn parse(&self, v: &Value) -> Result<Parsed, PayloadError> {
        super::claude::tool_event(v, self.agent(), ["BeforeTool", "AfterTool"], &["run_shell_command"])
    }

    fn render(&self, answer: &Answer) -> Rendered {
        match answer {
            // Hooks only tighten: allow is no opinion, so Gemini's own policy and prompt still apply.
            Answer::NoOpinion | Answer::Allow { .. } => Rendered::json(json!({})),
            Answer::Deny { reason } | Answer::Ask { reason } => {
                Rendered::json(json!({"decision": "deny", "reason": reason}))
            }
        }
    }

    fn native_ask(&self) -> bool {
        false
    }

    fn sample(&self, command: &str, cwd: &str) -> Value {
        json!({"session_id": "holdfast-doctor", "transcript_path": "", "cwd": cwd, "hook_event_name": "BeforeTool",
            "timestamp": "2026-01-01T00:00:00Z", "tool_name": "run_shell_command", "tool_input": {"command": command}})
    }
}
