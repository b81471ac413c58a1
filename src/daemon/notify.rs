//! Runs the global policy's `[notify] command` when a command is held (a phone push through `ntfy`,
//! a chat webhook through `curl`…). The program is started, never waited on: the single-threaded
//! daemon reaps it in its idle work and kills it at its timeout.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::log::log;
use super::queue::Held;
use crate::policy::NotifySettings;

/// Most notifier processes alive at once; a hold beyond that is not announced (and counted).
const MAX_RUNNING: usize = 8;
/// Longest field value passed in an argument (a held command can be a megabyte).
const MAX_FIELD: usize = 4096;

/// The notifier processes the daemon started.
#[derive(Default)]
pub(crate) struct Notifier {
    running: Vec<(Child, Instant)>,
    /// Holds not announced: too many notifiers running, or the program could not start (`status`
    /// reports it).
    pub missed: u64,
}

impl Notifier {
    /// Starts `settings.command` for `held`, with its fields in place of the placeholders.
    pub fn announce(&mut self, settings: &NotifySettings, held: &Held) {
        self.reap();
        if self.running.len() >= MAX_RUNNING {
            self.missed += 1;
            log!("notify: {MAX_RUNNING} notifiers still running; hold {} not announced", held.id);
            return;
        }
        let argv: Vec<String> = settings.command.iter().map(|a| fill(a, held)).collect();
        // argv[0] is run directly: no shell, so no field can inject a command.
        let started = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match started {
            Ok(child) => self.running.push((child, Instant::now() + Duration::from_secs(settings.timeout_secs))),
            Err(e) => {
                self.missed += 1;
                log!("notify: cannot run {}: {e}", argv[0]);
            }
        }
    }

    /// Collects finished notifiers and kills those past their timeout.
    pub fn reap(&mut self) {
        let now = Instant::now();
        self.running.retain_mut(|(child, deadline)| match child.try_wait() {
            Ok(Some(_)) | Err(_) => false,
            Ok(None) if now >= *deadline => {
                let _ = child.kill();
                let _ = child.wait();
                false
            }
            Ok(None) => true,
        });
    }
}

/// One argument with the hold's fields in place of `{id}`, `{class}`, `{rule}`, `{reason}`,
/// `{agent}`, `{cwd}` and `{command}`.
fn fill(arg: &str, held: &Held) -> String {
    let fields: [(&str, &str); 7] = [
        ("{id}", &held.id),
        ("{class}", held.class.as_str()),
        ("{rule}", &held.rule),
        ("{reason}", &held.reason),
        ("{agent}", &held.agent),
        ("{cwd}", &held.cwd),
        ("{command}", &held.command),
    ];
    let mut out = arg.to_string();
    for (name, value) in fields {
        if out.contains(name) {
            out = out.replace(name, truncate(value));
        }
    }
    out
}

fn truncate(s: &str) -> &str {
    if s.len() <= MAX_FIELD {
        return s;
    }
    let cut = (0..=MAX_FIELD).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
    &s[..cut]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Class;

    #[test]
    fn placeholders_are_filled_per_argument_and_long_fields_cut() {
        let held = Held {
            id: "abc123".into(),
            created_ms: 0,
            expires_ms: 0,
            agent: "codex".into(),
            cwd: "/r".into(),
            scope: String::new(),
            command: format!("rm -rf / ; {}", "x".repeat(10_000)),
            class: Class::Catastrophic,
            rule: "fs.rm_recursive_root".into(),
            reason: "why".into(),
            session: None,
        };
        assert_eq!(fill("{agent} wants {id} ({class})", &held), "codex wants abc123 (catastrophic)");
        assert_eq!(fill("{command}", &held).len(), MAX_FIELD);
        assert_eq!(fill("{unknown}", &held), "{unknown}");
    }
}
