//! Burst coalescing: raw changes in, fewer observations out, no count lost.
//!
//! Changes are gathered in a tumbling window (default 200 ms from the first
//! change). Within a window:
//! - each path yields one observation, keeping its most significant change
//!   (overflow > remove > rename > create > modify) and counting every raw change;
//! - a directory whose direct children saw more than `dir_threshold` changes is
//!   folded into one summary per change kind (`summary: true`, `path` = the
//!   directory, `count` = the sum), so a 10,000-file `rm -rf` is a handful of frames.
//!
//! [`compact`] folds a backlog further (one directory level at a time) when the
//! rate limit cannot keep up.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::wire::Observation;

/// A change kind, ordered by significance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    Modify,
    Create,
    Rename,
    Remove,
    /// Events were lost (queue overflow, watch error, full spool).
    Overflow,
}

impl Change {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Modify => "modify",
            Change::Create => "create",
            Change::Rename => "rename",
            Change::Remove => "remove",
            Change::Overflow => "overflow",
        }
    }
}

/// One change as a backend reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawChange {
    pub change: Change,
    pub path: PathBuf,
    /// New name, for a rename whose destination is known.
    pub to: Option<PathBuf>,
}

#[derive(Debug)]
struct Entry {
    change: Change,
    to: Option<PathBuf>,
    count: u64,
}

/// Gathers raw changes for one window at a time.
#[derive(Debug)]
pub(crate) struct Coalescer {
    window: Duration,
    dir_threshold: u64,
    max_entries: usize,
    opened: Option<Instant>,
    order: Vec<(bool, PathBuf)>,
    entries: HashMap<(bool, PathBuf), Entry>,
    per_dir: HashMap<PathBuf, u64>,
}

impl Coalescer {
    /// A coalescer with the given window and directory threshold.
    pub fn new(window: Duration, dir_threshold: u64) -> Self {
        Coalescer {
            window,
            dir_threshold,
            max_entries: 50_000,
            opened: None,
            order: Vec::new(),
            entries: HashMap::new(),
            per_dir: HashMap::new(),
        }
    }

    /// Adds one raw change seen at `now`.
    pub fn push(&mut self, raw: RawChange, now: Instant) {
        self.opened.get_or_insert(now);
        let overflow = raw.change == Change::Overflow;
        if let Some(parent) = raw.path.parent().filter(|_| !overflow) {
            *self.per_dir.entry(parent.to_path_buf()).or_default() += 1;
        }
        let key = (overflow, raw.path);
        match self.entries.get_mut(&key) {
            Some(e) => {
                e.count += 1;
                if raw.change >= e.change {
                    e.change = raw.change;
                    if raw.to.is_some() {
                        e.to = raw.to;
                    }
                }
            }
            None => {
                self.order.push(key.clone());
                self.entries.insert(key, Entry { change: raw.change, to: raw.to, count: 1 });
            }
        }
    }

    /// True when the window is over (or the window holds too many paths): time to [`drain`](Self::drain).
    pub fn due(&self, now: Instant) -> bool {
        match self.opened {
            Some(t) => now.duration_since(t) >= self.window || self.entries.len() >= self.max_entries,
            None => false,
        }
    }

    /// Closes the window and returns its observations, in first-seen order.
    pub fn drain(&mut self) -> Vec<Observation> {
        self.opened = None;
        let busy: HashMap<PathBuf, u64> =
            std::mem::take(&mut self.per_dir).into_iter().filter(|(_, n)| *n > self.dir_threshold).collect();
        let mut out: Vec<Observation> = Vec::new();
        // (dir, change) → index in `out` of its summary.
        let mut summaries: HashMap<(PathBuf, Change), usize> = HashMap::new();
        for key in std::mem::take(&mut self.order) {
            let Some(e) = self.entries.remove(&key) else { continue };
            let (overflow, path) = key;
            let parent = path.parent().filter(|p| !overflow && busy.contains_key(*p));
            match parent {
                Some(dir) => {
                    let slot = *summaries.entry((dir.to_path_buf(), e.change)).or_insert_with(|| {
                        out.push(summary(e.change, dir, 0));
                        out.len() - 1
                    });
                    let c = out[slot].count.get_or_insert(0);
                    *c += e.count;
                }
                None => out.push(Observation {
                    change: e.change.as_str().into(),
                    path: path_string(&path),
                    to: e.to.as_deref().map(path_string),
                    count: Some(e.count),
                    ..Default::default()
                }),
            }
        }
        self.entries.clear();
        out
    }

    /// True when nothing waits in the current window.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn summary(change: Change, dir: &Path, count: u64) -> Observation {
    Observation {
        change: change.as_str().into(),
        path: path_string(dir),
        count: Some(count),
        summary: true,
        ..Default::default()
    }
}

/// A path as the wire carries it.
pub(crate) fn path_string(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Folds `batch` until it holds at most `limit` observations: same-kind observations
/// under one directory become one summary of that directory, one level up per pass.
/// Overflows merge into one. Counts are always preserved.
pub(crate) fn compact(mut batch: Vec<Observation>, limit: usize) -> Vec<Observation> {
    while batch.len() > limit {
        let before = batch.len();
        let mut out: Vec<Observation> = Vec::new();
        let mut index: HashMap<(String, String), usize> = HashMap::new();
        for o in batch {
            let key = if o.change == "overflow" {
                (o.change.clone(), String::new())
            } else {
                let parent = Path::new(&o.path).parent().map(path_string).unwrap_or_else(|| o.path.clone());
                (o.change.clone(), parent)
            };
            match index.get(&key) {
                Some(&i) => {
                    let merged = &mut out[i];
                    let extra = o.count.unwrap_or(1);
                    *merged.count.get_or_insert(1) += extra;
                    if merged.change != "overflow" {
                        merged.path = key.1.clone();
                        merged.to = None;
                        merged.summary = true;
                    }
                }
                None => {
                    index.insert(key, out.len());
                    out.push(o);
                }
            }
        }
        batch = out;
        if batch.len() >= before {
            break;
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(change: Change, path: &str) -> RawChange {
        RawChange { change, path: path.into(), to: None }
    }

    #[test]
    fn keeps_most_significant_change_and_counts() {
        let mut c = Coalescer::new(Duration::from_millis(200), 100);
        let t = Instant::now();
        c.push(raw(Change::Create, "/r/a"), t);
        c.push(raw(Change::Modify, "/r/a"), t);
        c.push(raw(Change::Remove, "/r/a"), t);
        c.push(raw(Change::Modify, "/r/a"), t);
        c.push(raw(Change::Modify, "/r/b"), t);
        assert!(!c.due(t));
        assert!(c.due(t + Duration::from_millis(200)));
        let out = c.drain();
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].change.as_str(), out[0].path.as_str(), out[0].count), ("remove", "/r/a", Some(4)));
        assert_eq!((out[1].change.as_str(), out[1].count), ("modify", Some(1)));
        assert!(c.is_empty() && !c.due(t + Duration::from_secs(9)));
    }

    #[test]
    fn rename_keeps_destination() {
        let mut c = Coalescer::new(Duration::from_millis(200), 100);
        let t = Instant::now();
        c.push(raw(Change::Modify, "/r/a"), t);
        c.push(RawChange { change: Change::Rename, path: "/r/a".into(), to: Some("/r/b".into()) }, t);
        let out = c.drain();
        assert_eq!(out[0].change, "rename");
        assert_eq!(out[0].to.as_deref(), Some("/r/b"));
    }

    #[test]
    fn busy_directory_becomes_a_summary() {
        let mut c = Coalescer::new(Duration::from_millis(200), 10);
        let t = Instant::now();
        c.push(raw(Change::Remove, "/r/keep"), t);
        for i in 0..500 {
            c.push(raw(Change::Remove, &format!("/r/build/f{i}")), t);
        }
        for i in 0..5 {
            c.push(raw(Change::Create, &format!("/r/build/n{i}")), t);
        }
        c.push(raw(Change::Remove, "/r/build"), t);
        c.push(raw(Change::Overflow, "/r"), t);
        let out = c.drain();
        let total: u64 = out.iter().map(|o| o.count.unwrap()).sum();
        assert_eq!(total, 508);
        assert_eq!(out.len(), 5, "{out:?}");
        let rm = out.iter().find(|o| o.summary && o.change == "remove").unwrap();
        assert_eq!((rm.path.as_str(), rm.count), ("/r/build", Some(500)));
        assert!(out.iter().any(|o| !o.summary && o.change == "remove" && o.path == "/r/build"));
        assert!(out.iter().any(|o| o.change == "overflow" && o.path == "/r"));
    }

    #[test]
    fn compact_folds_up_directory_levels_and_keeps_counts() {
        let mut batch = Vec::new();
        for d in 0..50 {
            for f in 0..4 {
                batch.push(Observation {
                    change: "create".into(),
                    path: format!("/r/a/d{d}/f{f}"),
                    count: Some(2),
                    ..Default::default()
                });
            }
        }
        batch.push(Observation { change: "overflow".into(), path: "/r".into(), count: Some(3), ..Default::default() });
        batch.push(Observation { change: "overflow".into(), path: "/r".into(), count: None, ..Default::default() });
        let out = compact(batch.clone(), 60);
        assert!(out.len() <= 60, "{}", out.len());
        assert_eq!(out.iter().map(|o| o.count.unwrap()).sum::<u64>(), 404);
        let out = compact(batch, 2);
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!((out[0].path.as_str(), out[0].summary, out[0].count), ("/r/a", true, Some(400)));
        assert_eq!(out[1].count, Some(4));
    }
}
