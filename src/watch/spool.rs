//! The bounded spool: observations kept on disk while the daemon cannot take them.
//!
//! `data_dir/watch.spool`, JSON lines of [`Observation`], 0600. Appends go to the
//! end; delivered entries are removed by rewriting the remainder atomically
//! (once per batch, not per entry). A watcher that dies between delivering and
//! rewriting re-sends those entries on its next start: delivery is at least once.
//! Bounded by entries and bytes: beyond the cap, observations are counted as
//! dropped, and the count survives a restart as one `overflow` entry (the only
//! line allowed past the cap).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use crate::wire::Observation;

/// Default cap on entries.
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;
/// Default cap on bytes.
pub(crate) const DEFAULT_MAX_BYTES: usize = 4 * 1024 * 1024;

/// A bounded on-disk FIFO of observations.
#[derive(Debug)]
pub(crate) struct Spool {
    path: PathBuf,
    entries: VecDeque<(Observation, usize)>,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
    /// Entries delivered since the file was last rewritten.
    consumed: usize,
    file: Option<File>,
    dropped: u64,
}

impl Spool {
    /// Opens (and loads) the spool at `path`. Unreadable lines are skipped and reported.
    pub fn open(path: &Path, max_entries: usize, max_bytes: usize) -> io::Result<Spool> {
        let mut spool = Spool {
            path: path.to_path_buf(),
            entries: VecDeque::new(),
            bytes: 0,
            max_entries,
            max_bytes,
            consumed: 0,
            file: None,
            dropped: 0,
        };
        match File::open(path) {
            Ok(f) => {
                let mut bad = 0u64;
                for line in io::BufReader::new(f).lines() {
                    let line = line?;
                    match serde_json::from_str::<Observation>(&line) {
                        Ok(o) => {
                            spool.entries.push_back((o, line.len() + 1));
                            spool.bytes += line.len() + 1;
                        }
                        Err(_) => bad += 1,
                    }
                }
                if bad > 0 {
                    eprintln!("holdfast watch: skipped {bad} unreadable line(s) in {}", path.display());
                    spool.consumed = 1; // forces a rewrite without them
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(spool)
    }

    /// Appends `obs`; returns false (and counts a drop) when the spool is full.
    pub fn push(&mut self, obs: &Observation) -> io::Result<bool> {
        let mut line = serde_json::to_vec(obs).map_err(io::Error::other)?;
        line.push(b'\n');
        if self.entries.len() >= self.max_entries || self.bytes + line.len() > self.max_bytes {
            if self.dropped == 0 {
                eprintln!(
                    "holdfast watch: spool {} is full ({} entries); further changes are counted, not kept",
                    self.path.display(),
                    self.entries.len()
                );
            }
            self.dropped += obs.count.unwrap_or(1);
            return Ok(false);
        }
        self.append(&line)?;
        self.bytes += line.len();
        self.entries.push_back((obs.clone(), line.len()));
        Ok(true)
    }

    fn append(&mut self, line: &[u8]) -> io::Result<()> {
        if self.file.is_none() {
            if let Some(dir) = self.path.parent() {
                crate::paths::ensure_private_dir(dir)?;
            }
            self.file = Some(crate::paths::private_open_options().create(true).append(true).open(&self.path)?);
        }
        self.file.as_mut().expect("opened above").write_all(line)
    }

    /// The oldest entry.
    pub fn front(&self) -> Option<&Observation> {
        self.entries.front().map(|(o, _)| o)
    }

    /// Forgets the oldest entry (delivered). Call [`commit`](Self::commit) after a batch.
    pub fn pop_front(&mut self) {
        if let Some((_, n)) = self.entries.pop_front() {
            self.bytes -= n;
            self.consumed += 1;
        }
    }

    /// Makes the removals durable: rewrites the file with what is left, or removes it.
    pub fn commit(&mut self) -> io::Result<()> {
        if self.consumed == 0 {
            return Ok(());
        }
        self.file = None;
        if self.entries.is_empty() {
            match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        } else {
            let mut buf = Vec::with_capacity(self.bytes);
            for (o, _) in &self.entries {
                buf.extend(serde_json::to_vec(o).map_err(io::Error::other)?);
                buf.push(b'\n');
            }
            crate::paths::write_atomic(&self.path, &buf)?;
        }
        self.consumed = 0;
        Ok(())
    }

    /// Entries waiting.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Raw changes counted but not kept because the spool was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Counts changes lost without going through [`push`](Self::push) (a failed spool write).
    pub fn count_lost(&mut self, n: u64) {
        self.dropped += n;
    }

    /// Takes the dropped count (once it has been reported to the daemon).
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }

    /// The file this spool lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `overflow` observation that reports the dropped count.
    pub fn dropped_observation(&self) -> Observation {
        Observation {
            change: "overflow".into(),
            path: self.path.to_string_lossy().into_owned(),
            count: Some(self.dropped),
            ..Default::default()
        }
    }

    /// At shutdown: keeps the dropped count across restarts as one entry past the cap.
    pub fn persist_dropped(&mut self) -> io::Result<()> {
        if self.dropped == 0 {
            return Ok(());
        }
        let obs = self.dropped_observation();
        let mut line = serde_json::to_vec(&obs).map_err(io::Error::other)?;
        line.push(b'\n');
        self.append(&line)?;
        self.bytes += line.len();
        self.entries.push_back((obs, line.len()));
        self.dropped = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(i: usize) -> Observation {
        Observation { change: "create".into(), path: format!("/r/f{i}"), count: Some(1), ..Default::default() }
    }

    #[test]
    fn bounded_fifo_survives_reopen_and_counts_drops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("watch.spool");
        let mut s = Spool::open(&path, 5, 1 << 20).unwrap();
        for i in 0..8 {
            s.push(&obs(i)).unwrap();
        }
        assert_eq!((s.len(), s.dropped()), (5, 3));
        s.pop_front();
        s.pop_front();
        s.commit().unwrap();
        s.persist_dropped().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        drop(s);
        let mut s = Spool::open(&path, 5, 1 << 20).unwrap();
        assert_eq!(s.len(), 4);
        assert_eq!(s.front().unwrap().path, "/r/f2");
        while s.len() > 1 {
            s.pop_front();
        }
        assert_eq!((s.front().unwrap().change.as_str(), s.front().unwrap().count), ("overflow", Some(3)));
        s.pop_front();
        s.commit().unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn byte_cap_and_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("watch.spool");
        std::fs::write(&path, "garbage\n{\"change\":\"remove\",\"path\":\"/x\"}\n").unwrap();
        let mut s = Spool::open(&path, 100, 200).unwrap();
        assert_eq!(s.len(), 1);
        let mut kept = 0;
        for i in 0..20 {
            kept += usize::from(s.push(&obs(i)).unwrap());
        }
        assert!(kept < 20 && s.dropped() > 0);
        s.commit().unwrap();
        assert!(!std::fs::read_to_string(&path).unwrap().contains("garbage"));
    }
}
