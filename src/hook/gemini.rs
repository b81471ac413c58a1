//! Gemini CLI: `BeforeTool` / `AfterTool` hooks in `~/.gemini/settings.json`, matcher `run_shell_command`.
//!
//! In: `{session_id, transcript_path, cwd, hook_event_name, timestamp, tool_name, tool_input:{command}}`.
//! Out: exit 0 with `{"decision":"allow|deny","reason":…}`; `{}` is "no opinion" (stdout must be JSON).
//! There is no hook-driven ask, so a hold waits in holdfast's queue, then denies with instructions.

use serde_json::{Value, json};

use super::{Answer, Dialect, HookInput, Parsed, PayloadError, Phase, Rendered, opt_string, str_at};

/// The Gemini CLI dialect.
pub struct Gemini;

impl Dialect for Gemini {
    fn agent(&self) -> &'static str {
        "gemini"
    }

    fn parse(&self, v: &Value) -> Result<Parsed, PayloadError> {
        if !v.is_object() {
            return Err(PayloadError::NotObject);
        }
        let phase = match str_at(v, &["hook_event_name"]) {
            None | Some("BeforeTool") => Phase::Pre,
            Some("AfterTool") => Phase::Post,
            Some(other) => return Ok(Parsed::NotShell { tool: format!("event {other}") }),
        };
        let tool = str_at(v, &["tool_name"]).unwrap_or_default().to_string();
        if tool != "run_shell_command" {
            return Ok(Parsed::NotShell { tool });
        }
        let command = str_at(v, &["tool_input", "command"]).ok_or(PayloadError::NoCommand("tool_input.command"))?;
        Ok(Parsed::Shell(HookInput {
            command: command.to_string(),
            cwd: opt_string(v, &["cwd"]),
            session: opt_string(v, &["session_id"]),
            agent: self.agent(),
            tool,
            call_id: None,
            phase,
        }))
    }

    fn render(&self, answer: &Answer) -> Rendered {
        match answer {
            Answer::NoOpinion => Rendered::json(json!({})),
            Answer::Allow { .. } => Rendered::json(json!({"decision": "allow"})),
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
