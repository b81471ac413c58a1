//! notify events → `RawChange`s.
//!
//! - Create, Remove → `create`, `remove`; data and metadata changes → `modify`
//!   (access-time-only changes and opens/closes are reads, not changes).
//! - Renames: backends report the old name (`From`) and the new name (`To`) as
//!   two events, adjacent in the queue (inotify tags both with a cookie;
//!   ReadDirectoryChangesW reports them back to back). A `From` followed by its
//!   `To` is one `rename{path, to}`; a `From` alone (moved out of the watched
//!   trees) is a `rename` without `to`; a `To` alone (moved in) is a `create`.
//!   notify's extra `Both` event on inotify repeats the pair and is skipped.
//!   FSEvents reports each side as a bare rename of its own path.
//! - A `Rescan` flag (inotify `IN_Q_OVERFLOW`, FSEvents dropped events) and every
//!   watch error become `overflow`, so a gap is visible, never silent.
//! - inotify is not recursive: notify adds a watch for each new directory, and
//!   anything created inside it before that watch exists is never reported. On
//!   Linux a new directory is therefore scanned (bounded) for what it already holds.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use notify::event::{MetadataKind, ModifyKind, RenameMode};
use notify::{Event, EventKind};

use super::coalesce::{Change, RawChange};
use super::ignore::IgnoreSet;

/// How long an unpaired rename source waits for its destination.
const RENAME_PAIR_WAIT: Duration = Duration::from_millis(100);
/// Most entries a new-directory scan reports.
const SCAN_LIMIT: usize = 10_000;

/// Turns notify events into raw changes, pairing rename halves.
#[derive(Debug)]
pub(crate) struct Translator {
    /// Reported as the path of an overflow that names none.
    fallback: PathBuf,
    pending_from: Option<(PathBuf, Option<usize>, Instant)>,
    scan_new_dirs: bool,
}

impl Translator {
    /// A translator whose path-less overflows name `fallback` (the first watched root).
    pub fn new(fallback: PathBuf) -> Self {
        Translator { fallback, pending_from: None, scan_new_dirs: cfg!(target_os = "linux") }
    }

    /// Translates one notify result into zero or more raw changes appended to `out`.
    pub fn translate(&mut self, ev: notify::Result<Event>, ignore: &IgnoreSet, now: Instant, out: &mut Vec<RawChange>) {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                self.flush_from(out);
                let path = e.paths.first().cloned().unwrap_or_else(|| self.fallback.clone());
                eprintln!("holdfast watch: watch error, events may be lost: {e}");
                out.push(raw(Change::Overflow, path));
                return;
            }
        };
        if ev.need_rescan() {
            self.flush_from(out);
            let path = ev.paths.first().cloned().unwrap_or_else(|| self.fallback.clone());
            eprintln!("holdfast watch: the OS dropped events (queue overflow) under {}", path.display());
            out.push(raw(Change::Overflow, path));
            return;
        }
        let tracker = ev.tracker();
        if let EventKind::Modify(ModifyKind::Name(mode)) = ev.kind {
            match mode {
                RenameMode::From => {
                    self.flush_from(out);
                    if let Some(p) = ev.paths.into_iter().next() {
                        self.pending_from = Some((p, tracker, now));
                    }
                }
                RenameMode::To => {
                    let Some(to) = ev.paths.into_iter().next() else { return };
                    match self.pending_from.take() {
                        Some((from, t, _)) if t == tracker => {
                            out.push(RawChange { change: Change::Rename, path: from, to: Some(to.clone()) })
                        }
                        other => {
                            self.pending_from = other;
                            self.flush_from(out);
                            out.push(raw(Change::Create, to.clone()));
                        }
                    }
                    self.scan_if_dir(&to, ignore, out);
                }
                // inotify repeats a pair already reported through From and To.
                RenameMode::Both => {}
                RenameMode::Any | RenameMode::Other => {
                    self.flush_from(out);
                    out.extend(ev.paths.into_iter().map(|p| raw(Change::Rename, p)));
                }
            }
            return;
        }
        self.flush_from(out);
        let change = match ev.kind {
            EventKind::Create(_) => Change::Create,
            EventKind::Remove(_) => Change::Remove,
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => return,
            EventKind::Modify(_) | EventKind::Any | EventKind::Other => Change::Modify,
            EventKind::Access(_) => return,
        };
        for p in ev.paths {
            if change == Change::Create {
                self.scan_if_dir(&p, ignore, out);
            }
            out.push(raw(change, p));
        }
    }

    /// Emits a rename source that waited too long for its destination.
    pub fn tick(&mut self, now: Instant, out: &mut Vec<RawChange>) {
        if matches!(&self.pending_from, Some((_, _, at)) if now.duration_since(*at) >= RENAME_PAIR_WAIT) {
            self.flush_from(out);
        }
    }

    /// Emits any waiting rename source as a rename out of the watched trees.
    pub fn flush_from(&mut self, out: &mut Vec<RawChange>) {
        if let Some((from, _, _)) = self.pending_from.take() {
            out.push(raw(Change::Rename, from));
        }
    }

    /// Reports what a new directory already holds (inotify misses it; see the module doc).
    fn scan_if_dir(&self, dir: &Path, ignore: &IgnoreSet, out: &mut Vec<RawChange>) {
        if !self.scan_new_dirs || !dir.symlink_metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return;
        }
        let mut stack = vec![dir.to_path_buf()];
        let mut seen = 0;
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else { continue };
            for entry in rd.flatten() {
                let p = entry.path();
                if ignore.is_ignored(&p) {
                    continue;
                }
                seen += 1;
                if seen > SCAN_LIMIT {
                    out.push(raw(Change::Overflow, dir.to_path_buf()));
                    return;
                }
                if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    stack.push(p.clone());
                }
                out.push(raw(Change::Create, p));
            }
        }
    }
}

fn raw(change: Change, path: PathBuf) -> RawChange {
    RawChange { change, path, to: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, RemoveKind};

    fn run(events: Vec<Event>) -> Vec<RawChange> {
        let mut t = Translator::new("/r".into());
        t.scan_new_dirs = false;
        let ignore = IgnoreSet::new(&[]);
        let mut out = Vec::new();
        let now = Instant::now();
        for e in events {
            t.translate(Ok(e), &ignore, now, &mut out);
        }
        t.tick(now + Duration::from_secs(1), &mut out);
        out
    }

    fn ev(kind: EventKind, path: &str) -> Event {
        Event::new(kind).add_path(path.into())
    }

    #[test]
    fn basic_kinds() {
        let out = run(vec![
            ev(EventKind::Create(CreateKind::File), "/r/a"),
            ev(EventKind::Modify(ModifyKind::Data(DataChange::Any)), "/r/a"),
            ev(EventKind::Access(notify::event::AccessKind::Read), "/r/a"),
            ev(EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)), "/r/a"),
            ev(EventKind::Remove(RemoveKind::File), "/r/a"),
        ]);
        let kinds: Vec<Change> = out.iter().map(|c| c.change).collect();
        assert_eq!(kinds, [Change::Create, Change::Modify, Change::Remove]);
    }

    #[test]
    fn inotify_rename_pair_is_one_rename() {
        let n = |m| EventKind::Modify(ModifyKind::Name(m));
        let out = run(vec![
            ev(n(RenameMode::From), "/r/a").set_tracker(7),
            ev(n(RenameMode::To), "/r/b").set_tracker(7),
            Event::new(n(RenameMode::Both)).add_path("/r/a".into()).add_path("/r/b".into()).set_tracker(7),
        ]);
        assert_eq!(out, [RawChange { change: Change::Rename, path: "/r/a".into(), to: Some("/r/b".into()) }]);
    }

    #[test]
    fn unpaired_halves() {
        let n = |m| EventKind::Modify(ModifyKind::Name(m));
        let out = run(vec![
            ev(n(RenameMode::From), "/r/out").set_tracker(1),
            ev(EventKind::Create(CreateKind::File), "/r/c"),
            ev(n(RenameMode::To), "/r/in").set_tracker(2),
            ev(n(RenameMode::From), "/r/last").set_tracker(3),
        ]);
        assert_eq!(out[0], RawChange { change: Change::Rename, path: "/r/out".into(), to: None });
        assert_eq!(out[1].change, Change::Create);
        assert_eq!(out[2], RawChange { change: Change::Create, path: "/r/in".into(), to: None });
        assert_eq!(out[3], RawChange { change: Change::Rename, path: "/r/last".into(), to: None });
    }

    /// README "What the OS backends cannot see": a new directory is scanned up to 10,000 entries,
    /// nested ones included; the 10,001st is not reported, an overflow naming the directory is.
    #[test]
    fn a_new_directory_scan_reports_10000_entries_then_an_overflow() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("nested");
        std::fs::create_dir(&nested).unwrap();
        // The directory `nested` is one entry: 9,000 + 1 + 999 = 10,000.
        for i in 0..9_000 {
            std::fs::write(dir.path().join(format!("f{i}")), b"").unwrap();
        }
        for i in 0..999 {
            std::fs::write(nested.join(format!("g{i}")), b"").unwrap();
        }
        let mut t = Translator::new("/r".into());
        t.scan_new_dirs = true;
        let ignore = IgnoreSet::new(&[]);
        let scan = |t: &Translator| {
            let mut out = Vec::new();
            t.scan_if_dir(dir.path(), &ignore, &mut out);
            out
        };
        let out = scan(&t);
        assert_eq!(out.len(), 10_000, "every entry of a 10,000-entry tree");
        assert!(out.iter().all(|c| c.change == Change::Create), "no overflow at exactly the limit");
        std::fs::write(nested.join("one-too-many"), b"").unwrap();
        let out = scan(&t);
        let creates = out.iter().filter(|c| c.change == Change::Create).count();
        assert_eq!(creates, 10_000, "the scan stops at the limit");
        assert_eq!(out.last(), Some(&raw(Change::Overflow, dir.path().to_path_buf())), "and says so");
        assert_eq!(out.len(), 10_001);
    }

    #[test]
    fn rescan_and_errors_are_overflows() {
        let mut t = Translator::new("/r".into());
        let ignore = IgnoreSet::new(&[]);
        let mut out = Vec::new();
        let now = Instant::now();
        t.translate(Ok(Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan)), &ignore, now, &mut out);
        t.translate(Err(notify::Error::generic("boom")), &ignore, now, &mut out);
        assert_eq!(out, [raw(Change::Overflow, "/r".into()), raw(Change::Overflow, "/r".into())]);
    }
}
