//! `holdfast init`: add holdfast's hook to each agent's own config, and take it out again.
//!
//! Every entry holdfast adds runs `[HOLDFAST_…=… ]<holdfast> hook --agent <name>`; that command is
//! the mark by which `--undo` and `doctor` recognise holdfast's entries, so nothing else is ever
//! touched. Edits preserve the file's format ([`edit`]), the file's mode and symlinks; the first
//! change of a file keeps one backup of it ([`backup`]), which `--undo` restores byte for byte.

pub mod backup;
pub mod edit;
pub mod exe;

pub mod managed;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{Value, json};

use edit::{Doc, array_at, input, object_at, string_at};
pub use exe::hook_command;

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
    /// The agent's config directory and programs, whose presence means the agent is installed.
    marks: (PathBuf, &'static [&'static str]),
    /// True when the file belongs to holdfast alone (removed on undo when empty).
    own_file: bool,
}

/// Every agent `init` knows, with its config file under `home` or the agent's own config-dir
/// variable (`CLAUDE_CONFIG_DIR`, `CODEX_HOME`, `GEMINI_CLI_HOME`, `COPILOT_HOME`).
pub fn targets(home: &Path) -> Vec<Target> {
    targets_with(home, &|k| std::env::var_os(k))
}

/// [`targets`] with the environment given by `var`.
pub(crate) fn targets_with(home: &Path, var: &dyn Fn(&str) -> Option<std::ffi::OsString>) -> Vec<Target> {
    let dir = |name: &str, default: PathBuf| var(name).filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or(default);
    let claude = dir("CLAUDE_CONFIG_DIR", home.join(".claude"));
    let codex = dir("CODEX_HOME", home.join(".codex"));
    // GEMINI_CLI_HOME stands in for the home directory, not for `.gemini`.
    let gemini = dir("GEMINI_CLI_HOME", home.to_path_buf()).join(".gemini");
    let copilot = dir("COPILOT_HOME", home.join(".copilot"));
    let cursor = home.join(".cursor");
    vec![
        Target {
            agent: "claude-code",
            file: claude.join("settings.json"),
            layout: Layout::Grouped,
            events: &[("PreToolUse", "Bash"), ("PostToolUse", "Bash")],
            cmd_key: "command",
            marks: (claude, &["claude"]),
            own_file: false,
        },
        Target {
            agent: "codex",
            file: codex.join("hooks.json"),
            layout: Layout::Grouped,
            events: &[("PreToolUse", "Bash")],
            cmd_key: "command",
            marks: (codex, &["codex"]),
            own_file: false,
        },
        Target {
            agent: "gemini",
            file: gemini.join("settings.json"),
            layout: Layout::Grouped,
            events: &[("BeforeTool", "run_shell_command"), ("AfterTool", "run_shell_command")],
            cmd_key: "command",
            marks: (gemini, &["gemini"]),
            own_file: false,
        },
        Target {
            agent: "cursor",
            file: cursor.join("hooks.json"),
            layout: Layout::Flat,
            events: &[("beforeShellExecution", ""), ("afterShellExecution", "")],
            cmd_key: "command",
            marks: (cursor, &["cursor", "cursor-agent"]),
            own_file: false,
        },
        Target {
            agent: "copilot",
            file: copilot.join("hooks/holdfast.json"),
            layout: Layout::Flat,
            events: &[("preToolUse", ""), ("postToolUse", "")],
            cmd_key: "bash",
            marks: (copilot, &["copilot"]),
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
    pub fn detected(&self, _home: &Path) -> bool {
        let (dir, programs) = &self.marks;
        dir.is_dir() || programs.iter().any(|p| on_path(p))
    }

    /// The holdfast command currently configured for this agent's pre-tool event, if any.
    pub fn installed_command(&self) -> Result<Option<String>> {
        let doc = Doc::parse(&read_text(&self.file)?, &self.file)?.value();
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

    /// The entry holdfast wants under `event`; `gemini_ask` adds the environment that lets the
    /// Gemini hook answer `ask` (see [`crate::hook::gemini::ASK_ENV`]).
    fn entry(&self, command: &str, event: &str, gemini_ask: bool) -> Value {
        let pre = self.events[0].0 == event;
        let blocking = fail_closed(command, self.agent, pre);
        let command = blocking.as_str();
        match self.agent {
            "cursor" if pre => json!({"command": command, "failClosed": true}),
            "claude-code" => json!({"type": "command", "command": command, "timeout": 60}),
            "gemini" if gemini_ask => json!({"name": "holdfast", "type": "command", "command": command,
                "timeout": 60_000, "env": {crate::hook::gemini::ASK_ENV: "1"}}),
            "gemini" => json!({"name": "holdfast", "type": "command", "command": command, "timeout": 60_000}),
            "cursor" => json!({"command": command}),
            "copilot" if pre => json!({"type": "command", "bash": command, "timeoutSec": 60}),
            "copilot" => json!({"type": "command", "bash": command}),
            _ => json!({"type": "command", "command": command}),
        }
    }

    /// holdfast's entries in one event's list, as CST nodes (for install).
    fn our_nodes(&self, list: &jsonc_parser::cst::CstArray) -> Vec<jsonc_parser::cst::CstNode> {
        let ours = |n: &jsonc_parser::cst::CstNode| string_at(n, self.cmd_key).is_some_and(|c| is_ours(&c));
        match self.layout {
            Layout::Flat => list.elements().into_iter().filter(ours).collect(),
            Layout::Grouped => list
                .elements()
                .into_iter()
                .filter_map(|g| g.as_object()?.get("hooks")?.array_value())
                .flat_map(|hs| hs.elements().into_iter().filter(ours))
                .collect(),
        }
    }
}

/// Agents that block a tool only on exit code 2: any other failure of the hook (a crash, a kill,
/// a missing binary) lets the command run.
const BLOCK_ON_EXIT_2: &[&str] = &["claude-code", "codex", "gemini"];

/// What `fail_closed` appends to a pre-tool command line.
pub const FAIL_CLOSED_SUFFIX: &str = " || exit 2";

/// `command` with `args` added to the hook's own arguments: before the fail-closed wrapper when the
/// line has one (after it they would be `exit`'s arguments, and the hook would never see them).
pub fn with_hook_args(command: &str, args: &str) -> String {
    match command.strip_suffix(FAIL_CLOSED_SUFFIX) {
        Some(hook) => format!("{hook} {args}{FAIL_CLOSED_SUFFIX}"),
        None => format!("{command} {args}"),
    }
}

/// The pre-tool command line with `|| exit 2` where the agent blocks only on exit 2, so a hook
/// that dies any other way still blocks (Unix shells; Windows agents may not run hooks in one).
/// Cursor gets `failClosed` in its entry instead; Copilot CLI blocks on any non-zero exit.
fn fail_closed(command: &str, agent: &str, pre: bool) -> String {
    if cfg!(unix) && pre && BLOCK_ON_EXIT_2.contains(&agent) {
        format!("{command}{FAIL_CLOSED_SUFFIX}")
    } else {
        command.to_string()
    }
}

/// True for a command line holdfast put there: `…holdfast… hook --agent NAME`.
pub fn is_ours(command: &str) -> bool {
    command.contains("holdfast") && command.contains(" hook --agent ")
}

/// What a change leaves in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// These bytes.
    Write(String),
    /// The original bytes from the backup (a complete undo).
    Restore(Vec<u8>),
    /// No file (holdfast created it, or it is holdfast's own and now empty).
    Remove,
}

/// A planned edit of one file.
#[derive(Debug, Clone)]
pub struct Change {
    /// The agent whose configuration this is.
    pub agent: &'static str,
    /// The file to edit.
    pub file: PathBuf,
    /// One line per entry: `+ added`, `~ updated`, `- removed`, `= already there`.
    pub summary: Vec<String>,
    /// What the file becomes.
    pub after: After,
    /// Whether the file changes at all.
    pub changed: bool,
    /// True for an undo (no backup is taken; a complete undo forgets the backup).
    pub undo: bool,
}

/// Plans adding holdfast's hook running `command` (idempotent: an existing entry is kept or updated).
pub fn plan_install(t: &Target, command: &str, gemini_ask: bool) -> Result<Change> {
    let before = read_text(&t.file)?;
    let doc = Doc::parse(&before, &t.file)?;
    let root = doc.object();
    let mut summary = Vec::new();
    if t.layout == Layout::Flat && root.get("version").is_none() {
        root.append("version", jsonc_parser::cst::CstInputValue::Number("1".into()));
    }
    let hooks = object_at(&root, "hooks")?;
    for &(event, matcher) in t.events {
        let list = array_at(&hooks, event).with_context(|| format!("in `hooks` of {}", t.file.display()))?;
        let label = if matcher.is_empty() { event.to_string() } else { format!("{event} [{matcher}]") };
        let wanted = t.entry(command, event, gemini_ask);
        let mine = t.our_nodes(&list);
        for node in &mine {
            let updated = node.as_object().is_some_and(|o| update_entry(&o, &wanted, t.cmd_key));
            summary.push(format!("{} {label}: {command}", if updated { "~" } else { "=" }));
        }
        if mine.is_empty() {
            list.append(input(&match t.layout {
                Layout::Flat => wanted,
                Layout::Grouped => json!({"matcher": matcher, "hooks": [wanted]}),
            }));
            summary.push(format!("+ {label}: {command}"));
        }
    }
    let after = doc.text();
    let changed = after != before || !t.file.exists();
    Ok(Change { agent: t.agent, file: t.file.clone(), summary, after: After::Write(after), changed, undo: false })
}

/// Brings an existing entry's command (and Gemini's `env`) to `wanted`; true when it changed.
fn update_entry(entry: &jsonc_parser::cst::CstObject, wanted: &Value, cmd_key: &str) -> bool {
    let mut changed = false;
    for key in [cmd_key, "env"] {
        let current = entry.get(key).and_then(|p| p.value()).and_then(|v| v.to_serde_value());
        match (wanted.get(key), entry.get(key)) {
            (Some(w), Some(prop)) if current.as_ref() != Some(w) => {
                prop.set_value(input(w));
                changed = true;
            }
            (Some(w), None) => {
                entry.append(key, input(w));
                changed = true;
            }
            // Only holdfast's own variable is taken away, never an env the user wrote.
            (None, Some(prop))
                if key == "env" && current.is_some_and(|c| c.get(crate::hook::gemini::ASK_ENV).is_some()) =>
            {
                prop.remove();
                changed = true;
            }
            _ => {}
        }
    }
    changed
}

/// Plans removing exactly holdfast's entries (and the groups and lists left empty by that); when
/// what is left is the original settings, the original bytes come back from the backup.
pub fn plan_undo(t: &Target) -> Result<Change> {
    let exists = t.file.exists();
    let before = read_text(&t.file)?;
    let doc = Doc::parse(&before, &t.file)?;
    let root = doc.object();
    let mut summary = Vec::new();
    if let Some(hooks) = root.get("hooks").and_then(|p| p.object_value()) {
        for &(event, _) in t.events {
            let Some(list) = hooks.get(event).and_then(|p| p.array_value()) else { continue };
            // Per group (Grouped) or for the whole list (Flat): the list our entries sit in.
            let containers = match t.layout {
                Layout::Flat => vec![(None, list.clone())],
                Layout::Grouped => list
                    .elements()
                    .into_iter()
                    .filter_map(|g| Some((Some(g.clone()), g.as_object()?.get("hooks")?.array_value()?)))
                    .collect(),
            };
            for (group, entries) in containers {
                let ours: Vec<_> = entries
                    .elements()
                    .into_iter()
                    .filter(|n| string_at(n, t.cmd_key).is_some_and(|c| is_ours(&c)))
                    .collect();
                for node in &ours {
                    summary.push(format!("- {event}: {}", string_at(node, t.cmd_key).unwrap_or_default()));
                }
                ours.into_iter().for_each(|n| n.remove());
                // A group left without hooks by this removal goes too (never one the user left empty).
                if let Some(g) = group.filter(|_| entries.elements().is_empty() && !summary.is_empty()) {
                    g.remove();
                }
            }
            if list.elements().is_empty()
                && !summary.is_empty()
                && let Some(p) = hooks.get(event)
            {
                p.remove();
            }
        }
        if hooks.properties().is_empty()
            && !summary.is_empty()
            && let Some(p) = root.get("hooks")
        {
            p.remove();
        }
    }
    let value = doc.value();
    let only_version = value.as_object().is_some_and(|o| o.keys().all(|k| k == "version"));
    // The backup comes back when the settings left are the original ones (up to the empty hook
    // containers the undo prunes), so nothing the user changed since init is lost.
    let original = backup::original(&t.file).filter(|orig| {
        let text = String::from_utf8_lossy(orig);
        Doc::parse(&text, &t.file).is_ok_and(|d| pruned(d.value()) == pruned(value.clone()))
    });
    let after = match original {
        Some(bytes) => After::Restore(bytes),
        None if backup::was_created(&t.file) && only_version => After::Remove,
        None if t.own_file && only_version => After::Remove,
        None => After::Write(doc.text()),
    };
    let changed = exists
        && match &after {
            After::Write(text) => *text != before,
            After::Restore(bytes) => *bytes != before.as_bytes(),
            After::Remove => true,
        };
    Ok(Change { agent: t.agent, file: t.file.clone(), summary, after, changed, undo: true })
}

/// `v` without empty hook containers: groups without hooks, empty event lists, an empty `hooks`.
fn pruned(mut v: Value) -> Value {
    let Some(root) = v.as_object_mut() else { return v };
    if let Some(hooks) = root.get_mut("hooks").and_then(Value::as_object_mut) {
        for list in hooks.values_mut().filter_map(Value::as_array_mut) {
            list.retain(|g| g.get("hooks").and_then(Value::as_array).is_none_or(|hs| !hs.is_empty()));
        }
        hooks.retain(|_, list| list.as_array().is_none_or(|l| !l.is_empty()));
        if hooks.is_empty() {
            root.remove("hooks");
        }
    }
    v
}

/// Applies a change: the file's one backup (first change only), then an atomic rewrite through a
/// symlink that keeps the file's mode (or a removal). Returns the backup's path when taken now.
pub fn apply(change: &Change) -> Result<Option<PathBuf>> {
    if !change.changed {
        return Ok(None);
    }
    if let Some(dir) = change.file.parent().filter(|_| !change.undo) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let taken = if change.undo { None } else { backup::take_once(&change.file)? };
    // Write through a symlink (dotfile managers link these files), never replace it.
    let target = std::fs::canonicalize(&change.file).unwrap_or_else(|_| change.file.clone());
    let mode = std::fs::metadata(&target).ok().map(|m| m.permissions());
    let bytes: &[u8] = match &change.after {
        After::Remove => {
            std::fs::remove_file(&change.file).with_context(|| format!("cannot remove {}", change.file.display()))?;
            backup::forget(&change.file);
            return Ok(taken);
        }
        After::Write(text) => text.as_bytes(),
        After::Restore(bytes) => bytes,
    };
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    crate::paths::write_atomic(&target, bytes).with_context(|| format!("cannot write {}", target.display()))?;
    if let Some(mode) = mode {
        std::fs::set_permissions(&target, mode)
            .with_context(|| format!("cannot set the mode of {}", target.display()))?;
    }
    if matches!(change.after, After::Restore(_)) {
        backup::forget(&change.file);
    }
    Ok(taken)
}

/// A config file's text; a missing file is empty.
fn read_text(file: &Path) -> Result<String> {
    match std::fs::read_to_string(file) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", file.display())),
    }
}

fn on_path(program: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else { return false };
    std::env::split_paths(&path).any(|dir| {
        let p = dir.join(program);
        p.is_file() || (cfg!(windows) && dir.join(format!("{program}.exe")).is_file())
    })
}
