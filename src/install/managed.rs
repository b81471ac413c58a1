//! `holdfast init --system`: the hook in each agent's machine-wide, admin-owned settings, which a
//! user (or an agent running as the user) cannot edit or override.
//!
//! Claude Code reads `managed-settings.json` from a system directory (below) with the highest
//! precedence; `allowManagedHooksOnly: true` there makes it ignore hooks from user and project
//! settings, so the user's own settings can neither remove holdfast's hook nor add a competing one.
//! The other agents holdfast supports document no managed hook layer that holdfast knows of
//! ([`UNMANAGED`]): there the hook lives in the user's own files and a hostile agent can edit it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{Value, json};

/// Agents without a managed hook layer, and what that means; `doctor` and the README repeat it.
pub const UNMANAGED: &[(&str, &str)] = &[
    ("codex", "no managed hook layer: the hook is in ~/.codex/hooks.json, which the user can edit"),
    ("gemini", "no managed hook layer known: the hook is in ~/.gemini/settings.json, which the user can edit"),
    ("cursor", "no managed hook layer known: the hook is in ~/.cursor/hooks.json, which the user can edit"),
    ("copilot", "no managed hook layer known: the hook is in the user's Copilot CLI config, which the user can edit"),
];

/// Where Claude Code reads its managed settings on this OS.
pub fn claude_managed_settings() -> PathBuf {
    if cfg!(windows) {
        PathBuf::from(r"C:\Program Files\ClaudeCode\managed-settings.json")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/ClaudeCode/managed-settings.json")
    } else {
        PathBuf::from("/etc/claude-code/managed-settings.json")
    }
}

/// `existing` managed settings with holdfast's hook for every Bash call (before and after) and
/// `allowManagedHooksOnly` set; every other setting is kept, and an existing holdfast entry is
/// replaced rather than duplicated.
pub(crate) fn with_claude_hook(existing: Option<Value>, command: &str) -> Value {
    let mut v = existing.filter(Value::is_object).unwrap_or_else(|| json!({}));
    let obj = v.as_object_mut().expect("an object");
    // Hooks from user and project settings are ignored: the user cannot remove or shadow this one.
    obj.insert("allowManagedHooksOnly".into(), Value::Bool(true));
    let hooks = obj.entry("hooks").or_insert_with(|| json!({}));
    if !hooks.is_object() {
        *hooks = json!({});
    }
    for event in ["PreToolUse", "PostToolUse"] {
        let list = hooks.as_object_mut().expect("object").entry(event).or_insert_with(|| json!([]));
        if !list.is_array() {
            *list = json!([]);
        }
        let groups = list.as_array_mut().expect("array");
        groups.retain(|g| !is_holdfast(g));
        groups.push(json!({"matcher": "Bash", "hooks": [{"type": "command", "command": command}]}));
    }
    v
}

fn is_holdfast(group: &Value) -> bool {
    group["hooks"].as_array().is_some_and(|hs| {
        hs.iter().any(|h| h["command"].as_str().is_some_and(|c| c.contains(" hook --agent claude-code")))
    })
}

/// Writes Claude Code's managed settings at `path` (root-owned, 0644: every user reads it, only
/// the admin writes it), merging with what is there. Returns the new contents.
pub fn install_claude(path: &Path, command: &str) -> Result<Value> {
    let existing = match std::fs::read(path) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).with_context(|| format!("{} is not JSON", path.display()))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let next = with_claude_hook(existing, command);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut text = serde_json::to_string_pretty(&next)?;
    text.push('\n');
    crate::paths::write_atomic(path, text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))?;
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "/usr/local/bin/holdfast hook --agent claude-code";

    #[test]
    fn adds_the_hook_and_locks_hooks_keeping_other_settings() {
        let before = json!({"permissions": {"deny": ["Bash(curl:*)"]}, "allowManagedHooksOnly": false,
            "hooks": {"PreToolUse": [{"matcher": "Edit", "hooks": [{"type": "command", "command": "lint"}]}]}});
        let v = with_claude_hook(Some(before), CMD);
        assert_eq!(v["allowManagedHooksOnly"], true);
        assert_eq!(v["permissions"]["deny"][0], "Bash(curl:*)");
        assert_eq!(v["hooks"]["PreToolUse"].as_array().unwrap().len(), 2, "{v}");
        assert_eq!(v["hooks"]["PreToolUse"][1]["hooks"][0]["command"], CMD);
        assert_eq!(v["hooks"]["PostToolUse"][0]["matcher"], "Bash");
        // Idempotent: a second install replaces holdfast's entry.
        let again = with_claude_hook(Some(v.clone()), "/opt/holdfast hook --agent claude-code");
        assert_eq!(again["hooks"]["PreToolUse"].as_array().unwrap().len(), 2);
        assert_eq!(again["hooks"]["PreToolUse"][1]["hooks"][0]["command"], "/opt/holdfast hook --agent claude-code");
    }

    #[test]
    fn install_writes_a_world_readable_admin_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claude-code/managed-settings.json");
        install_claude(&path, CMD).unwrap();
        let back: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(back["allowManagedHooksOnly"], true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        }
    }
}
