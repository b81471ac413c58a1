//! `holdfast init` on sample agent configs in a temp `HOME` (merge, idempotence, undo, dry run),
//! and `holdfast doctor` on a broken setup.
#[path = "support/daemon.rs"]
mod daemon;

use std::path::Path;

use daemon::Home;
use serde_json::{Value, json};

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn write(p: &Path, v: &Value) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

fn claude_sample() -> Value {
    json!({
        "model": "opus",
        "permissions": {"allow": ["Bash(ls:*)"]},
        "hooks": {"PreToolUse": [{"matcher": "Edit", "hooks": [{"type": "command", "command": "fmt.sh"}]}]}
    })
}

fn backups(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".holdfast-backup"))
        .collect()
}

#[test]
fn claude_merge_idempotence_and_undo() {
    let home = Home::new();
    let settings = home.path().join(".claude/settings.json");
    write(&settings, &claude_sample());
    let out = home.run(&["init", "--agent", "claude-code", "--no-start"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = read(&settings);
    assert_eq!(v["model"], "opus");
    assert_eq!(v["permissions"], claude_sample()["permissions"]);
    let pre = v["hooks"]["PreToolUse"].as_array().unwrap();
    assert_eq!(pre.len(), 2, "the user's Edit hook stays");
    assert_eq!(pre[0]["matcher"], "Edit");
    assert_eq!(pre[1]["matcher"], "Bash");
    let cmd = pre[1]["hooks"][0]["command"].as_str().unwrap();
    assert!(cmd.contains(" hook --agent claude-code"), "{cmd}");
    assert_eq!(v["hooks"]["PostToolUse"][0]["matcher"], "Bash");
    let b = backups(settings.parent().unwrap());
    assert_eq!(b.len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&b[0]).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(read(&b[0]), claude_sample());

    // Idempotent: a second run changes nothing and takes no new backup.
    let out = home.run(&["init", "--agent", "claude-code", "--no-start"], "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("unchanged"));
    assert_eq!(read(&settings), v);
    assert_eq!(backups(settings.parent().unwrap()).len(), 1);

    // Undo removes exactly what init added.
    let out = home.run(&["init", "--agent", "claude-code", "--undo"], "");
    assert!(out.status.success());
    assert_eq!(read(&settings), claude_sample());
}

#[test]
fn dry_run_changes_nothing() {
    let home = Home::new();
    let settings = home.path().join(".gemini/settings.json");
    write(&settings, &json!({"theme": "dark"}));
    let out = home.run(&["init", "--agent", "gemini", "--dry-run"], "");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("would change") && text.contains("+ BeforeTool [run_shell_command]"), "{text}");
    assert_eq!(read(&settings), json!({"theme": "dark"}));
    assert!(backups(settings.parent().unwrap()).is_empty());
}

#[test]
fn every_agent_installs_and_undoes_on_detection() {
    let home = Home::new();
    for d in [".claude", ".codex", ".gemini", ".cursor", ".copilot"] {
        std::fs::create_dir_all(home.path().join(d)).unwrap();
    }
    write(
        &home.path().join(".cursor/hooks.json"),
        &json!({"version": 1, "hooks": {"afterFileEdit": [{"command": "x"}]}}),
    );
    let out = home.run(&["init", "--no-start", "--json"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["agents"].as_array().unwrap().len(), 5);
    let codex = read(&home.path().join(".codex/hooks.json"));
    assert_eq!(codex["hooks"]["PreToolUse"][0]["matcher"], "Bash");
    let gemini = read(&home.path().join(".gemini/settings.json"));
    assert_eq!(gemini["hooks"]["BeforeTool"][0]["matcher"], "run_shell_command");
    let cursor = read(&home.path().join(".cursor/hooks.json"));
    assert_eq!(cursor["hooks"]["afterFileEdit"], json!([{"command": "x"}]));
    assert!(cursor["hooks"]["beforeShellExecution"][0]["command"].as_str().unwrap().contains("hook --agent cursor"));
    let copilot = read(&home.path().join(".copilot/hooks/holdfast.json"));
    assert_eq!(copilot["version"], 1);
    assert!(copilot["hooks"]["preToolUse"][0]["bash"].as_str().unwrap().contains("hook --agent copilot"));

    let out = home.run(&["init", "--undo"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        read(&home.path().join(".cursor/hooks.json")),
        json!({"version": 1, "hooks": {"afterFileEdit": [{"command": "x"}]}})
    );
    assert!(!home.path().join(".codex/hooks.json").exists(), "a file init created is removed by undo");
    assert!(!home.path().join(".copilot/hooks/holdfast.json").exists());
}

#[test]
fn broken_config_is_refused_not_clobbered() {
    let home = Home::new();
    let settings = home.path().join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(&settings, "{ not json").unwrap();
    let out = home.run(&["init", "--agent", "claude-code", "--no-start"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid JSON"));
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), "{ not json");
}

#[test]
fn no_agent_detected_says_so() {
    let home = Home::new();
    let out = home.cmd().args(["init", "--no-start"]).env("PATH", "/nonexistent").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--agent"));
}

#[test]
fn doctor_on_a_broken_setup_fails_with_fixes() {
    let home = Home::new();
    // Claude installed, hook absent; Gemini's hook points at a command that does not protect.
    std::fs::create_dir_all(home.path().join(".claude")).unwrap();
    write(
        &home.path().join(".gemini/settings.json"),
        &json!({"hooks": {"BeforeTool": [{"matcher": "run_shell_command",
            "hooks": [{"type": "command", "command": "true holdfast hook --agent gemini"}]}]}}),
    );
    let out = home.cmd().args(["doctor", "--json"]).env("PATH", "/usr/bin:/bin").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let check = |name: &str| v["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).cloned().unwrap();
    assert_eq!(check("daemon")["status"], "fail");
    assert!(check("daemon")["fix"].as_str().unwrap().contains("holdfast start"));
    assert_eq!(check("agent claude-code")["status"], "fail");
    assert!(check("agent claude-code")["fix"].as_str().unwrap().contains("holdfast init --agent claude-code"));
    assert_eq!(check("agent gemini")["status"], "fail");
}

#[test]
fn doctor_passes_with_daemon_and_installed_hooks() {
    let home = Home::new();
    std::fs::create_dir_all(home.path().join(".claude")).unwrap();
    std::fs::create_dir_all(home.path().join(".cursor")).unwrap();
    let out = home.run(&["init", "--agent", "claude-code,cursor", "--no-start"], "");
    assert!(out.status.success());
    let d = home.daemon(&[]);
    let out = home.run(&["doctor", "--json"], "");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for c in v["checks"].as_array().unwrap() {
        assert_ne!(c["status"], "fail", "{c}");
    }
    assert_eq!(out.status.code(), Some(0));
    let claude = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "agent claude-code").unwrap();
    let detail = claude["detail"].as_str().unwrap();
    assert!(detail.contains("ask") && detail.contains("no opinion"), "{detail}");
    d.assert_alive();
}
