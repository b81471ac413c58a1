//! The global policy's `[notify] command` runs when a command is held, with the hold's fields as
//! separate arguments (no shell), at most 8 at once, never waited for; a repository policy cannot
//! choose a program to run.
#![cfg(unix)]
#[path = "support/daemon.rs"]
mod daemon;

use std::path::Path;
use std::time::{Duration, Instant};

use daemon::Home;
use holdfast::wire::{Proposal, RequestBody, ResponseBody};

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

/// README "Policy": the daemon starts the notify program and never waits for it; at most 8 run at
/// once, and a hold beyond that is not announced, which the daemon's log says.
#[test]
fn at_most_8_notifiers_run_at_once_and_the_daemon_never_waits_for_them() {
    let home = Home::new();
    let started = home.path().join("started");
    std::fs::create_dir(&started).unwrap();
    // Each notifier leaves its hold id (holding its pid) and then outlives the whole test.
    let script = home.path().join("slow-notifier.sh");
    std::fs::write(&script, format!("#!/bin/sh\necho $$ > '{}'/\"$1\"\nexec sleep 60\n", started.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    home.write_policy(&format!("[notify]\ncommand = [\"{}\", \"{{id}}\"]\ntimeout_secs = 120\n", script.display()));
    let d = home.daemon(&[]);
    let begun = Instant::now();
    let held: Vec<String> = (0..10)
        .map(|i| {
            let p = Proposal {
                agent: "test".into(),
                cwd: daemon::abs_cwd(),
                raw: format!("git push --force origin b{i}"),
                ..Default::default()
            };
            match d.request(RequestBody::Propose(p)) {
                ResponseBody::Verdict(v) => v.pending.expect("held"),
                other => panic!("expected a verdict, got {other:?}"),
            }
        })
        .collect();
    // Waiting for even one notifier would take a minute (or fail the request at its 10 s timeout).
    assert!(begun.elapsed() < Duration::from_secs(8), "10 holds took {:?}", begun.elapsed());
    daemon::wait_for(Duration::from_secs(10), || std::fs::read_dir(&started).unwrap().count() >= 8);
    std::thread::sleep(Duration::from_millis(500));
    match d.request(RequestBody::Status) {
        ResponseBody::Status(s) => assert_eq!(s.notify_missed, 2, "status counts the holds not announced"),
        other => panic!("expected a status, got {other:?}"),
    }
    let status = home.run(&["status"], "");
    assert!(String::from_utf8_lossy(&status.stdout).contains("NOTIFY     2 holds not announced"), "{status:?}");
    let stderr = d.kill_for_stderr();
    let mut announced: Vec<String> =
        std::fs::read_dir(&started).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    // The notifiers' `sleep`s, by the pids they wrote.
    for id in &announced {
        let pid = std::fs::read_to_string(started.join(id)).unwrap_or_default();
        if let Some(pid) = pid.trim().parse().ok().and_then(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
    announced.sort();
    let mut first_eight = held[..8].to_vec();
    first_eight.sort();
    assert_eq!(announced, first_eight, "the first 8 holds are announced, the rest are not");
    for id in &held[8..] {
        assert!(
            stderr.contains(&format!("8 notifiers still running; hold {id} not announced")),
            "the log names hold {id}: {stderr}"
        );
    }
}
