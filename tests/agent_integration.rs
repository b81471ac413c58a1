//! Agent integration through the real binary against a real daemon (issue 15): hooks only
//! tighten, approvals in the agent's prompt with a vault, and what each agent sees.

#[path = "support/daemon.rs"]
mod daemon;

use std::path::Path;
use std::process::Output;

use daemon::Home;
use serde_json::Value;

/// The agents that have their own permission prompt, which an explicit allow would skip.
const PROMPTING: &[&str] = &["claude-code", "cursor", "copilot", "gemini", "codex"];

fn fixture(agent: &str, name: &str, command: &str) -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hook").join(agent).join(format!("{name}.json"));
    let cwd = serde_json::to_string(&daemon::abs_cwd()).unwrap();
    std::fs::read_to_string(path).unwrap().replace("__CMD__", command).replace("\"/home/u/project\"", &cwd)
}

/// The decision a dialect's stdout carries: allow / deny / ask, or none (no opinion).
fn decision_of(agent: &str, out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        return "none".into();
    }
    let v: Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{agent}: not JSON ({e}): {text}"));
    let d = match agent {
        "claude-code" | "codex" => v["hookSpecificOutput"]["permissionDecision"].as_str(),
        "gemini" | "generic" => v["decision"].as_str(),
        "cursor" => v["permission"].as_str(),
        "copilot" => v["permissionDecision"].as_str(),
        _ => unreachable!(),
    };
    d.unwrap_or("none").to_string()
}

fn hook(home: &Home, agent: &str, command: &str) -> Output {
    home.run(&["hook", "--agent", agent, "--hold-wait-ms", "300"], &fixture(agent, "pre_shell", command))
}

/// Every way holdfast allows — an unmatched command, paused enforcement, notify mode, and an
/// ambiguous command while the daemon is down — reaches a prompting agent as no opinion.
#[test]
fn hooks_only_tighten_allow_is_no_opinion_in_every_prompting_dialect() {
    let home = Home::new();
    let d = home.daemon(&[]);
    for agent in PROMPTING {
        let out = hook(&home, agent, "ls");
        assert_eq!(out.status.code(), Some(0), "{agent}");
        assert_eq!(decision_of(agent, &out), "none", "{agent}: unmatched command: {out:?}");
        let out = hook(&home, agent, "rm -rf /");
        let spoken = decision_of(agent, &out);
        assert!(spoken == "ask" || spoken == "deny", "{agent}: a hold still speaks: {spoken}");
    }
    let out = home.run(&["pause"], "");
    assert!(out.status.success(), "{out:?}");
    for agent in PROMPTING {
        let out = hook(&home, agent, "chmod -R 777 .");
        assert_eq!(decision_of(agent, &out), "none", "{agent}: paused: {out:?}");
    }
    drop(d);

    let home = Home::new();
    std::fs::create_dir_all(home.path().join("config")).unwrap();
    std::fs::write(home.path().join("config/policy.toml"), "mode = \"notify\"\n").unwrap();
    let d = home.daemon(&[]);
    for agent in PROMPTING {
        let out = hook(&home, agent, "chmod -R 777 .");
        assert_eq!(decision_of(agent, &out), "none", "{agent}: notify: {out:?}");
    }
    drop(d);

    // Daemon down: an ambiguous command is allowed by local classification — as no opinion.
    for agent in PROMPTING {
        let out = hook(&home, agent, "chmod -R 777 .");
        assert!(String::from_utf8_lossy(&out.stderr).contains("not running"), "{agent}: {out:?}");
        assert_eq!(decision_of(agent, &out), "none", "{agent}: daemon down: {out:?}");
    }
}
