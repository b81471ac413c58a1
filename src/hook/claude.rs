//! Claude Code: `PreToolUse` / `PostToolUse` command hooks, matcher `Bash`.
//!
//! In: `{session_id, transcript_path, cwd, permission_mode, hook_event_name, tool_name, tool_input:{command}, tool_use_id}`.
//! Out: exit 0 with `{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"allow|deny|ask",
//! "permissionDecisionReason":…}}`; empty stdout is "no opinion". `ask` is enforced by Claude's own prompt.
//!
//! holdfast's allow is rendered as no opinion: an explicit `allow` skips Claude's own permission
//! prompt, and holdfast only ever tightens what the agent would do without it.

use serde_json::{Value, json};

use super::{Answer, Dialect, HookInput, Parsed, PayloadError, Phase, Rendered, opt_string, str_at};

/// The Claude Code dialect.
pub struct Claude;

impl Dialect for Claude {
    fn agent(&self) -> &'static str {
        "claude-code"
    }

    fn parse(&self, v: &Value) -> Result<Parsed, PayloadError> {
        tool_event(v, self.agent(), TOOL_USE_EVENTS, &["Bash"])
    }

    fn render(&self, answer: &Answer) -> Rendered {
        // Hooks only tighten: allow is silence, so Claude's own permission rules still apply.
        if matches!(answer, Answer::Allow { .. }) {
            return Rendered::empty();
        }
        let Some((decision, reason)) = answer.permission() else { return Rendered::empty() };
        Rendered::json(json!({"hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }}))
    }

    fn native_ask(&self) -> bool {
        true
    }

    fn sample(&self, command: &str, cwd: &str) -> Value {
        json!({"session_id": "holdfast-doctor", "transcript_path": "", "cwd": cwd, "permission_mode": "default",
            "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": command},
            "tool_use_id": "holdfast-doctor"})
    }
}

/// Claude Code's and Codex's hook events: before and after a tool runs.
pub(super) const TOOL_USE_EVENTS: [&str; 2] = ["PreToolUse", "PostToolUse"];

/// The Claude-style payload shared by Claude Code, Codex and Gemini CLI: `hook_event_name` is one
/// of `events` (before, after; absent means before), `tool_name` must be one of `shells`, the
/// command is `tool_input.command`.
pub(super) fn tool_event(
    v: &Value,
    agent: &'static str,
    events: [&str; 2],
    shells: &[&str],
) -> Result<Parsed, PayloadError> {
    if !v.is_object() {
        return Err(PayloadError::NotObject);
    }
    let phase = match str_at(v, &["hook_event_name"]) {
        None => Phase::Pre,
        Some(e) if e == events[0] => Phase::Pre,
        Some(e) if e == events[1] => Phase::Post,
        Some(other) => return Ok(Parsed::NotShell { tool: format!("event {other}") }),
    };
    let tool = str_at(v, &["tool_name"]).unwrap_or_default().to_string();
    if !shells.contains(&tool.as_str()) {
        return Ok(Parsed::NotShell { tool });
    }
    let command = str_at(v, &["tool_input", "command"]).ok_or(PayloadError::NoCommand("tool_input.command"))?;
    Ok(Parsed::Shell(HookInput {
        command: command.to_string(),
        cwd: opt_string(v, &["cwd"]),
        session: opt_string(v, &["session_id"]),
        agent,
        tool,
        call_id: opt_string(v, &["tool_use_id"]),
        phase,
    }))
}
