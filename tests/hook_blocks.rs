//! The hook command `init` writes blocks the tool even when the hook dies in a way it cannot
//! answer (a kill, a missing binary): Claude Code, Codex and Gemini CLI block only on exit 2, so
//! the pre-tool command ends in `|| exit 2`; Cursor's entry says `failClosed`.
#![cfg(unix)]
#[path = "support/daemon.rs"]
mod daemon;

use std::path::Path;
use std::process::Command;

use daemon::Home;
use serde_json::Value;

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn init(home: &Home, agent: &str) {
    let out = home.run(&["init", "--agent", agent, "--no-start"], "");
    assert!(out.status.success(), "{agent}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Runs `command` as the agent would (`sh -c`), with the holdfast binary swapped for one that is
/// killed by SIGKILL, and returns the exit code the agent sees.
fn exit_when_the_hook_is_killed(home: &Home, command: &str) -> Option<i32> {
    let killed = home.path().join("killed-holdfast");
    std::fs::write(&killed, "#!/bin/sh\nkill -9 $$\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&killed, std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = command.split(" hook --agent ").next().unwrap().rsplit(' ').next().unwrap();
    let swapped = command.replacen(exe, &killed.display().to_string(), 1);
    assert_ne!(swapped, command, "the command names the binary: {command}");
    Command::new("sh").arg("-c").arg(&swapped).status().unwrap().code()
}

#[test]
fn a_killed_hook_still_blocks_in_agents_that_block_only_on_exit_2() {
    let home = Home::new();
    for (agent, file, pre, post) in [
        ("claude-code", ".claude/settings.json", "PreToolUse", "PostToolUse"),
        ("gemini", ".gemini/settings.json", "BeforeTool", "AfterTool"),
        ("codex", ".codex/hooks.json", "PreToolUse", ""),
    ] {
        std::fs::create_dir_all(home.path().join(file).parent().unwrap()).unwrap();
        init(&home, agent);
        let v = read(&home.path().join(file));
        let command = v["hooks"][pre][0]["hooks"][0]["command"].as_str().unwrap().to_string();
        assert!(command.ends_with(&format!("hook --agent {agent} || exit 2")), "{agent}: {command}");
        assert_eq!(exit_when_the_hook_is_killed(&home, &command), Some(2), "{agent}: {command}");
        if !post.is_empty() {
            // After the tool ran there is nothing to block: the report stays a plain command.
            let after = v["hooks"][post][0]["hooks"][0]["command"].as_str().unwrap();
            assert!(after.ends_with(&format!("hook --agent {agent}")), "{agent}: {after}");
        }
    }
}

#[test]
fn cursor_is_told_to_fail_closed() {
    let home = Home::new();
    std::fs::create_dir_all(home.path().join(".cursor")).unwrap();
    init(&home, "cursor");
    let v = read(&home.path().join(".cursor/hooks.json"));
    assert_eq!(v["hooks"]["beforeShellExecution"][0]["failClosed"], true, "{v}");
    assert!(v["hooks"]["afterShellExecution"][0].get("failClosed").is_none(), "{v}");
}
