//! Bypass flagging: which filesystem changes no recorded command explains.
//!
//! Pure (no I/O, no clock: the caller passes `now`), bounded (a ring of the most
//! recent commands). The daemon feeds it every proposed or recorded command
//! (`BypassDetector::note_command`) and asks it about every observation
//! (`BypassDetector::check`). A `remove` or `rename` is flagged unless a
//! command noted within the window (default 30 s) has a word naming that path
//! or one of its parents. For a directory summary (`summary: true`), a command
//! naming something *inside* that directory explains it too.
//!
//! How words name paths: the command line is split into words as a shell would
//! (quotes, backslashes, operators `; & | ( ) < >`); option words (`-rf`) name
//! nothing, `--opt=PATH` names PATH; relative words are resolved against the
//! command's cwd and against every `cd DIR` target earlier in the same line;
//! `.`/`..` are folded lexically. A glob or expansion (`* ? [ { $` or a backtick)
//! names the directory before it: `rm -rf build/*` names `build`, `rm *.o` names
//! the cwd. `~/x` is resolved only when a home directory was given.
//!
//! What this cannot know: commands that delete without naming the path
//! (`git clean -fdx`, `make clean`, `cargo clean`) leave their removals flagged;
//! paths are compared lexically, so a symlinked cwd and the watcher's canonical
//! paths may disagree; a command that runs longer than the window stops
//! explaining its late changes. A flag is a report, never a block.

use std::collections::VecDeque;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use crate::wire::Observation;

/// How long a noted command explains changes.
pub(crate) const DEFAULT_WINDOW: Duration = Duration::from_secs(30);
/// How many recent commands are kept.
pub(crate) const DEFAULT_CAPACITY: usize = 1024;
/// Most paths kept per command (a huge generated command line cannot grow memory).
const MAX_NAMED: usize = 256;
/// Longest command line examined, in bytes.
const MAX_RAW: usize = 64 * 1024;

/// A noted command. Its named paths are worked out at the first observation that needs them:
/// observations are rare and proposals are the hot path.
#[derive(Debug)]
struct Noted {
    at: Instant,
    cwd: String,
    raw: String,
    named: Option<Vec<PathBuf>>,
}

/// Recent commands, and the test that tells explained changes from bypasses.
#[derive(Debug)]
pub(crate) struct BypassDetector {
    window: Duration,
    capacity: usize,
    home: Option<PathBuf>,
    recent: VecDeque<Noted>,
}

impl Default for BypassDetector {
    fn default() -> Self {
        BypassDetector::new(DEFAULT_WINDOW, DEFAULT_CAPACITY)
    }
}

impl BypassDetector {
    /// A detector remembering at most `capacity` commands, each for `window`.
    pub fn new(window: Duration, capacity: usize) -> Self {
        BypassDetector { window, capacity: capacity.max(1), home: None, recent: VecDeque::new() }
    }

    /// Resolves `~/…` words against `home`.
    pub fn with_home(mut self, home: PathBuf) -> Self {
        self.home = Some(home);
        self
    }

    /// Notes a command that was proposed or recorded in `cwd` at `now`.
    pub fn note_command(&mut self, cwd: &str, raw: &str, now: Instant) {
        self.expire(now);
        while self.recent.len() >= self.capacity {
            self.recent.pop_front();
        }
        let cut = (0..=MAX_RAW.min(raw.len())).rev().find(|&i| raw.is_char_boundary(i)).unwrap_or(0);
        let raw = &raw[..cut];
        self.recent.push_back(Noted { at: now, cwd: cwd.to_owned(), raw: raw.to_owned(), named: None });
    }

    /// Returns why `obs` looks like a bypass, or `None` when it is not one
    /// (not a removal or rename, or explained by a recent command).
    pub fn check(&mut self, obs: &Observation, now: Instant) -> Option<String> {
        if obs.change != "remove" && obs.change != "rename" {
            return None;
        }
        let path = normalize(Path::new(&obs.path));
        let home = self.home.as_deref();
        let explained = self
            .recent
            .iter_mut()
            .filter(|n| now.saturating_duration_since(n.at) <= self.window)
            .flat_map(|n| &*n.named.get_or_insert_with(|| named_paths(Path::new(&n.cwd), &n.raw, home)))
            .any(|named| path.starts_with(named) || (obs.summary && named.starts_with(&path)));
        if explained {
            return None;
        }
        let what = if obs.summary {
            format!("{} {} change(s) under {}", obs.count.unwrap_or(1), obs.change, obs.path)
        } else {
            format!("{} of {}", obs.change, obs.path)
        };
        Some(format!("{what} matches no command proposed or recorded in the last {} s", self.window.as_secs()))
    }

    /// Commands currently remembered.
    #[cfg(all(test, unix))]
    fn len(&self) -> usize {
        self.recent.len()
    }

    fn expire(&mut self, now: Instant) {
        while self.recent.front().is_some_and(|n| now.saturating_duration_since(n.at) > self.window) {
            self.recent.pop_front();
        }
    }
}

/// The paths a command line's words name (see the module doc).
fn named_paths(cwd: &Path, raw: &str, home: Option<&Path>) -> Vec<PathBuf> {
    let mut bases = vec![normalize(cwd)];
    let mut named: Vec<PathBuf> = Vec::new();
    let mut after_cd = false;
    for word in words(raw) {
        let was_cd = std::mem::replace(&mut after_cd, word == "cd");
        let Some(literal) = literal_part(&word, home) else { continue };
        let resolved: Vec<PathBuf> = if literal.is_absolute() {
            vec![normalize(&literal)]
        } else {
            bases.iter().map(|b| normalize(&b.join(&literal))).collect()
        };
        if was_cd {
            bases.extend(resolved.iter().cloned());
        }
        // Observations carry absolute paths; a relative result (relative cwd) could only
        // match by accident, and an empty one would match everything.
        for p in resolved.into_iter().filter(|p| p.is_absolute()) {
            if named.len() >= MAX_NAMED {
                return named;
            }
            if !named.contains(&p) {
                named.push(p);
            }
        }
    }
    named
}

/// The path a word names literally: options name nothing, `--opt=X` names X, a glob
/// or expansion names the directory before it. `None` when the word names no path.
fn literal_part(word: &str, home: Option<&Path>) -> Option<PathBuf> {
    let word = match word.strip_prefix('-') {
        Some(opt) => opt.split_once('=').map(|(_, v)| v)?,
        None => word,
    };
    let word = match word.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            let home = home?.to_string_lossy().into_owned();
            return literal_part(&format!("{home}{rest}"), None);
        }
        Some(_) => return None, // `~user/…`: another user's home, unknown here.
        None => word,
    };
    let literal = match word.find(['*', '?', '[', '{', '$', '`']) {
        Some(i) => word[..i].rfind('/').map(|j| &word[..=j]).unwrap_or(""),
        None => word,
    };
    Some(PathBuf::from(if literal.is_empty() { "." } else { literal }))
}

/// Shell-like word splitting: quotes, backslashes, operators as separators.
fn words(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => cur.push(e),
                            Some(e) => {
                                cur.push('\\');
                                cur.push(e);
                            }
                            None => {}
                        },
                        _ => cur.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(e) = chars.next() {
                    cur.push(e);
                }
            }
            c if c.is_whitespace() || ";&|()<>".contains(c) => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// Folds `.` and `..` and drops trailing separators, without touching the filesystem.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn obs(change: &str, path: &str) -> Observation {
        Observation { change: change.into(), path: path.into(), count: Some(1), ..Default::default() }
    }

    fn detector(cmds: &[(&str, &str)]) -> (BypassDetector, Instant) {
        let mut d = BypassDetector::default();
        let t = Instant::now();
        for (cwd, raw) in cmds {
            d.note_command(cwd, raw, t);
        }
        (d, t)
    }

    #[test]
    fn delete_explained_by_rm_is_not_flagged_unexplained_is() {
        let (mut d, t) = detector(&[("/r", "rm -rf build")]);
        assert_eq!(d.check(&obs("remove", "/r/build"), t), None);
        assert_eq!(d.check(&obs("remove", "/r/build/deep/x.o"), t + Duration::from_secs(1)), None);
        let why = d.check(&obs("remove", "/r/src/main.rs"), t).expect("unexplained delete must be flagged");
        assert!(why.contains("remove of /r/src/main.rs"), "{why}");
        assert!(d.check(&obs("remove", "/r/buildx"), t).is_some(), "a sibling with a longer name is not named");
    }

    #[test]
    fn only_removals_and_renames_are_checked() {
        let (mut d, t) = detector(&[]);
        for change in ["create", "modify", "overflow"] {
            assert_eq!(d.check(&obs(change, "/r/x"), t), None);
        }
        assert!(d.check(&obs("rename", "/r/x"), t).is_some());
    }

    #[test]
    fn relative_quoted_and_slashed_words() {
        let (mut d, t) = detector(&[
            ("/r/sub", "rm ./a 'my file' \"x y/\" b/ ../other/c"),
            ("/r", "mv old new && rm -f --output=/out/f"),
        ]);
        for p in ["/r/sub/a", "/r/sub/my file", "/r/sub/x y", "/r/sub/b/z", "/r/other/c", "/r/old", "/out/f"] {
            assert_eq!(d.check(&obs("remove", p), t), None, "{p}");
        }
        assert!(d.check(&obs("remove", "/r/sub/my"), t).is_some());
        assert!(d.check(&obs("rename", "/r/sub2/a"), t).is_some());
    }

    #[test]
    fn globs_name_their_directory() {
        let (mut d, t) = detector(&[("/r", "rm -rf build/* dist/**/*.js"), ("/q", "rm *.o")]);
        assert_eq!(d.check(&obs("remove", "/r/build/a"), t), None);
        assert_eq!(d.check(&obs("remove", "/r/dist/x/y.js"), t), None);
        assert_eq!(d.check(&obs("remove", "/q/a.o"), t), None);
        assert!(d.check(&obs("remove", "/r/src"), t).is_some());
    }

    #[test]
    fn cd_targets_and_home() {
        let mut d = BypassDetector::default().with_home("/home/u".into());
        let t = Instant::now();
        d.note_command("/r", "cd sub && rm x; rm -rf ~/cache", t);
        assert_eq!(d.check(&obs("remove", "/r/sub/x"), t), None);
        assert_eq!(d.check(&obs("remove", "/home/u/cache/a"), t), None);
        let (mut d, t) = detector(&[("/r", "rm ~/cache ~bob/x")]);
        assert!(d.check(&obs("remove", "/home/u/cache"), t).is_some(), "no home given: not resolved");
    }

    #[test]
    fn summaries_are_explained_by_commands_inside_them() {
        let (mut d, t) = detector(&[("/r", "rm build/a build/b")]);
        let mut s = obs("remove", "/r/build");
        s.summary = true;
        s.count = Some(2);
        assert_eq!(d.check(&s, t), None);
        let mut other = obs("remove", "/r/src");
        other.summary = true;
        other.count = Some(300);
        let why = d.check(&other, t).unwrap();
        assert!(why.contains("300 remove change(s) under /r/src"), "{why}");
        // A plain removal of the directory is not explained by naming its children.
        assert!(d.check(&obs("remove", "/r/build"), t).is_some());
    }

    #[test]
    fn window_and_capacity_bound_memory_and_time() {
        let mut d = BypassDetector::new(Duration::from_secs(30), 3);
        let t = Instant::now();
        d.note_command("/r", "rm a", t);
        assert_eq!(d.check(&obs("remove", "/r/a"), t + Duration::from_secs(30)), None);
        assert!(d.check(&obs("remove", "/r/a"), t + Duration::from_secs(31)).is_some());
        for i in 0..5 {
            d.note_command("/r", &format!("rm f{i}"), t + Duration::from_secs(1));
        }
        assert_eq!(d.len(), 3);
        let t1 = t + Duration::from_secs(1);
        assert!(d.check(&obs("remove", "/r/f0"), t1).is_some(), "evicted from the ring");
        assert_eq!(d.check(&obs("remove", "/r/f4"), t1), None);
        d.note_command("/r", "true", t + Duration::from_secs(100));
        assert_eq!(d.len(), 1, "expired entries are dropped");
    }

    #[test]
    fn hostile_input_is_bounded_and_never_panics() {
        let long = format!("rm {}", "a/ ".repeat(200_000));
        let (mut d, t) =
            detector(&[("/r", &long), ("/r", "rm '\"unterminated \\"), ("/r", "é\\"), ("relative", "rm ../../..")]);
        assert!(d.recent.iter().all(|n| n.raw.len() <= MAX_RAW));
        assert!(d.check(&obs("remove", "/zz"), t).is_some());
        assert!(d.recent.iter().all(|n| n.named.as_ref().is_some_and(|named| named.len() <= MAX_NAMED)));
        assert_eq!(words(r#"a\ b "c\"d" 'e\' f;g|h"#), ["a b", "c\"d", "e\\", "f", "g", "h"]);
        assert_eq!(normalize(Path::new("/a/./b/../c/")), PathBuf::from("/a/c"));
        assert_eq!(normalize(Path::new("/../a")), PathBuf::from("/a"));
        assert_eq!(normalize(Path::new("x/../../..")), PathBuf::from("../.."));
    }
}
