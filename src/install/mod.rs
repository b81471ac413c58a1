//! `holdfast init`: merge holdfast's hook into each agent's own config, and take it out again.
//!
//! Every entry holdfast adds runs `<holdfast> hook --agent <name>`; that command is the mark by
//! which `--undo` and `doctor` recognise holdfast's entries, so nothing else is ever touched.
//! Files are rewritten atomically after a timestamped 0600 backup; other settings are kept
//! (serde_json normalises key order and indentation).

pub mod managed;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

/// How an agent's hook file lays out its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `hooks.<Event>: [{matcher, hooks: [entry]}]` (Claude Code, Codex, Gemini CLI).
    Grouped,
    /// `{"version": 1, "hooks": {"<event>": [entry]}}` (Cursor, Copilot CLI).
    Flat,
}

/// One agent's hook configuration file.
#[derive(Debug, Clone)]
pub struct Target {
    /// holdfast's agent name.
    pub agent: &'static str,
    /// The config file.
    pub file: PathBuf,
    layout: Layout,
    /// (event, matcher) pairs holdfast hooks into.
    events: &'static [(&'static str, &'static str)],
    /// The entry key that holds the command line.
    cmd_key: &'static str,
    /// Directories or programs whose presence means the agent is installed.
    marks: (&'static str, &'static [&'static str]),
    /// True when the file belongs to holdfast alone (removed on undo when empty).
    own_file: bool,
}

/// Every agent `init` knows, with its config file under `home`.
pub fn targets(home: &Path) -> Vec<Target> {
    vec![
        Target {
            agent: "claude-code",
            file: home.join(".claude/settings.json"),
            layout: Layout::Grouped,
            events: &[("PreToolUse", "Bash"), ("PostToolUse", "Bash")],
            cmd_key: "command",
            marks: (".claude", &["claude"]),
            own_file: false,
        },
        Target {
            agent: "codex",
            file: home.join(".codex/hooks.json"),
            layout: Layout::Grouped,
            events: &[("PreToolUse", "Bash")],
            cmd_key: "command",
            marks: (".codex", &["codex"]),
            own_file: false,
        },
        Target {
            agent: "gemini",
            file: home.join(".gemini/settings.json"),
            layout: Layout::Grouped,
            events: &[("BeforeTool", "run_shell_command")],
            cmd_key: "command",
            marks: (".gemini", &["gemini"]),
            own_file: false,
        },
        Target {
            agent: "cursor",
            file: home.join(".cursor/hooks.json"),
            layout: Layout::Flat,
            events: &[("beforeShellExecution", ""), ("afterShellExecution", "")],
            cmd_key: "command",
            marks: (".cursor", &["cursor", "cursor-agent"]),
            own_file: false,
        },
        Target {
            agent: "copilot",
            file: home.join(".copilot/hooks/holdfast.json"),
            layout: Layout::Flat,
            events: &[("preToolUse", ""), ("postToolUse", "")],
            cmd_key: "bash",
            marks: (".copilot", &["copilot"]),
            own_file: true,
        },
    ]
}

/// The user's home, from `$HOME` (`%USERPROFILE%` on Windows), so tests can use temp homes.
pub fn home() -> Result<PathBuf> {
    let var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from).with_context(|| format!("${var} is not set"))
}

impl Target {
    /// True when the agent looks installed: its config dir exists or its program is on `PATH`.
    pub fn detected(&self, home: &Path) -> bool {
        let (dir, programs) = self.marks;
        home.join(dir).is_dir() || programs.iter().any(|p| on_path(p))
    }

    /// The holdfast command currently configured for this agent's pre-tool event, if any.
    pub fn installed_command(&self) -> Result<Option<String>> {
        let doc = read_doc(&self.file)?;
        let (event, _) = self.events[0];
        Ok(self.entries(&doc, event).into_iter().find_map(|e| e.get(self.cmd_key)?.as_str().map(str::to_owned)))
    }

    /// holdfast's entries under `event` in `doc`.
    fn entries<'a>(&self, doc: &'a Value, event: &str) -> Vec<&'a Value> {
        let Some(list) = doc.get("hooks").and_then(|h| h.get(event)).and_then(Value::as_array) else {
            return Vec::new();
        };
        let key = self.cmd_key;
        let ours = move |e: &&Value| e.get(key).and_then(Value::as_str).is_some_and(is_ours);
        match self.layout {
            Layout::Flat => list.iter().filter(ours).collect(),
            Layout::Grouped => list
                .iter()
                .filter_map(|g| g.get("hooks").and_then(Value::as_array))
                .flat_map(|hs| hs.iter().filter(ours))
                .collect(),
        }
    }

    fn entry(&self, command: &str, event: &str) -> Value {
        let pre = self.events[0].0 == event;
        match self.agent {
            "claude-code" => json!({"type": "command", "command": command, "timeout": 60}),
            "gemini" => json!({"name": "holdfast", "type": "command", "command": command, "timeout": 60_000}),
            "cursor" => json!({"command": command}),
            "copilot" if pre => json!({"type": "command", "bash": command, "timeoutSec": 60}),
            "copilot" => json!({"type": "command", "bash": command}),
            _ => json!({"type": "command", "command": command}),
        }
    }
}

/// True for a command line holdfast put there: `…holdfast… hook --agent NAME`.
pub fn is_ours(command: &str) -> bool {
    command.contains("holdfast") && command.contains(" hook --agent ")
}

/// The command line an agent runs: the holdfast executable, quoted when needed — for `sh` on
/// Unix; in double quotes on Windows, which both cmd and the Git Bash that agents use there read
/// (a Windows path cannot hold `"`). Give it a path without the `\\?\` prefix (`dunce`).
pub fn hook_command(exe: &Path, agent: &str) -> String {
    let shown = exe.display().to_string();
    let plain = shown.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:\\".contains(c));
    let exe = if plain {
        shown
    } else if cfg!(windows) {
        format!("\"{shown}\"")
    } else {
        format!("'{}'", shown.replace('\'', r"'\''"))
    };
    format!("{exe} hook --agent {agent}")
}

/// A planned edit of one file.
#[derive(Debug, Clone)]
pub struct Change {
    pub agent: &'static str,
    pub file: PathBuf,
    /// One line per entry: `+ added`, `~ updated`, `- removed`, `= already there`.
    pub summary: Vec<String>,
    /// The new document; `None` deletes the file (an own file left empty by undo).
    pub after: Option<Value>,
    /// Whether the file changes at all.
    pub changed: bool,
}

/// Plans adding holdfast's hook running `command` (idempotent: an existing entry is kept or updated).
pub fn plan_install(t: &Target, command: &str) -> Result<Change> {
    let mut doc = read_doc(&t.file)?;
    let mut summary = Vec::new();
    let mut changed = false;
    if t.layout == Layout::Flat && doc.get("version").is_none() {
        doc["version"] = json!(1);
        changed = true;
    }
    for &(event, matcher) in t.events {
        let list = event_list(&mut doc, event)?;
        let label = if matcher.is_empty() { event.to_string() } else { format!("{event} [{matcher}]") };
        let mut found = false;
        for entry in entries_mut(list, t.layout, t.cmd_key) {
            found = true;
            if entry.get(t.cmd_key).and_then(Value::as_str) != Some(command) {
                entry[t.cmd_key] = json!(command);
                summary.push(format!("~ {label}: {command}"));
                changed = true;
            } else {
                summary.push(format!("= {label}: {command}"));
            }
        }
        if !found {
            let entry = t.entry(command, event);
            list.push(match t.layout {
                Layout::Flat => entry,
                Layout::Grouped => json!({"matcher": matcher, "hooks": [entry]}),
            });
            summary.push(format!("+ {label}: {command}"));
            changed = true;
        }
    }
    Ok(Change { agent: t.agent, file: t.file.clone(), summary, after: Some(doc), changed })
}

/// Plans removing exactly holdfast's entries (and the groups and lists left empty by that).
pub fn plan_undo(t: &Target) -> Result<Change> {
    let mut doc = read_doc(&t.file)?;
    let mut summary = Vec::new();
    let key = t.cmd_key;
    let ours = |e: &Value| e.get(key).and_then(Value::as_str).is_some_and(is_ours);
    if let Some(hooks) = doc.get_mut("hooks").and_then(Value::as_object_mut) {
        for &(event, _) in t.events {
            let Some(list) = hooks.get_mut(event).and_then(Value::as_array_mut) else { continue };
            match t.layout {
                Layout::Flat => list.retain(|e| {
                    let mine = ours(e);
                    if mine {
                        summary.push(format!("- {event}: {}", e[key].as_str().unwrap_or_default()));
                    }
                    !mine
                }),
                Layout::Grouped => {
                    for g in list.iter_mut() {
                        if let Some(hs) = g.get_mut("hooks").and_then(Value::as_array_mut) {
                            let before = hs.len();
                            hs.retain(|e| !ours(e));
                            for _ in hs.len()..before {
                                summary.push(format!("- {event}: holdfast hook"));
                            }
                        }
                    }
                    list.retain(|g| g.get("hooks").and_then(Value::as_array).is_none_or(|hs| !hs.is_empty()));
                }
            }
            if list.is_empty() {
                hooks.remove(event);
            }
        }
        if hooks.is_empty() {
            doc.as_object_mut().map(|o| o.remove("hooks"));
        }
    }
    let changed = !summary.is_empty();
    let only_version = doc.as_object().is_some_and(|o| o.keys().all(|k| k == "version"));
    let after = if t.own_file && only_version { None } else { Some(doc) };
    Ok(Change { agent: t.agent, file: t.file.clone(), summary, after, changed })
}

/// Applies a change: a timestamped 0600 backup of the old file, then an atomic rewrite (or removal).
/// Returns the backup's path, if one was taken.
pub fn apply(change: &Change) -> Result<Option<PathBuf>> {
    if !change.changed {
        return Ok(None);
    }
    let backup = if change.file.exists() { Some(backup(&change.file)?) } else { None };
    match &change.after {
        None => {
            std::fs::remove_file(&change.file).with_context(|| format!("cannot remove {}", change.file.display()))?
        }
        Some(doc) => {
            if let Some(dir) = change.file.parent() {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let mut text = serde_json::to_string_pretty(doc)?;
            text.push('\n');
            crate::paths::write_atomic(&change.file, text.as_bytes())
                .with_context(|| format!("cannot write {}", change.file.display()))?;
        }
    }
    Ok(backup)
}

fn backup(file: &Path) -> Result<PathBuf> {
    use std::io::Write;
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    for n in 0..100 {
        let suffix = if n == 0 { String::new() } else { format!("-{n}") };
        let mut name = file.as_os_str().to_owned();
        name.push(format!(".holdfast-backup-{secs}{suffix}"));
        let path = PathBuf::from(name);
        // create_new: never overwrite an earlier backup; 0600 because settings may hold tokens.
        match crate::paths::private_open_options().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                f.write_all(&bytes)?;
                f.sync_all()?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot write backup {}", path.display())),
        }
    }
    bail!("cannot find a free backup name beside {}", file.display())
}

/// Reads a JSON config; a missing or empty file is `{}`; anything that is not a JSON object is an error.
fn read_doc(file: &Path) -> Result<Value> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(json!({})),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    if text.trim().is_empty() {
        return Ok(json!({}));
    }
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON; fix or move it, then run init again", file.display()))?;
    if !v.is_object() {
        bail!("{} is not a JSON object; refusing to edit it", file.display());
    }
    Ok(v)
}

fn event_list<'a>(doc: &'a mut Value, event: &str) -> Result<&'a mut Vec<Value>> {
    let root = doc.as_object_mut().expect("read_doc returns objects");
    let hooks = root.entry("hooks").or_insert_with(|| Value::Object(Map::new()));
    let Some(hooks) = hooks.as_object_mut() else { bail!("`hooks` is not an object; refusing to edit it") };
    let list = hooks.entry(event).or_insert_with(|| Value::Array(Vec::new()));
    list.as_array_mut().with_context(|| format!("`hooks.{event}` is not a list; refusing to edit it"))
}

fn entries_mut<'a>(list: &'a mut [Value], layout: Layout, key: &'a str) -> Vec<&'a mut Value> {
    let ours = move |e: &&mut Value| e.get(key).and_then(Value::as_str).is_some_and(is_ours);
    match layout {
        Layout::Flat => list.iter_mut().filter(ours).collect(),
        Layout::Grouped => list
            .iter_mut()
            .filter_map(|g| g.get_mut("hooks").and_then(Value::as_array_mut))
            .flat_map(|hs| hs.iter_mut().filter(ours))
            .collect(),
    }
}

fn on_path(program: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else { return false };
    std::env::split_paths(&path).any(|dir| {
        let p = dir.join(program);
        p.is_file() || (cfg!(windows) && dir.join(format!("{program}.exe")).is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_commands_quote_the_executable_for_the_platform_shell() {
        assert_eq!(hook_command(Path::new("/usr/bin/holdfast"), "codex"), "/usr/bin/holdfast hook --agent codex");
        let spaced = if cfg!(windows) { r"C:\Program Files\holdfast\holdfast.exe" } else { "/opt/my tools/holdfast" };
        let quoted = hook_command(Path::new(spaced), "cursor");
        if cfg!(windows) {
            assert_eq!(quoted, format!("\"{spaced}\" hook --agent cursor"));
        } else {
            assert_eq!(quoted, "'/opt/my tools/holdfast' hook --agent cursor");
            assert_eq!(hook_command(Path::new("/o'k/holdfast"), "x"), r"'/o'\''k/holdfast' hook --agent x");
        }
        assert!(is_ours(&quoted));
    }
}
