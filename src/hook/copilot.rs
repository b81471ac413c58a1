//! GitHub Copilot CLI: `preToolUse` / `postToolUse` command hooks in `~/.copilot/hooks/*.json`
//! (or a repository's `.github/hooks/*.json`).
//!
//! In (camelCase events): `{timestamp, cwd, toolName:"bash", toolArgs:"<JSON string>"}`; a post event
//! also carries `toolResult`. The VS Code-compatible PascalCase events send `tool_name`/`tool_input`
//! instead; both are read. Out: `{"permissionDecision":"allow|deny|ask","permissionDecisionReason":…}`;
//! empty stdout is "no opinion". `ask` prompts the user in interactive mode (Copilot CLI ≥ 1.0.24).
//! holdfast's allow is no opinion: an explicit `allow` would skip Copilot's own permission prompt.

use serde_json::{Value, json};

use super::{Answer, Dialect, HookInput, Parsed, PayloadError, Phase, Rendered, opt_string, str_at};

/// The Copilot CLI dialect.
pub struct Copilot;

const SHELLS: &[&str] = &["bash", "Bash", "shell", "powershell"];

impl Dialect for Copilot {
    fn agent(&self) -> &'static str {
        "copilot"
    }

    fn parse(&self, v: &Value) -> Result<Parsed, PayloadError> {
        if !v.is_object() {
            return Err(PayloadError::NotObject);
        }
        let (tool, args) = match (str_at(v, &["toolName"]), str_at(v, &["tool_name"])) {
            (Some(t), _) => (t, v.get("toolArgs")),
            (None, Some(t)) => (t, v.get("tool_input")),
            (None, None) => ("", None),
        };
        if !SHELLS.contains(&tool) {
            return Ok(Parsed::NotShell { tool: tool.to_string() });
        }
        // toolArgs is a JSON-encoded string in the CLI; accept an object too.
        let args = match args {
            Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
            Some(other) => Some(other.clone()),
            None => None,
        };
        let command =
            args.as_ref().and_then(|a| str_at(a, &["command"])).ok_or(PayloadError::NoCommand("toolArgs.command"))?;
        let post = v.get("toolResult").is_some()
            || v.get("tool_result").is_some()
            || matches!(str_at(v, &["hook_event_name"]), Some("PostToolUse" | "postToolUse"));
        Ok(Parsed::Shell(HookInput {
            command: command.to_string(),
            cwd: opt_string(v, &["cwd"]),
            session: opt_string(v, &["sessionId"]).or_else(|| opt_string(v, &["session_id"])),
            agent: self.agent(),
            tool: tool.to_string(),
            call_id: opt_string(v, &["toolCallId"]).or_else(|| opt_string(v, &["tool_use_id"])),
            phase: if post { Phase::Post } else { Phase::Pre },
        }))
    }

    fn render(&self, answer: &Answer) -> Rendered {
        // Hooks only tighten: allow is silence, so Copilot's own permission rules still apply.
        if matches!(answer, Answer::Allow { .. }) {
            return Rendered::empty();
        }
        let Some((decision, reason)) = answer.permission() else { return Rendered::empty() };
        Rendered::json(json!({"permissionDecision": decision, "permissionDecisionReason": reason}))
    }

    fn native_ask(&self) -> bool {
        true
    }

    fn sample(&self, command: &str, cwd: &str) -> Value {
        let args = json!({"command": command, "description": "holdfast doctor probe"}).to_string();
        json!({"timestamp": 1_700_000_000_000_u64, "cwd": cwd, "toolName": "bash", "toolArgs": args})
    }
}
