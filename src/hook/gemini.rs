//! Gemini CLI: `BeforeTool` / `AfterTool` hooks in `~/.gemini/settings.json`, matcher `run_shell_command`.
//!
//! In: `{session_id, transcript_path, cwd, hook_event_name, timestamp, tool_name, tool_input:{command}}`.
//! Out: exit 0 with `{"decision":"allow|deny","reason":…}`; `{}` is "no opinion" (stdout must be JSON).
//! holdfast never prints `allow`: its allow is `{}`, so Gemini's own policy still decides.
//!
//! A hold: Gemini CLI ≥ 0.61 honours `{"decision":"ask"}` in `BeforeTool` (its own confirmation
//! prompt, forced even where its policy would allow), and reports the run in `AfterTool`. Older
//! versions do not (an unknown decision is not a block), so there a hold waits in holdfast's queue,
//! then denies with instructions. The hook cannot see Gemini's version: `holdfast init` checks
//! `gemini --version` and sets `ASK_ENV` in the hook's own `env` when the installed CLI has ask.
//!
//! `run_shell_command` may carry `tool_input.dir_path`, the directory the command runs in
//! (relative to `cwd`): that is the directory proposed, so its repository policy applies.

use std::path::Path;

use serde_json::{Value, json};

use super::{Answer, Dialect, Parsed, PayloadError, Rendered, str_at};

/// Set to `1` in the hook's environment (by `init`, in the hook entry's `env`) when the installed
/// Gemini CLI honours `decision: "ask"`.
pub(crate) const ASK_ENV: &str = "HOLDFAST_GEMINI_ASK";

/// The first Gemini CLI version whose `BeforeTool` hooks can answer `ask`.
pub(crate) const ASK_SINCE: (u64, u64) = (0, 61);

/// True when a `gemini --version` output names a version with hook-driven ask.
pub fn version_has_ask(version_output: &str) -> bool {
    let v = version_output.trim().trim_start_matches('v');
    let mut parts = v.split(['.', '-', ' ']).map(|p| p.parse::<u64>());
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) >= ASK_SINCE,
        _ => false,
    }
}

/// The Gemini CLI dialect.
pub struct Gemini;

impl Dialect for Gemini {
    fn agent(&self) -> &'static str {
        "gemini"
    }

    fn parse(&self, v: &Value) -> Result<Parsed, PayloadError> {
        let mut parsed =
            super::claude::tool_event(v, self.agent(), ["BeforeTool", "AfterTool"], &["run_shell_command"])?;
        if let (Parsed::Shell(input), Some(dir)) = (&mut parsed, str_at(v, &["tool_input", "dir_path"])) {
            let base = input.cwd.as_deref().map(Path::new);
            let joined = match base {
                Some(base) if !dir.is_empty() => base.join(dir),
                _ => Path::new(dir).to_path_buf(),
            };
            // Only an absolute result is a usable cwd; otherwise the payload's cwd stays.
            if joined.is_absolute() {
                input.cwd = Some(joined.to_string_lossy().into_owned());
            }
        }
        Ok(parsed)
    }

    fn render(&self, answer: &Answer) -> Rendered {
        match answer {
            // Hooks only tighten: allow is no opinion, so Gemini's own policy and prompt still apply.
            Answer::NoOpinion | Answer::Allow { .. } => Rendered::json(json!({})),
            Answer::Ask { reason } if self.native_ask() => {
                Rendered::json(json!({"decision": "ask", "reason": reason, "systemMessage": reason}))
            }
            // An ask this Gemini cannot enforce is a deny, never a silent pass.
            Answer::Deny { reason } | Answer::Ask { reason } => {
                Rendered::json(json!({"decision": "deny", "reason": reason}))
            }
        }
    }

    fn native_ask(&self) -> bool {
        std::env::var_os(ASK_ENV).is_some_and(|v| v == "1")
    }

    fn sample(&self, command: &str, cwd: &str) -> Value {
        json!({"session_id": "holdfast-doctor", "transcript_path": "", "cwd": cwd, "hook_event_name": "BeforeTool",
            "timestamp": "2026-01-01T00:00:00Z", "tool_name": "run_shell_command", "tool_input": {"command": command}})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ask_needs_gemini_0_61() {
        for v in ["0.61.0", "0.62.1\n", "v1.0.0", "0.61.0-preview.2"] {
            assert!(version_has_ask(v), "{v}");
        }
        for v in ["0.60.9", "0.9.0", "", "gemini", "0"] {
            assert!(!version_has_ask(v), "{v}");
        }
    }
}
