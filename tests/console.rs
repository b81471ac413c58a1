//! `holdfast console` in a real terminal (tmux): a hold appears, one key answers it, the waiting
//! hook gets the answer, the timeline shows it, and the terminal is restored after exit and panic.
#![cfg(unix)]
#[path = "support/daemon.rs"]
mod daemon;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use daemon::{Daemon, Home};
use holdfast::wire::{PendingState, RequestBody, ResponseBody};

/// A private tmux server running one shell, removed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// None (with the reason printed) when tmux is not installed.
    fn start(home: &Home) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("skipped: tmux is not installed");
            return None;
        }
        let t = Tmux { socket: format!("hf-console-{}-{}", std::process::id(), rand_suffix()) };
        // A plain shell in a known environment; the console runs inside it, so the shell's own
        // terminal settings can be read after the console exits.
        let env = format!(
            "env -i PATH={} HOME={} HOLDFAST_HOME={} TERM=xterm-256color bash --norc --noprofile",
            std::env::var("PATH").unwrap_or_default(),
            home.path().display(),
            home.path().display()
        );
        t.tmux(&["-f", "/dev/null", "new-session", "-d", "-x", "140", "-y", "40", &env]);
        Some(t)
    }

    fn tmux(&self, args: &[&str]) -> Output {
        let out = Command::new("tmux").arg("-L").arg(&self.socket).args(args).output().unwrap();
        assert!(out.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out
    }

    fn type_line(&self, line: &str) {
        self.tmux(&["send-keys", "-l", line]);
        self.tmux(&["send-keys", "Enter"]);
    }

    fn key(&self, key: &str) {
        self.tmux(&["send-keys", key]);
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p"]).stdout).into_owned()
    }

    /// Waits until the screen contains `text`; returns the screen, or panics with it.
    fn wait_for(&self, text: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(Instant::now() < deadline, "`{text}` did not appear within {within:?}:\n{screen}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn alternate_screen_on(&self) -> bool {
        String::from_utf8_lossy(&self.tmux(&["display-message", "-p", "#{alternate_on}"]).stdout).trim() == "1"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-L").arg(&self.socket).arg("kill-server").output();
    }
}

fn rand_suffix() -> String {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).unwrap();
    hex::encode(b)
}

/// A Codex pre-tool hook for `command`, waiting on its hold (Codex has no native ask).
fn waiting_hook(home: &Home, command: &str) -> Child {
    let payload = serde_json::json!({"session_id": "s1", "turn_id": "t1", "cwd": home.path(),
        "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": "u1"});
    let mut child = home
        .cmd()
        .args(["hook", "--agent", "codex"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(payload.to_string().as_bytes()).unwrap();
    child
}

/// Waits until the daemon holds something; returns its id.
fn held_id(d: &Daemon) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let ResponseBody::PendingList { items, .. } = d.request(RequestBody::ListPending)
            && let Some(i) = items.iter().find(|i| i.state == PendingState::Pending)
        {
            return i.id.clone();
        }
        assert!(Instant::now() < deadline, "nothing was held");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn pending_count(d: &Daemon) -> usize {
    match d.request(RequestBody::ListPending) {
        ResponseBody::PendingList { items, .. } => items.iter().filter(|i| i.state == PendingState::Pending).count(),
        other => panic!("{other:?}"),
    }
}

/// The shell's terminal is back in cooked mode with echo, and off the alternate screen.
fn assert_terminal_restored(t: &Tmux) {
    // First the console must have exited: keys typed before that would go to it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while String::from_utf8_lossy(&t.tmux(&["display-message", "-p", "#{pane_current_command}"]).stdout).trim()
        != "bash"
    {
        assert!(Instant::now() < deadline, "the console did not exit:\n{}", t.screen());
        std::thread::sleep(Duration::from_millis(20));
    }
    t.type_line("stty -a | tr ' ' '\\n' | grep -xE -- '-?(icanon|echo)' | tr '\\n' ' '; echo END-OF-STTY");
    let screen = t.wait_for("END-OF-STTY\n", Duration::from_secs(5));
    let stty = screen.lines().rev().find(|l| l.contains("icanon")).unwrap_or_default();
    assert!(stty.contains("icanon") && !stty.contains("-icanon"), "raw mode left on: {screen}");
    assert!(stty.contains("echo") && !stty.contains("-echo "), "echo left off: {screen}");
    assert!(!t.alternate_screen_on(), "still on the alternate screen");
}

#[test]
fn a_hold_appears_one_key_approves_it_and_the_waiting_hook_gets_allow() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let Some(t) = Tmux::start(&home) else { return };
    t.type_line(&format!("{} console", daemon::bin()));
    t.wait_for("nothing is held", Duration::from_secs(10));

    let hook = waiting_hook(&home, "git push --force origin main");
    let id = held_id(&d);
    // The console polls every 500 ms: the hold is on screen well within a second of being held
    // (2 s allowed for a loaded machine).
    t.wait_for(&id, Duration::from_secs(2));
    t.key("a");
    t.wait_for(&format!("approved {id}"), Duration::from_secs(5));
    let out = hook.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"", "Codex: allow is no output; got {}", String::from_utf8_lossy(&out.stdout));
    // The timeline shows the approval (read from the audit log).
    let screen = t.wait_for("approved ", Duration::from_secs(5));
    assert!(screen.lines().any(|l| l.contains("approved") && l.contains(&id)), "{screen}");

    t.key("q");
    assert_terminal_restored(&t);
}

#[test]
fn deny_and_remember_from_the_console() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let Some(t) = Tmux::start(&home) else { return };
    t.type_line(&format!("{} console", daemon::bin()));
    t.wait_for("nothing is held", Duration::from_secs(10));
    let command = "git push --force origin release";
    let hook = waiting_hook(&home, command);
    let id = held_id(&d);
    t.wait_for(&id, Duration::from_secs(2));
    t.key("D");
    t.wait_for(&format!("denied and remembered {id}"), Duration::from_secs(5));
    let out = hook.wait_with_output().unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a deny is JSON");
    assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
    // Remembered: the same command in the same place is denied at once, without a new hold.
    let again = waiting_hook(&home, command).wait_with_output().unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
    let ResponseBody::PendingList { items, .. } = d.request(RequestBody::ListPending) else { panic!() };
    assert!(items.iter().all(|i| i.state != PendingState::Pending), "a remembered deny opens no hold: {items:?}");
    t.key("q");
    assert_terminal_restored(&t);
}

#[test]
fn with_a_vault_one_password_then_ten_approvals_without_it() {
    let home = Home::new();
    let init = home.run(&["vault", "init", "--password-stdin"], "correct horse battery\ncorrect horse battery\n");
    assert!(init.status.success(), "{init:?}");
    let d = home.daemon(&[]);
    let Some(t) = Tmux::start(&home) else { return };
    t.type_line(&format!("{} console", daemon::bin()));
    t.wait_for("nothing is held", Duration::from_secs(10));
    let hook = waiting_hook(&home, "git push --force origin main");
    let id = held_id(&d);
    t.wait_for(&id, Duration::from_secs(2));
    t.key("a");
    t.wait_for("admin password to approve", Duration::from_secs(5));
    t.type_line("wrong password");
    t.wait_for("cannot open an approval session", Duration::from_secs(20));
    assert!(matches!(d.request(RequestBody::PendingStatus(holdfast::wire::PendingRef { pending: id.clone() })),
        ResponseBody::Pending(i) if i.state == PendingState::Pending));
    t.key("a");
    t.wait_for("admin password to approve", Duration::from_secs(5));
    t.type_line("correct horse battery");
    t.wait_for(&format!("approved {id}"), Duration::from_secs(20));
    let out = hook.wait_with_output().unwrap();
    assert_eq!(out.stdout, b"");
    // Ten more holds, each approved with one key and no password: the session answers.
    let ids: Vec<String> = (0..10)
        .map(|n| {
            let p = holdfast::wire::Proposal {
                agent: "t".into(),
                cwd: "/tmp".into(),
                raw: format!("git push --force origin b{n}"),
                ..Default::default()
            };
            match d.request(RequestBody::Propose(p)) {
                ResponseBody::Verdict(v) => v.pending.unwrap(),
                other => panic!("{other:?}"),
            }
        })
        .collect();
    t.wait_for(&ids[9], Duration::from_secs(5));
    for left in (0..10).rev() {
        t.key("a");
        let deadline = Instant::now() + Duration::from_secs(10);
        while pending_count(&d) != left {
            assert!(Instant::now() < deadline, "the approval did not land:\n{}", t.screen());
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!t.screen().contains("admin password"), "asked again:\n{}", t.screen());
    }
    let ResponseBody::SessionList { items } = d.request(RequestBody::ListSessions) else { panic!() };
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].uses, 11);
    t.key("q");
    assert_terminal_restored(&t);
    // The session ends with the console.
    let ResponseBody::SessionList { items } = d.request(RequestBody::ListSessions) else { panic!() };
    assert!(items.is_empty(), "{items:?}");
}

#[test]
fn the_terminal_is_restored_after_a_panic() {
    let home = Home::new();
    let _d = home.daemon(&[]);
    let Some(t) = Tmux::start(&home) else { return };
    // Test builds only: the console panics 700 ms after start.
    t.type_line(&format!("HOLDFAST_CONSOLE_TEST_PANIC_MS=700 {} console", daemon::bin()));
    t.wait_for("injected console panic", Duration::from_secs(10));
    assert_terminal_restored(&t);
}

#[test]
fn without_a_terminal_the_console_prints_plain_lines() {
    let home = Home::new();
    let d = home.daemon(&[]);
    let out = home.run(&["console", "--once"], "");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "nothing is held");
    let hook = waiting_hook(&home, "git push --force origin main");
    let id = held_id(&d);
    let out = home.run(&["console", "--once"], "");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with(&format!("HOLD {id} catastrophic")), "{text}");
    assert!(text.contains("git push --force origin main") && text.contains("git.force_push"), "{text}");
    assert!(!text.contains('\u{1b}'), "no escape codes when not a terminal: {text:?}");
    drop(d);
    // The daemon is gone: the waiting hook denies, and the console says the daemon is down.
    assert!(!hook.wait_with_output().unwrap().stdout.is_empty());
    let out = home.run(&["console", "--once"], "");
    assert_eq!(out.status.code(), Some(3), "daemon down is exit 3");
}
