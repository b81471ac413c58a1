//! Cursor: `beforeShellExecution` / `afterShellExecution` in `~/.cursor/hooks.json`, and since
//! Cursor 3.11 `preToolUse` / `postToolUse` with `tool_name: "Shell"`.
//!
//! In: `{hook_event_name, conversation_id, generation_id, workspace_roots, command, cwd}` (or
//! `tool_input.command`). Out: `{"permission":"allow|deny|ask","user_message":…,"agent_message":…}`;
//! `{}` is "no opinion". Cursor treats output that is not JSON as a block, so we always print JSON.
//! holdfast's allow is `{}`: an explicit `allow` would skip Cursor's own approval of the command.

use serde_json::{Value, json};

use super::{Answer, Dialect, HookInput, Parsed, PayloadError, Phase, Rendered, opt_string, str_at};

/// The Cursor dialect.
pub struct Cursor;

impl Dialect for Cursor {
    fn agent(&self) -> &'static str {
        "cursor"
    }

    fn parse(&self, v: &Value) -> Result<Parsed, PayloadError> {
        if !v.is_object() {
            return Err(PayloadError::NotObject);
        }
        let event = str_at(v, &["hook_event_name"]);
        let (phase, tool, command) = match event {
            None | Some("beforeShellExecution") | Some("afterShellExecution") => {
                let phase = if event == Some("afterShellExecution") { Phase::Post } else { Phase::Pre };
                (phase, "Shell".to_string(), str_at(v, &["command"]).ok_or(PayloadError::NoCommand("command"))?)
            }
            Some(e @ ("preToolUse" | "postToolUse")) => {
                let tool = str_at(v, &["tool_name"]).unwrap_or_default().to_string();
                if tool != "Shell" {
                    return Ok(Parsed::NotShell { tool });
                }
                let phase = if e == "postToolUse" { Phase::Post } else { Phase::Pre };
                let command =
                    str_at(v, &["tool_input", "command"]).ok_or(PayloadError::NoCommand("tool_input.command"))?;
                (phase, tool, command)
            }
            Some(other) => return Ok(Parsed::NotShell { tool: format!("event {other}") }),
        };
        let cwd = opt_string(v, &["cwd"])
            .or_else(|| v.get("workspace_roots").and_then(|r| r.get(0)).and_then(Value::as_str).map(str::to_owned));
        Ok(Parsed::Shell(HookInput {
            command: command.to_string(),
            cwd,
            session: opt_string(v, &["conversation_id"]),
            agent: self.agent(),
            tool,
            call_id: opt_string(v, &["generation_id"]),
            phase,
        }))
    }

    fn render(&self, answer: &Answer) -> Rendered {
        let (permission, reason) = match answer {
            // Hooks only tighten: allow is no opinion, so Cursor's own rules still apply.
            Answer::NoOpinion | Answer::Allow { .. } => return Rendered::json(json!({})),
            Answer::Deny { reason } => ("deny", reason),
            Answer::Ask { reason } => ("ask", reason),
        };
        Rendered::json(json!({"permission": permission, "user_message": reason, "agent_message": reason}))
    }

    fn native_ask(&self) -> bool {
        true
    }

    fn sample(&self, command: &str, cwd: &str) -> Value {
        json!({"hook_event_name": "beforeShellExecution", "conversation_id": "holdfast-doctor",
            "generation_id": "holdfast-doctor", "workspace_roots": [cwd], "command": command, "cwd": cwd})
    }
}
