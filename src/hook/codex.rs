//! Codex CLI: `PreToolUse` / `PostToolUse` hooks in `~/.codex/hooks.json`, tool `Bash`.
//!
//! In: the Claude shape plus `model` and `turn_id`. Out: Codex rejects `permissionDecision: "allow"`
//! and treats `"ask"` as unsupported (the hook is marked failed and the command runs — fail open),
//! so allow is silence and a hold waits in holdfast's queue, then denies with instructions.

use serde_json::{Value, json};

use super::{Answer, Dialect, Parsed, PayloadError, Rendered};

/// The Codex dialect.
pub struct Codex;

impl Dialect for Codex {
    fn agent(&self) -> &'static str {
        "codex"
    }

    fn parse(&self, v: &Value) -> Result<Parsed, PayloadError> {
        super::claude::tool_event(v, self.agent(), super::claude::TOOL_USE_EVENTS, &["Bash"])
    }

    fn render(&self, answer: &Answer) -> Rendered {
        match answer {
            Answer::NoOpinion | Answer::Allow { .. } => Rendered::empty(),
            // An ask is never produced for Codex (no native ask); should one arrive, deny rather than fail open.
            Answer::Deny { reason } | Answer::Ask { reason } => Rendered::json(json!({"hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": reason,
            }})),
        }
    }

    fn native_ask(&self) -> bool {
        false
    }

    fn sample(&self, command: &str, cwd: &str) -> Value {
        json!({"session_id": "holdfast-doctor", "turn_id": "holdfast-doctor", "transcript_path": null, "cwd": cwd,
            "hook_event_name": "PreToolUse", "model": "doctor", "permission_mode": "default", "tool_name": "Bash",
            "tool_input": {"command": command}, "tool_use_id": "holdfast-doctor"})
    }
}
