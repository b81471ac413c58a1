//! `shell-init bash` and `shell-init zsh` in a real interactive shell under tmux: each typed command
//! is recorded exactly once, in order, nothing at shell start, and the shell's other hooks (bash's
//! DEBUG trap with HISTCONTROL=ignoreboth, zsh's preexec hooks) keep running, and a daemon that
//! never answers delays each command by at most 0.3 s. Skips (saying why) where tmux or the shell
//! is missing.
#![cfg(unix)]

#[path = "support/daemon.rs"]
mod daemon;

use std::os::unix::net::UnixListener;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use daemon::Home;
use serde_json::Value;

fn recorded(home: &Home) -> Vec<String> {
    let text = std::fs::read_to_string(home.paths().audit_log()).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["body"]["kind"] == "record")
        .map(|v| v["body"]["data"]["raw"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn tmux(args: &[&str]) -> bool {
    Command::new("tmux").args(args).status().is_ok_and(|s| s.success())
}

/// Types each line into the tmux session, Enter after each, pausing between them.
fn type_lines(session: &str, lines: &[&str]) {
    for line in lines {
        assert!(tmux(&["send-keys", "-t", session, "-l", line]));
        assert!(tmux(&["send-keys", "-t", session, "Enter"]));
        std::thread::sleep(Duration::from_millis(150));
    }
}

#[test]
fn bash_records_exactly_what_was_typed_once_in_order() {
    if !tmux(&["-V"]) {
        eprintln!("SKIP: tmux is not installed (apt-get install tmux)");
        return;
    }
    let home = Home::new();
    let d = home.daemon(&[]);
    let h = home.path();
    let rc = h.join("rc");
    let trap_log = h.join("trap.log");
    std::fs::write(
        &rc,
        format!(
            "PS1='$ '\nHISTFILE={hist}\nHISTCONTROL=ignoreboth\nPROMPT_COMMAND='true'\n\
             trap 'echo T >> {trap}' DEBUG\neval \"$('{bin}' shell-init bash)\"\n",
            hist = h.join("histfile").display(),
            trap = trap_log.display(),
            bin = daemon::bin()
        ),
    )
    .unwrap();
    let session = format!("hf{}", std::process::id());
    let shell = format!(
        "env -i HOME={h} HOLDFAST_HOME={h} PATH=/usr/bin:/bin TERM=xterm bash --noprofile --rcfile {rc} -i",
        h = h.display(),
        rc = rc.display()
    );
    assert!(tmux(&["new-session", "-d", "-s", &session, "-x", "200", "-y", "50", &shell]));
    type_lines(&session, &["echo one", " echo secret", "echo one", "", "echo two | cat", "false"]);
    let hist = h.join("hist.txt");
    let cmd = format!("history > {}", hist.display());
    type_lines(&session, &[&cmd]);
    daemon::wait_for(Duration::from_secs(15), || recorded(&home).len() >= 6 && hist.exists());
    std::thread::sleep(Duration::from_millis(300));
    tmux(&["kill-session", "-t", &session]);
    let got = recorded(&home);
    let want = ["echo one", " echo secret", "echo one", "echo two | cat", "false", cmd.as_str()];
    assert_eq!(got, want, "each typed command once, in order, exactly as typed, nothing at start");
    let history = std::fs::read_to_string(&hist).unwrap();
    assert!(!history.contains("secret"), "ignorespace still keeps it out of history: {history}");
    assert_eq!(history.matches("echo one").count(), 1, "ignoredups still applies: {history}");
    assert!(
        std::fs::read_to_string(&trap_log).is_ok_and(|t| t.lines().count() >= 5),
        "the existing DEBUG trap still runs"
    );
    drop(d);
}

#[test]
fn zsh_records_exactly_what_was_typed_once_in_order() {
    if !tmux(&["-V"]) || !Command::new("zsh").arg("-fc").arg("true").status().is_ok_and(|s| s.success()) {
        eprintln!("SKIP: tmux or zsh is not installed (apt-get install tmux zsh)");
        return;
    }
    let home = Home::new();
    let d = home.daemon(&[]);
    let h = home.path();
    let hook_log = h.join("preexec.log");
    // An existing preexec hook (as oh-my-zsh and others install) must keep running.
    std::fs::write(
        h.join(".zshrc"),
        format!(
            "PS1='$ '\nsetopt HIST_IGNORE_SPACE\nautoload -Uz add-zsh-hook\n\
             mine() {{ print -r -- \"$1\" >> {log} }}\nadd-zsh-hook preexec mine\n\
             eval \"$('{bin}' shell-init zsh)\"\n",
            log = hook_log.display(),
            bin = daemon::bin()
        ),
    )
    .unwrap();
    let session = format!("hfz{}", std::process::id());
    let shell =
        format!("env -i HOME={h} ZDOTDIR={h} HOLDFAST_HOME={h} PATH=/usr/bin:/bin TERM=xterm zsh -i", h = h.display());
    assert!(tmux(&["new-session", "-d", "-s", &session, "-x", "200", "-y", "50", &shell]));
    let want = ["echo one", " echo secret", "echo one", "echo two | cat", "false"];
    type_lines(&session, &["echo one", " echo secret", "echo one", "", "echo two | cat", "false"]);
    daemon::wait_for(Duration::from_secs(15), || recorded(&home).len() >= want.len());
    std::thread::sleep(Duration::from_millis(300));
    tmux(&["kill-session", "-t", &session]);
    assert_eq!(recorded(&home), want, "each typed command once, in order, exactly as typed, nothing at start");
    let mine = std::fs::read_to_string(&hook_log).unwrap_or_default();
    assert_eq!(mine.lines().count(), want.len(), "the existing preexec hook still runs once per command: {mine}");
    drop(d);
}

/// A daemon endpoint that accepts every connection and never answers; counts the connections.
fn silent_endpoint(home: &Home) -> Arc<AtomicUsize> {
    let socket = home.socket();
    std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
    let listener = UnixListener::bind(&socket).unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    accepted
}

/// A tmux session, killed when the test ends (passed or not).
struct KillOnDrop(String);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        tmux(&["kill-session", "-t", &self.0]);
    }
}

/// README "Turning holdfast on" (`shell-init`): each record is sent before the command runs,
/// waiting at most 0.3 s. In `shell` (a command line starting an interactive shell with the snippet
/// loaded and `$EPOCHREALTIME` available), against an endpoint that never answers, two lines typed
/// at once start between 0.25 s (the record was waited for) and 1.5 s apart (a generous bound
/// that a 2 s or endless wait fails).
fn record_wait_is_bounded(home: &Home, session: &str, shell: &str) {
    let accepted = silent_endpoint(home);
    let (t0, t1) = (home.path().join("t0"), home.path().join("t1"));
    assert!(tmux(&["new-session", "-d", "-s", session, "-x", "200", "-y", "50", shell]));
    let _session = KillOnDrop(session.to_string());
    for file in [&t0, &t1] {
        assert!(tmux(&["send-keys", "-t", session, "-l", &format!("echo $EPOCHREALTIME > {}", file.display())]));
        assert!(tmux(&["send-keys", "-t", session, "Enter"]));
    }
    let read = |f: &std::path::Path| std::fs::read_to_string(f).ok().and_then(|t| t.trim().parse::<f64>().ok());
    daemon::wait_for(Duration::from_secs(15), || read(&t1).is_some());
    let apart = read(&t1).unwrap() - read(&t0).expect("the first line ran");
    assert!(accepted.load(Ordering::SeqCst) >= 2, "each line tried to send its record");
    assert!((0.25..1.5).contains(&apart), "the second line started {apart:.3} s after the first");
}

#[test]
fn bash_waits_at_most_0_3_s_for_a_daemon_that_never_answers() {
    if !tmux(&["-V"]) {
        eprintln!("SKIP: tmux is not installed (apt-get install tmux)");
        return;
    }
    let home = Home::new();
    let h = home.path();
    let rc = h.join("rc");
    std::fs::write(&rc, format!("PS1='$ '\neval \"$('{}' shell-init bash)\"\n", daemon::bin())).unwrap();
    let shell = format!(
        "env -i HOME={h} HOLDFAST_HOME={h} PATH=/usr/bin:/bin TERM=xterm bash --noprofile --rcfile {rc} -i",
        h = h.display(),
        rc = rc.display()
    );
    record_wait_is_bounded(&home, &format!("hfw{}", std::process::id()), &shell);
}

#[test]
fn zsh_waits_at_most_0_3_s_for_a_daemon_that_never_answers() {
    if !tmux(&["-V"]) || !Command::new("zsh").arg("-fc").arg("true").status().is_ok_and(|s| s.success()) {
        eprintln!("SKIP: tmux or zsh is not installed (apt-get install tmux zsh)");
        return;
    }
    let home = Home::new();
    let h = home.path();
    std::fs::write(
        h.join(".zshrc"),
        format!("PS1='$ '\nzmodload zsh/datetime\neval \"$('{}' shell-init zsh)\"\n", daemon::bin()),
    )
    .unwrap();
    let shell =
        format!("env -i HOME={h} ZDOTDIR={h} HOLDFAST_HOME={h} PATH=/usr/bin:/bin TERM=xterm zsh -i", h = h.display());
    record_wait_is_bounded(&home, &format!("hfzw{}", std::process::id()), &shell);
}
