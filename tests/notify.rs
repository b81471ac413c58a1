//! The global policy's `[notify] command` runs when a command is held, with the hold's fields as
//! separate arguments (no shell); a repository policy cannot choose a program to run.
#![cfg(unix)]
#[path = "support/daemon.rs"]
mod daemon;

use std::path::Path;
use std::time::{Duration, Instant};

use daemon::Home;

/// A notifier script that writes its arguments, one per line, to `out` (atomically).
fn recorder(dir: &Path, out: &Path) -> String {
    let script = dir.join(format!("record-{}.sh", out.file_name().unwrap().to_string_lossy()));
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > '{0}.tmp' && mv '{0}.tmp' '{0}'\n", out.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script.display().to_string()
}

fn wait_file(path: &Path) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(t) = std::fs::read_to_string(path) {
            return Some(t);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn a_hold_runs_the_notify_command_with_its_fields_as_arguments() {
    let home = Home::new();
    let out = home.path().join("args");
    let script = recorder(home.path(), &out);
    std::fs::create_dir_all(home.path().join("config")).unwrap();
    std::fs::write(
        home.path().join("config/policy.toml"),
        format!(
            "[notify]\ncommand = [\"{script}\", \"{{id}}\", \"{{class}}/{{rule}}\", \"{{command}}\", \"{{agent}}\"]\n"
        ),
    )
    .unwrap();
    let _d = home.daemon(&[]);
    let pwned = home.path().join("pwned");
    let command = format!("git push --force origin main; touch {}", pwned.display());
    let verdict = home.run(&["propose", "--json", "--agent", "codex", "--", &command], "");
    assert_eq!(verdict.status.code(), Some(5), "{verdict:?}");
    let v: serde_json::Value = serde_json::from_slice(&verdict.stdout).unwrap();
    let args = wait_file(&out).expect("the notify command ran");
    let lines: Vec<&str> = args.lines().collect();
    assert_eq!(lines, [v["pending"].as_str().unwrap(), "catastrophic/git.force_push", command.as_str(), "codex"]);
    assert!(!pwned.exists(), "the command text reached a shell");
    // A safe command is not held and runs nothing.
    std::fs::remove_file(&out).unwrap();
    assert_eq!(home.run(&["propose", "--", "ls"], "").status.code(), Some(0));
    std::thread::sleep(Duration::from_millis(300));
    assert!(!out.exists());
}

#[test]
fn a_repository_policy_cannot_choose_a_program_to_run() {
    let home = Home::new();
    let repo = home.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let out = home.path().join("repo-args");
    let script = recorder(home.path(), &out);
    std::fs::write(repo.join(".holdfast.toml"), format!("[notify]\ncommand = [\"{script}\", \"{{id}}\"]\n")).unwrap();
    let _d = home.daemon(&[]);
    let verdict = home.run(&["propose", "--json", "--cwd", repo.to_str().unwrap(), "--", "git push --force"], "");
    assert_eq!(verdict.status.code(), Some(5), "{verdict:?}");
    let v: serde_json::Value = serde_json::from_slice(&verdict.stdout).unwrap();
    assert!(v["flags"].to_string().contains("repo"), "the ignored table is flagged: {v}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(!out.exists(), "a repository policy ran a program");
}
