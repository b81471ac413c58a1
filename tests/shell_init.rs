//! `shell-init bash` in a real interactive bash under tmux: each typed command is recorded exactly
//! once, in order, with HISTCONTROL=ignoreboth, nothing at shell start, and an existing DEBUG trap
//! keeps running. Skips (saying why) where tmux is missing.
#![cfg(unix)]

#[path = "support/daemon.rs"]
mod daemon;

use std::process::Command;
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
    let typed = ["echo one", " echo secret", "echo one", "", "echo two | cat", "false"];
    for line in typed {
        assert!(tmux(&["send-keys", "-t", &session, "-l", line]));
        assert!(tmux(&["send-keys", "-t", &session, "Enter"]));
        std::thread::sleep(Duration::from_millis(150));
    }
    let hist = h.join("hist.txt");
    let cmd = format!("history > {}", hist.display());
    tmux(&["send-keys", "-t", &session, "-l", &cmd]);
    tmux(&["send-keys", "-t", &session, "Enter"]);
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
