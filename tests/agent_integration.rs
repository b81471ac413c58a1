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

const PW: &str = "correct horse battery staple";

fn records(home: &Home, kind: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(home.paths().audit_log()).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["body"]["kind"] == kind)
        .map(|v| v["body"]["data"].clone())
        .collect()
}

fn pending_ids(home: &Home) -> Vec<String> {
    let out = home.run(&["pending", "--json"], "");
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = v.as_array().or_else(|| v["items"].as_array()).cloned().unwrap_or_default();
    items.iter().filter_map(|i| i["pending"].as_str().map(str::to_owned)).collect()
}

/// With a vault, ten approvals in Claude's own prompt (pre-tool ask, then the post-tool report)
/// close their holds as approved-in-the-agent's-prompt, store no decision memory, cost no proof
/// attempt — and the admin password still works afterwards.
#[test]
fn approvals_in_claudes_prompt_work_with_a_vault() {
    let home = Home::new();
    let out = home.run(&["vault", "init", "--password-stdin"], &format!("{PW}\n"));
    assert!(out.status.success(), "{out:?}");
    let d = home.daemon(&[]);
    let command = "chmod -R 777 .";
    for round in 0..10 {
        let out = home.run(&["hook", "--agent", "claude-code"], &fixture("claude-code", "pre_shell", command));
        assert_eq!(decision_of("claude-code", &out), "ask", "round {round}: {out:?}");
        assert_eq!(pending_ids(&home).len(), 1, "round {round}: held");
        let out = home.run(&["hook", "--agent", "claude-code"], &fixture("claude-code", "post_shell", command));
        assert_eq!(out.stdout, b"", "round {round}: post-tool is no opinion");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("could not report"), "round {round}: {out:?}");
        assert!(pending_ids(&home).is_empty(), "round {round}: the report closed the hold");
    }
    let reports = records(&home, "agent_approved");
    assert_eq!(reports.len(), 10);
    assert!(reports.iter().all(|r| r["command"] == command && r["agent"] == "claude-code"));
    assert!(records(&home, "admin").is_empty(), "a report is not a proof attempt: {:?}", records(&home, "admin"));
    // No decision memory: the same command is held (asked) again.
    let out = home.run(&["hook", "--agent", "claude-code"], &fixture("claude-code", "pre_shell", command));
    assert_eq!(decision_of("claude-code", &out), "ask");
    let out = home.run(&["pause", "--password-stdin"], &format!("{PW}\n"));
    assert_eq!(out.status.code(), Some(0), "the admin password still works: {out:?}");
    drop(d);
}

/// An agent's report closes a hold but never releases it: a waiting hook (Codex) whose hold is
/// "reported" by someone else denies.
#[test]
fn an_agent_report_never_releases_a_waiting_hold() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let command = "chmod -R 777 .";
    let mut waiter = home
        .cmd()
        .args(["hook", "--agent", "codex", "--hold-wait-ms", "20000"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    waiter.stdin.take().unwrap().write_all(fixture("codex", "pre_shell", command).as_bytes()).unwrap();
    daemon::wait_for(std::time::Duration::from_secs(10), || pending_ids(&home).len() == 1);
    let id = pending_ids(&home).remove(0);
    let report = holdfast::wire::Resolution {
        command: command.into(),
        decision: holdfast::wire::HumanDecision::Allow,
        remember: false,
        cwd: None,
        agent: Some("claude-code".into()),
        pending: Some(id),
        proof: Default::default(),
    };
    let reply = d.request(holdfast::wire::RequestBody::Resolve(report));
    assert!(matches!(reply, holdfast::wire::ResponseBody::Ack(_)), "{reply:?}");
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(decision_of("codex", &out), "deny", "{out:?}");
    drop(d);
}

/// A typo in the global policy beside a [[deny]] rule: `start` and `daemon` refuse, naming
/// file:line:col; `doctor` fails on it; the denied command is never allowed by a daemon that
/// dropped the file.
#[test]
fn a_bad_global_policy_is_loud_and_refused() {
    let home = Home::new();
    std::fs::create_dir_all(home.path().join("config")).unwrap();
    let policy = home.path().join("config").join("policy.toml");
    std::fs::write(&policy, "mode = \"atended\"\n\n[[deny]]\npattern = \"make deploy\"\n").unwrap();
    let at = format!("{} line 1 column 8", policy.display());
    let out = home.run(&["start"], "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "start refuses: {out:?}");
    assert!(err.contains(&at) && err.contains("will not start"), "{err}");
    assert!(home.run(&["ping"], "").status.code() != Some(0), "no daemon was left running");
    let mut child = home
        .cmd()
        .arg("daemon")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let exited = daemon::wait_timeout(&mut child, std::time::Duration::from_secs(10));
    if exited.is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(exited.is_some_and(|s| !s.success()), "daemon refuses to run: {out:?}");
    assert!(err.contains(&at), "{err}");
    let out = home.run(&["doctor", "--json"], "");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "policy").cloned().unwrap();
    assert_eq!(check["status"], "fail", "{check}");
    assert!(check["detail"].as_str().unwrap().contains(&at), "{check}");
    // Fixed: it starts and the deny rule applies.
    std::fs::write(&policy, "mode = \"attended\"\n\n[[deny]]\npattern = \"make deploy\"\n").unwrap();
    let d = home.daemon(&[]);
    let out = hook(&home, "claude-code", "make deploy");
    assert_eq!(decision_of("claude-code", &out), "deny", "{out:?}");
    drop(d);
}

fn spawn_hook(home: &Home, agent: &str, wait_ms: &str, payload: &str) -> std::process::Child {
    use std::io::Write;
    let mut child = home
        .cmd()
        .args(["hook", "--agent", agent, "--hold-wait-ms", wait_ms])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(payload.as_bytes()).unwrap();
    child
}

fn last_propose(home: &Home) -> Value {
    records(home, "propose").pop().unwrap()
}

/// Codex and Gemini: the hook gave up waiting; the human approves; the identical command run again
/// (same cwd, same session) goes through once, recorded as such. A waiter that saw the approval
/// itself used it up.
#[test]
fn an_approval_outlives_the_wait_once() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let command = "chmod -R 777 .";
    for agent in ["codex", "gemini"] {
        let out = hook(&home, agent, command);
        assert_eq!(decision_of(agent, &out), "deny", "{agent}: gave up waiting: {out:?}");
        let id = pending_ids(&home).remove(0);
        let out = home.run(&["approve", &id], "");
        assert!(out.status.success(), "{out:?}");
        let other_session = fixture(agent, "pre_shell", command).replace("\"session_id\":\"", "\"session_id\":\"x");
        let out = home.run(&["hook", "--agent", agent, "--hold-wait-ms", "300"], &other_session);
        assert_eq!(decision_of(agent, &out), "deny", "{agent}: another session is held again");
        let stray = pending_ids(&home);
        assert_eq!(stray.len(), 1);
        home.run(&["deny", &stray[0]], "");
        let out = hook(&home, agent, command);
        assert_eq!(decision_of(agent, &out), "none", "{agent}: the approved retry runs: {out:?}");
        let rec = last_propose(&home);
        assert_eq!(rec["verdict"]["rule"], "approval.once", "{rec}");
        assert!(rec["verdict"]["reason"].as_str().unwrap().contains(&id), "{rec}");
        let out = hook(&home, agent, command);
        assert_eq!(decision_of(agent, &out), "deny", "{agent}: only once");
        let again = pending_ids(&home);
        home.run(&["deny", &again[0]], "");
    }
    // Approved while the hook still waited: that run used the approval.
    let waiter = spawn_hook(&home, "codex", "20000", &fixture("codex", "pre_shell", command));
    daemon::wait_for(std::time::Duration::from_secs(10), || pending_ids(&home).len() == 1);
    let id = pending_ids(&home).remove(0);
    assert!(home.run(&["approve", &id], "").status.success());
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(decision_of("codex", &out), "none", "{out:?}");
    let out = hook(&home, "codex", command);
    assert_eq!(decision_of("codex", &out), "deny", "the waiter took the approval");
    drop(d);
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Finding 11, each small item through the CLI.
#[test]
fn the_small_things() {
    let home = Home::new();
    // --json commands say what went wrong on stdout when the daemon is down.
    for args in [&["pending", "--json"][..], &["approve", "abcdef", "--json"], &["propose", "--json", "ls"]] {
        let out = home.run(args, "");
        assert_eq!(out.status.code(), Some(3), "{args:?}: {out:?}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {out:?}"));
        assert_eq!((v["ok"].clone(), v["error"]["code"].clone()), (false.into(), "not_running".into()), "{v}");
    }
    let d = home.daemon(&[]);
    // `propose ls` needs no `--`.
    let out = home.run(&["propose", "ls", "-la"], "");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // `approve nosuch` blames the character, not the length.
    let out = home.run(&["approve", "nosuch"], "");
    assert!(text(&out).contains("`u`"), "{}", text(&out));
    // `pending` shows the class.
    let out = home.run(&["propose", "--", "rm", "-rf", "/"], "");
    assert_eq!(out.status.code(), Some(5), "held: {out:?}");
    let id = pending_ids(&home).remove(0);
    let out = home.run(&["pending"], "");
    assert!(text(&out).contains("catastrophic"), "{}", text(&out));
    // `approve --remember` on a catastrophic command says it remembered nothing.
    let out = home.run(&["approve", &id, "--remember"], "");
    assert!(out.status.success() && text(&out).contains("NOT remembered"), "{}", text(&out));
    // No Rust enum names in error messages.
    let out = home.run(&["approve", &id], "");
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("already approved") && !t.contains("(Conflict)"), "{t}");
    // `status` says whether the watcher runs.
    let out = home.run(&["status"], "");
    assert!(text(&out).contains("watcher    not running"), "{}", text(&out));
    let out = home.run(&["status", "--json"], "");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["watcher"]["running"], false, "{v}");
    drop(d);
}

/// Gemini: `tool_input.dir_path` is the directory proposed; `decision: "ask"` where the installed
/// CLI has it (HOLDFAST_GEMINI_ASK=1, set by init), the wait elsewhere.
#[test]
fn gemini_dir_path_and_ask() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let payload = fixture("gemini", "pre_shell", "ls").replace("\"description\"", "\"dir_path\":\"sub/dir\",\"x\"");
    let out = home.run(&["hook", "--agent", "gemini"], &payload);
    assert_eq!(decision_of("gemini", &out), "none", "{out:?}");
    let cwd = last_propose(&home)["cwd"].as_str().unwrap().to_string();
    assert_eq!(Path::new(&cwd), Path::new(&daemon::abs_cwd()).join("sub/dir"));
    let command = "chmod -R 777 .";
    let out = hook(&home, "gemini", command);
    assert_eq!(decision_of("gemini", &out), "deny", "no ask without the flag");
    let mut c = home.cmd();
    c.env("HOLDFAST_GEMINI_ASK", "1");
    let out = run_cmd(c, &["hook", "--agent", "gemini"], &fixture("gemini", "pre_shell", command));
    assert_eq!(decision_of("gemini", &out), "ask", "{out:?}");
    drop(d);
}

fn run_cmd(mut c: std::process::Command, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = c
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// `init` then `init --undo` leaves every agent config byte-identical (order, indentation,
/// escapes, comments, mode, symlink), takes one backup per file however often it runs, honours
/// the agents' config-dir variables, carries HOLDFAST_HOME into the hook, and names an installed
/// binary rather than the build output.
#[cfg(unix)]
#[test]
fn init_edits_in_place_and_undo_restores_every_byte() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    let h = home.path();
    let claude_dir = h.join("claude-cfg");
    let codex_dir = h.join("codex-home");
    let copilot_dir = h.join("copilot-home");
    let files: Vec<(std::path::PathBuf, &str)> = vec![
        (
            h.join("dotfiles/claude.json"),
            "{\n\t\"zeta\": \"caf\\u00e9 \\/ ok\",\n\t\"alpha\": {\"b\": 1, \"a\": [1,2]},\n\t\"hooks\": {\"PreToolUse\": [{\"matcher\": \"Edit\", \"hooks\": [{\"type\": \"command\", \"command\": \"fmt.sh\"}]}]}\n}",
        ),
        (codex_dir.join("hooks.json"), "{ \"hooks\" : { } }\n"),
        (
            h.join(".gemini/settings.json"),
            "// my gemini settings\n{\n    \"theme\": \"Dracula\", // dark\n    \"general\": {\"vimMode\": true,},\n}\n",
        ),
        (h.join(".cursor/hooks.json"), "{\"version\":1,\"hooks\":{\"afterFileEdit\":[{\"command\":\"x\"}]}}"),
    ];
    for (path, text) in &files {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::create_dir_all(&claude_dir).unwrap();
    std::os::unix::fs::symlink(h.join("dotfiles/claude.json"), claude_dir.join("settings.json")).unwrap();
    std::fs::create_dir_all(&copilot_dir).unwrap();
    // An installed copy of holdfast on PATH: init names it, not the build output.
    let bin = h.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(daemon::bin(), bin.join("holdfast")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let init = |args: &[&str]| {
        let mut c = home.cmd();
        c.env("CLAUDE_CONFIG_DIR", &claude_dir).env("CODEX_HOME", &codex_dir).env("COPILOT_HOME", &copilot_dir);
        c.env("PATH", &path);
        let out = run_cmd(c, args, "");
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        out
    };
    let agents = "claude-code,codex,gemini,cursor,copilot";
    init(&["init", "--no-start", "--agent", agents]);
    init(&["init", "--no-start", "--agent", agents]);
    let claude = std::fs::read_to_string(h.join("dotfiles/claude.json")).unwrap();
    assert!(
        claude.starts_with("{\n\t\"zeta\": \"caf\\u00e9 \\/ ok\",\n\t\"alpha\": {\"b\": 1, \"a\": [1,2]},"),
        "{claude}"
    );
    let expected = format!("HOLDFAST_HOME={} {}/holdfast hook --agent claude-code", h.display(), bin.display());
    assert!(claude.contains(&expected), "carries HOLDFAST_HOME and names the installed binary: {claude}");
    assert!(claude_dir.join("settings.json").is_symlink(), "the symlink is written through");
    let gemini = std::fs::read_to_string(h.join(".gemini/settings.json")).unwrap();
    assert!(gemini.starts_with("// my gemini settings\n{\n    \"theme\": \"Dracula\", // dark\n"), "{gemini}");
    assert!(copilot_dir.join("hooks/holdfast.json").is_file(), "COPILOT_HOME is honoured");
    assert!(std::fs::read_to_string(codex_dir.join("hooks.json")).unwrap().contains("hook --agent codex"));
    for (path, _) in &files {
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{}: mode kept", path.display());
    }
    let kept = walk(h);
    let count = |suffix: &str| kept.iter().filter(|p| p.to_string_lossy().ends_with(suffix)).count();
    assert_eq!(count(".holdfast-backup"), files.len(), "one backup per file after two runs: {kept:?}");
    assert_eq!(count(".holdfast-created"), 1, "copilot's file was created: {kept:?}");
    init(&["init", "--undo", "--agent", agents]);
    for (path, original) in &files {
        assert_eq!(std::fs::read_to_string(path).unwrap(), *original, "{}: byte-identical", path.display());
        assert_eq!(std::fs::metadata(path).unwrap().permissions().mode() & 0o777, 0o644);
    }
    assert!(claude_dir.join("settings.json").is_symlink());
    assert!(!copilot_dir.join("hooks/holdfast.json").exists());
    let left: Vec<_> = walk(h).into_iter().filter(|p| p.to_string_lossy().contains(".holdfast-")).collect();
    assert!(left.is_empty(), "no backups left after a complete undo: {left:?}");
}

#[cfg(unix)]
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() && !p.is_symlink() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Packaging: completions for each shell (bash loads them), the man page, the LICENSE and the
/// design document the README cites.
#[test]
fn completions_man_page_license_and_cited_docs() {
    let home = Home::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = home.run(&["completions", shell], "");
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains("uninstall") && script.contains("holdfast"), "{shell}");
    }
    #[cfg(unix)]
    if let Ok(bash) = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source <('{}' completions bash) && complete -p holdfast", daemon::bin()))
        .output()
    {
        assert!(String::from_utf8_lossy(&bash.stdout).contains("holdfast"), "{bash:?}");
    }
    let out = home.run(&["man"], "");
    assert!(String::from_utf8_lossy(&out.stdout).contains(".TH holdfast 1"), "{out:?}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(std::fs::read_to_string(root.join("LICENSE")).unwrap().starts_with("MIT License"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for cited in ["docs/DESIGN.md", "LICENSE"] {
        assert!(readme.contains(cited) && root.join(cited).is_file(), "{cited}");
    }
}

/// `uninstall` shows its plan and changes nothing; with a vault, a wrong password changes nothing;
/// the right one stops the daemon, restores every agent config byte for byte and removes the files.
#[cfg(unix)]
#[test]
fn uninstall_plans_then_needs_the_admin_password() {
    let home = Home::new();
    let claude = home.path().join(".claude/settings.json");
    std::fs::create_dir_all(claude.parent().unwrap()).unwrap();
    let original = "{\n  \"model\": \"opus\"\n}\n";
    std::fs::write(&claude, original).unwrap();
    let out = home.run(&["vault", "init", "--password-stdin"], &format!("{PW}\n"));
    assert!(out.status.success(), "{out:?}");
    let d = home.daemon(&[]);
    let out = home.run(&["init", "--agent", "claude-code", "--no-start"], "");
    assert!(out.status.success(), "{out:?}");
    let installed = std::fs::read_to_string(&claude).unwrap();
    let out = home.run(&["uninstall"], "");
    assert!(text(&out).contains("nothing changed") && text(&out).contains("settings.json"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&claude).unwrap(), installed);
    let out = home.run(&["uninstall", "--yes", "--password-stdin"], "not the password at all\n");
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&claude).unwrap(), installed, "a refused uninstall touches nothing");
    assert!(home.paths().vault().exists());
    let out = home.run(&["uninstall", "--yes", "--password-stdin"], &format!("{PW}\n"));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&claude).unwrap(), original);
    assert!(!home.paths().config_dir.exists() && !home.paths().data_dir.exists());
    let mut d = d;
    assert!(daemon::wait_timeout(&mut d.child, std::time::Duration::from_secs(10)).is_some(), "daemon stopped");
}

#[cfg(unix)]
fn doctor_check(home: &Home, name: &str) -> Value {
    let out = home.run(&["doctor", "--json"], "");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    v["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).cloned().unwrap_or(Value::Null)
}

#[cfg(unix)]
fn set_claude_command(settings: &Path, command: &str) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(settings).unwrap()).unwrap();
    v["hooks"]["PreToolUse"][0]["hooks"][0]["command"] = command.into();
    std::fs::write(settings, v.to_string()).unwrap();
}

/// doctor proves the real path: each configured hook against the running daemon (hold or deny for
/// `rm -rf /`, no opinion for `true`, and the daemon recorded it), the binary it names, Codex's
/// trust; and it clears the holds its probes left.
#[cfg(unix)]
#[test]
fn doctor_proves_the_real_path_and_codex_trust() {
    let home = Home::new();
    for d in [".claude", ".codex"] {
        std::fs::create_dir_all(home.path().join(d)).unwrap();
    }
    let out = home.run(&["init", "--agent", "claude-code,codex", "--no-start"], "");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("/hooks"), "init tells the user to trust the hook in Codex: {}", text(&out));
    let d = home.daemon(&[]);
    let claude = doctor_check(&home, "agent claude-code");
    assert_eq!(claude["status"], "ok", "{claude}");
    assert!(claude["detail"].as_str().unwrap().contains("no opinion"), "{claude}");
    // Codex's hook line ends in `|| exit 2`: the probe's quick wait reaches the hook, not `exit`.
    let codex = doctor_check(&home, "agent codex");
    assert_eq!(codex["status"], "ok", "{codex}");
    assert!(pending_ids(&home).is_empty(), "doctor denied its probe holds");
    let trust = doctor_check(&home, "codex trust");
    assert_eq!(trust["status"], "fail", "{trust}");
    assert!(trust["fix"].as_str().unwrap().contains("/hooks"), "{trust}");
    let hooks = std::fs::canonicalize(home.path().join(".codex/hooks.json")).unwrap();
    let config = format!("[hooks.state.\"{}:pre_tool_use:0:0\"]\ntrusted_hash = \"sha256:00\"\n", hooks.display());
    std::fs::write(home.path().join(".codex/config.toml"), &config).unwrap();
    assert_eq!(doctor_check(&home, "codex trust")["status"], "ok");
    std::fs::write(home.path().join(".codex/config.toml"), format!("{config}enabled = false\n")).unwrap();
    assert_eq!(doctor_check(&home, "codex trust")["status"], "fail", "disabled in Codex");

    let settings = home.path().join(".claude/settings.json");
    let good = std::fs::read_to_string(&settings).unwrap();
    let configured = serde_json::from_str::<Value>(&good).unwrap()["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap()
        .to_string();
    // A hook that talks to no daemon: its fallback denies `rm -rf /`, which proves nothing.
    set_claude_command(&settings, &format!("HOLDFAST_SOCKET=/nonexistent/s.sock {configured}"));
    let c = doctor_check(&home, "agent claude-code");
    assert_eq!(c["status"], "fail", "{c}");
    assert!(c["detail"].as_str().unwrap().contains("never reached"), "{c}");
    set_claude_command(&settings, "/nonexistent/holdfast hook --agent claude-code");
    let c = doctor_check(&home, "agent claude-code");
    assert!(c["status"] == "fail" && c["detail"].as_str().unwrap().contains("does not exist"), "{c}");
    set_claude_command(&settings, "true holdfast hook --agent claude-code");
    let c = doctor_check(&home, "agent claude-code");
    assert!(
        c["status"] == "fail" && c["detail"].as_str().unwrap().contains("never reached"),
        "a hook that never speaks: {c}"
    );
    drop(d);
}
