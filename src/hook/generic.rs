//! generic: any tool that can run a command and read an exit code.
//!
//! In: `{"command": "...", "cwd": "...", "session"?: "...", "agent"?: "..."}`.
//! Out: holdfast's verdict as JSON (`decision`, `reason`, and `class`/`rule`/`pending`/`seq` when the
//! daemon answered); exit 0 allow, exit 2 deny. No native ask: a hold waits, then denies.

use serde_json::{Value, json};

use crate::wire::Verdict;

use super::{Answer, Dialect, HookInput, Parsed, PayloadError, Phase, Rendered, opt_string, str_at};

/// The generic dialect.
pub struct Generic;

/// Exit code of a denied command in the generic dialect (the convention shared by agent hooks).
pub const DENY_EXIT: i32 = 2;

impl Dialect for Generic {
    fn agent(&self) -> &'static str {
        "generic"
    }

    fn parse(&self, v: &Value) -> Result<Parsed, PayloadError> {
        if !v.is_object() {
            return Err(PayloadError::NotObject);
        }
        let command = str_at(v, &["command"]).ok_or(PayloadError::NoCommand("command"))?;
        Ok(Parsed::Shell(HookInput {
            command: command.to_string(),
            cwd: opt_string(v, &["cwd"]),
            session: opt_string(v, &["session"]),
            agent: self.agent(),
            tool: "shell".into(),
            call_id: None,
            phase: Phase::Pre,
        }))
    }

    fn render(&self, answer: &Answer) -> Rendered {
        match answer {
            Answer::NoOpinion => Rendered::json(json!({"decision": "none"})),
            Answer::Allow { reason } => Rendered::json(json!({"decision": "allow", "reason": reason})),
            Answer::Deny { reason } | Answer::Ask { reason } => {
                Rendered { stdout: format!("{}\n", json!({"decision": "deny", "reason": reason})), exit: DENY_EXIT }
            }
        }
    }

    fn render_verdict(&self, answer: &Answer, verdict: Option<&Verdict>) -> Rendered {
        let mut out = self.render(answer);
        if let Some(v) = verdict
            && let Ok(mut obj) = serde_json::from_str::<Value>(&out.stdout)
        {
            obj["class"] = json!(v.class);
            obj["rule"] = json!(v.rule);
            obj["seq"] = json!(v.seq);
            if let Some(p) = &v.pending {
                obj["pending"] = json!(p);
            }
            if !v.flags.is_empty() {
                obj["flags"] = json!(v.flags);
            }
            out.stdout = format!("{obj}\n");
        }
        out
    }

    fn native_ask(&self) -> bool {
        false
    }

    fn sample(&self, command: &str, cwd: &str) -> Value {
        json!({"command": command, "cwd": cwd})
    }
}
